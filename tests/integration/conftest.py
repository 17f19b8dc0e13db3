"""Fixtures for tests against the running compose stack (see .ci/stack.sh).

The stack is brought up outside pytest (.ci/stack.sh does all of it):
    docker compose -p edgewatch-test -f compose.yaml -f compose.rtsp.yaml \
        -f tests/integration/compose.test.yaml up -d --wait
Tests reach it only through ports published on 127.0.0.1 (the broker's, added by
compose.test.yaml) and through `docker compose` itself (exec, stop, start).

Environment:
    EDGEWATCH_TEST_PROJECT   compose project name (default edgewatch-test, as in .ci/stack.sh)
    EDGEWATCH_STACK_REQUIRED 1 = fail, not skip, when the stack is not running (CI sets it)
    EDGEWATCH_TEST_COMPOSE_FILES  colon-separated compose files (default compose.yaml,
                             compose.rtsp.yaml, compose.test.yaml), as given to `up` with -f
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from browser import chromium

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "inference" / "edgewatch" / "schemas"
PROJECT = os.environ.get("EDGEWATCH_TEST_PROJECT", "edgewatch-test")
COMPOSE_FILES = tuple(Path(f) for f in os.environ["EDGEWATCH_TEST_COMPOSE_FILES"].split(":")) \
    if os.environ.get("EDGEWATCH_TEST_COMPOSE_FILES") \
    else (REPO / "compose.yaml", REPO / "compose.rtsp.yaml", Path(__file__).with_name("compose.test.yaml"))


@dataclass(frozen=True)
class Stack:
    """The running compose project, driven with the same files .ci/stack.sh brought it up with."""

    project: str
    files: tuple[Path, ...]

    def command(self, *args: str) -> list[str]:
        cmd = ["docker", "compose", "-p", self.project, "--project-directory", str(REPO)]
        for f in self.files:
            cmd += ["-f", str(f)]
        return cmd + list(args)

    def compose(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"docker compose {' '.join(args)} exited {res.returncode}: {res.stderr.strip()}")
        return res

    def port(self, service: str, container_port: int) -> int:
        """The 127.0.0.1 port that publishes `container_port` of `service`."""
        out = self.compose("port", service, str(container_port)).stdout.strip()
        host, _, port = out.rpartition(":")
        assert host == "127.0.0.1", f"{service}:{container_port} is published on {host!r}, expected loopback only"
        return int(port)

    def read_file(self, service: str, path: str) -> str:
        return self.compose("exec", "-T", service, "cat", path).stdout.strip()

    def running_services(self) -> set[str]:
        res = self.compose("ps", "--status", "running", "--format", "json", check=False)
        if res.returncode != 0:
            return set()
        # Compose prints one JSON object per line (older versions: one JSON array).
        text = res.stdout.strip()
        rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
        return {r["Service"] for r in rows}


def _stack_or_skip() -> Stack:
    stack = Stack(PROJECT, COMPOSE_FILES)
    required = os.environ.get("EDGEWATCH_STACK_REQUIRED") == "1"
    try:
        running = stack.running_services()
    except (OSError, subprocess.SubprocessError) as err:
        running, why = set(), f"docker compose unusable: {err}"
    else:
        why = f"compose project {PROJECT!r} has no running broker and inference (start it with .ci/stack.sh)"
    if not {"broker", "inference"} <= running:
        if required:
            pytest.fail(why)
        pytest.skip(why)
    return stack


def demo_media_listing(stack: Stack) -> str:
    return stack.compose("exec", "-T", "inference", "edgewatch", "media", "list", check=False).stdout


@pytest.fixture(scope="session")
def stack() -> Stack:
    stack = _stack_or_skip()
    # The stack starts with an empty media volume, as on a fresh Docker host: the worker fetches both demo
    # videos on first start (from the test mirror), which tests then run extra workers on.
    deadline = time.monotonic() + 90
    while (listing := demo_media_listing(stack)).count(" ok ") < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not fetch the demo videos into its empty media volume:\n{listing}")
        time.sleep(1)
    return stack


@pytest.fixture(scope="session")
def mqtt_port(stack: Stack) -> int:
    return stack.port("broker", 1883)


@pytest.fixture(scope="session")
def ws_port(stack: Stack) -> int:
    return stack.port("broker", 9001)


@pytest.fixture(scope="session")
def passwords(stack: Stack) -> dict[str, str]:
    """The MQTT passwords the broker uses, read from the secrets volume it wrote them to."""
    return {user: stack.read_file("broker", f"/secrets/mqtt-{user}-password") for user in ("worker", "ui")}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for every browser test of the run."""
    yield from chromium(pytest.fail if os.environ.get("EDGEWATCH_STACK_REQUIRED") == "1" else pytest.skip)


@pytest.fixture(scope="session")
def ui_password(stack: Stack) -> str:
    """The UI's password: EDGEWATCH_UI_PASSWORD, or the one the ui container generated."""
    if "ui" not in stack.running_services():
        pytest.fail("the ui service is not running")
    pw = os.environ.get("EDGEWATCH_UI_PASSWORD")
    if not pw:
        res = stack.compose("exec", "-T", "ui", "cat", "/data/ui-password", check=False)
        pw = res.stdout.strip() if res.returncode == 0 else ""
    if not pw:
        pytest.fail("EDGEWATCH_UI_PASSWORD is not set and the ui container has no generated /data/ui-password")
    return pw


@pytest.fixture(scope="session")
def schema() -> Callable[[str], Any]:
    """schema('state') -> a jsonschema validator for edgewatch/<camera>/state payloads."""
    jsonschema = pytest.importorskip("jsonschema")

    def load(name: str):
        doc = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(doc)
        cls.check_schema(doc)
        return cls(doc)

    return load


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class MqttClient:
    """A paho client on its own network thread that keeps every message it receives, for assertions."""

    port: int
    username: str | None = None
    password: str | None = None
    transport: str = "tcp"
    client: Any = None
    connack: "queue.Queue[Any]" = field(default_factory=queue.Queue)
    received: list[Received] = field(default_factory=list)
    pubacks: dict[int, Any] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def connect(self, timeout: float = 10) -> Any:
        """Connects and returns the broker's CONNACK reason code (paho ReasonCode)."""
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"itest-{uuid.uuid4().hex[:10]}",
                                  protocol=mqtt.MQTTv5, transport=self.transport)
        if self.username is not None:
            self.client.username_pw_set(self.username, self.password)
        self.client.on_connect = lambda c, u, flags, rc, props: self.connack.put(rc)

        def on_message(c, u, m):
            with self._cond:
                self.received.append(Received(m.topic, m.payload, m.retain, time.monotonic()))
                self._cond.notify_all()

        def on_publish(c, u, mid, rc, props):
            with self._cond:
                self.pubacks[mid] = rc
                self._cond.notify_all()

        self.client.on_message = on_message
        self.client.on_publish = on_publish
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        try:
            return self.connack.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no CONNACK from 127.0.0.1:{self.port} within {timeout} s") from None

    def subscribe(self, topic: str, qos: int = 1) -> None:
        result, _ = self.client.subscribe(topic, qos=qos)
        assert result == 0, f"subscribe {topic} failed: {result}"

    def publish(self, topic: str, payload: str, qos: int = 1, timeout: float = 5) -> Any:
        """Publishes and returns the PUBACK reason code (QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos)
        with self._cond:
            if not self._cond.wait_for(lambda: info.mid in self.pubacks, timeout):
                raise AssertionError(f"no PUBACK for {topic} within {timeout} s")
            return self.pubacks[info.mid]

    def wait_for(self, match: Callable[[Received], bool], timeout: float, what: str) -> Received:
        """The first message received so far, or within `timeout`, that `match`es."""

        def found() -> Received | None:
            return next((m for m in self.received if match(m)), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, max(timeout, 0)):
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            return found()

    def messages(self, topic: str, since: float = 0.0) -> list[Received]:
        """Messages on `topic` that arrived at or after `since` (time.monotonic())."""
        with self._cond:
            return [m for m in self.received if m.topic == topic and m.at >= since]

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


@pytest.fixture
def mqtt_client(mqtt_port: int) -> Iterator[Callable[..., MqttClient]]:
    """mqtt_client(username, password, transport='tcp', port=None) -> an unconnected MqttClient; closed after the test."""
    made: list[MqttClient] = []

    def make(username: str | None = None, password: str | None = None, transport: str = "tcp",
             port: int | None = None) -> MqttClient:
        c = MqttClient(port or mqtt_port, username, password, transport)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
