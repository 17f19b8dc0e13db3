"""The broker's ACL follows the worker's config file: broker/docker-entrypoint.sh run outside Docker
(its paths moved into a temporary folder) in front of a real Mosquitto on 127.0.0.1, and a real
MQTT v5 client as the worker user, whose QoS 1 publishes are acknowledged or refused per topic."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from mosquitto_fixture import MOSQUITTO, free_port
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
BROKER = REPO / "broker"
PASSWORDS = {"worker": "worker-password-123", "ui": "ui-password-4567"}


def _broker_env(tmp: Path, config: Path, **extra: str) -> dict[str, str]:
    for d in ("secrets", "auth", "tls", "bin"):
        (tmp / d).mkdir(exist_ok=True)
    # The entrypoint runs `python3 worker_acl.py`: make that this interpreter, which has PyYAML.
    py = tmp / "bin" / "python3"
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env.update(
        PATH=f"{tmp / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        EDGEWATCH_SECRETS_DIR=str(tmp / "secrets"), EDGEWATCH_AUTH_DIR=str(tmp / "auth"),
        EDGEWATCH_TLS_DIR=str(tmp / "tls"), EDGEWATCH_ACL_TEMPLATE=str(BROKER / "acl"), EDGEWATCH_CONFIG=str(config),
        EDGEWATCH_MQTT_WORKER_PASSWORD=PASSWORDS["worker"], EDGEWATCH_MQTT_UI_PASSWORD=PASSWORDS["ui"],
    )
    env.update(extra)
    return env


def _save(config: Path, text: str) -> None:
    """As an editor saves: a new file renamed over the old one."""
    tmp = config.with_name(config.name + ".swp")
    tmp.write_text(text)
    os.replace(tmp, config)


class Broker:
    """docker-entrypoint.sh execs Mosquitto, so its process is Mosquitto; the ACL watcher is its child."""

    def __init__(self, tmp: Path, config: Path) -> None:
        self.port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous false", "persistence false",
            f"password_file {tmp / 'auth' / 'passwd'}", f"acl_file {tmp / 'auth' / 'acl'}",
            *(["user root"] if os.geteuid() == 0 else []), "log_dest stderr", "log_type all",
        ]) + "\n")
        self.log_path = tmp / "broker.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(["sh", str(BROKER / "docker-entrypoint.sh"), MOSQUITTO, "-c", str(conf)],
                                         env=_broker_env(tmp, config), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, f"broker exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"broker not listening:\n{self.log()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def children(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


class Worker:
    """A broker user (the worker's by default) over MQTT v5: a refused publish comes back as a PUBACK with
    a failure reason code."""

    def __init__(self, port: int, user: str = "worker") -> None:
        self._acks: dict[int, paho.ReasonCode] = {}
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-test-{user}", protocol=paho.MQTTv5)
        self.client.username_pw_set(user, PASSWORDS[user])
        self.client.on_connect = lambda c, u, f, rc, p: rc.is_failure or self._connected.set()
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._connected.wait(10), f"the {user} user could not log in"

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            self._acks[mid] = reason_code
            self._cond.notify_all()

    def may_publish(self, topic: str) -> bool:
        mid = self.client.publish(topic, b"{}", qos=1).mid
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self._acks, 5), f"no PUBACK for {topic}"
            return not self._acks[mid].is_failure

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


MULTI = """model: {name: person-detection-retail-0013}
mqtt: {host: broker}
cameras:
  entrance:
    source: {input: /media/a.mp4}
  till:
    source: {input: rtsp://10.0.0.5/stream}
"""


def test_acl_follows_the_config_file_while_the_broker_runs(tmp_path):
    config = tmp_path / "config" / "edgewatch.yaml"
    config.parent.mkdir()
    config.write_text(MULTI)
    broker = Broker(tmp_path, config)
    worker = None
    try:
        assert "the worker user may use camera(s): entrance till" in broker.log()
        worker = Worker(broker.port)
        assert worker.may_publish("edgewatch/entrance/state")
        assert worker.may_publish("edgewatch/till/state")
        assert not worker.may_publish("edgewatch/door/state"), "a camera not in the config is allowed"
        # The lines and zones saved in the UI: only the UI's user may write them, for any camera, and
        # nothing else (the worker only reads them).
        assert not worker.may_publish("edgewatch/entrance/config/geometry")
        ui = Worker(broker.port, "ui")
        try:
            assert ui.may_publish("edgewatch/entrance/config/geometry")
            assert ui.may_publish("edgewatch/door/config/geometry")
            assert not ui.may_publish("edgewatch/entrance/state")
            assert not ui.may_publish("edgewatch/entrance/config/other")
        finally:
            ui.close()

        # A camera added to the file: allowed within a few seconds, on the same connection, no restart.
        _save(config, MULTI + "  door:\n    source: {input: /media/b.mp4}\n")
        t0 = time.monotonic()
        while not worker.may_publish("edgewatch/door/state"):
            assert time.monotonic() - t0 < 10, f"door not allowed 10 s after it was added:\n{broker.log()}"
            time.sleep(0.2)
        assert worker.may_publish("edgewatch/entrance/state")
        assert "changed: the worker user may use camera(s): entrance till door" in broker.log()

        # A broken edit is refused with one line naming the bad id; the ACL stays as it was.
        _save(config, MULTI + "  'door 2':\n    source: {input: /media/b.mp4}\n")
        deadline = time.monotonic() + 10
        while "'door 2' is not a camera id" not in broker.log():
            assert time.monotonic() < deadline, f"no complaint about the bad id:\n{broker.log()}"
            time.sleep(0.2)
        assert worker.may_publish("edgewatch/door/state")
        assert broker.proc.poll() is None
        watchers = broker.children()
        assert len(watchers) == 1
    finally:
        if worker is not None:
            worker.close()
        broker.stop()
    # The watcher ends with Mosquitto.
    deadline = time.monotonic() + 5
    while Path(f"/proc/{watchers[0]}").exists() and "Z" not in Path(f"/proc/{watchers[0]}/stat").read_text().split()[2]:
        if time.monotonic() > deadline:
            os.kill(watchers[0], signal.SIGKILL)
            pytest.fail("the ACL watcher outlived Mosquitto")
        time.sleep(0.2)


def _acl(tmp: Path, config_text: str | None, **env: str) -> tuple[int, str, list[str]]:
    """worker_acl.py write: exit code, stderr, and the worker's topic lines of the ACL it wrote."""
    config = tmp / "edgewatch.yaml"
    if config_text is not None:
        config.write_text(config_text)
    res = subprocess.run([sys.executable, str(BROKER / "worker_acl.py"), "write"], env=_broker_env(tmp, config, **env),
                         capture_output=True, text=True, timeout=30)
    acl = tmp / "auth" / "acl"
    lines = acl.read_text().splitlines() if acl.exists() else []
    return res.returncode, res.stderr, [line for line in lines if line.startswith("topic readwrite")]


@pytest.mark.parametrize(("config", "env", "cameras"), [
    (MULTI, {}, ["entrance", "till"]),
    ("camera: lobby\nsource: {input: /media/a.mp4}\n", {}, ["lobby"]),
    ("source: {input: /media/a.mp4}\n", {}, ["cam1"]),
    (None, {}, ["cam1"]),
    (MULTI, {"EDGEWATCH_MQTT_WORKER_CAMERAS": "lobby, door"}, ["lobby", "door"]),
    (MULTI, {"EDGEWATCH_MQTT_WORKER_CAMERAS": "+"}, ["+"]),
])
def test_cameras_come_from_the_variable_or_the_config_file(tmp_path, config, env, cameras):
    rc, err, topics = _acl(tmp_path, config, **env)
    assert rc == 0, err
    assert topics == [f"topic readwrite edgewatch/{c}/+" for c in cameras]


@pytest.mark.parametrize(("config", "message"), [
    ("cameras:\n  entrance: {}\n  ../till: {}\n", "cameras: '../till' is not a camera id (1 to 64 letters, digits, _ or -"),
    ("cameras:\n  007: {}\n", "cameras: 7 is not a camera id: YAML reads it as int, quote it"),
    ("camera: 'a b'\n", "camera: 'a b' is not a camera id"),
    (f"cameras:\n  {'x' * 65}: {{}}\n", f"cameras: '{'x' * 65}' is not a camera id"),
    ("cameras: {}\n", "cameras: must map each camera id to its settings"),
    ("cameras: [entrance]\n", "cameras: must map each camera id to its settings"),
    ("cameras:\n  entrance: {\n", "is not valid YAML (line 3)"),
])
def test_a_bad_config_stops_the_broker_with_one_line(tmp_path, config, message):
    cfg = tmp_path / "edgewatch.yaml"
    cfg.write_text(config)
    res = subprocess.run(["sh", str(BROKER / "docker-entrypoint.sh"), "true"], env=_broker_env(tmp_path, cfg),
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"broker: {cfg}") and message in lines[0], res.stderr


def test_the_variables_bad_id_message_is_unchanged(tmp_path):
    rc, err, _ = _acl(tmp_path, MULTI, EDGEWATCH_MQTT_WORKER_CAMERAS="cam1,../cam2")
    assert rc == 1
    assert err.splitlines() == [
        "broker: EDGEWATCH_MQTT_WORKER_CAMERAS: '../cam2' is not a camera id (letters, digits, _ and - only; + = any)"]
