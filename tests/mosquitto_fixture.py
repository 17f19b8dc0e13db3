"""A real Mosquitto broker for tests, plus a paho subscriber that records what arrives.

Use from conftest.py with `pytest_plugins = ["mosquitto_fixture"]` (tests/ on sys.path).
Fixtures:
  mosquitto          a running broker on a free 127.0.0.1 port (persistence on), stopped after the test
  mosquitto_factory  make_broker(start=True, persistence=True, users=None, tls=None, port=None) -> Mosquitto
  mqtt_subscriber    subscribe(broker, topics="#", client_id=None, clean_session=True, **auth) -> MqttSubscriber
A Mosquitto has host, port, start(), stop() (clean, saves persistence), kill() (SIGKILL), restart(),
pause() / resume() (SIGSTOP / SIGCONT: a hung broker), running, log().
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = os.environ.get("EDGEWATCH_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # CA that signed `cert`; clients trust it
    cert: Path  # broker certificate for 127.0.0.1 / localhost
    key: Path


class Mosquitto:
    host = "127.0.0.1"

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        persistence: bool = True,
        users: dict[str, str] | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        if not Path(MOSQUITTO).is_file():
            pytest.fail(f"mosquitto not installed (looked for {MOSQUITTO}); apt-get install mosquitto")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persistence = persistence
        self.tls = tls
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path = self.workdir / "mosquitto.log"
        self.conf = self.workdir / "mosquitto.conf"
        lines = [f"listener {self.port} {self.host}", f"persistence {'true' if persistence else 'false'}"]
        if persistence:
            lines.append(f"persistence_location {self.workdir}/")
        if users:
            pw = self.workdir / "passwd"
            pw.write_text("")
            for name, secret in users.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(pw), name, secret], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}", "require_certificate false"]
        if os.geteuid() == 0:
            lines.append("user root")  # else mosquitto drops to user 'mosquitto' and cannot write our temp dir
        lines += ["log_dest stderr", "log_type error", "log_type warning", "log_type notice", "log_type information", "connection_messages true"]
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        log = open(self._log_path, "ab")
        self._proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self._proc.returncode}:\n{self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s:\n{self.log()[-2000:]}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: clients are dropped (their wills fire) and persistence is saved."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL: nothing saved, like a crash or a pulled plug."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing is read or acknowledged (a hung broker)."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._proc is not None
        self._proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self._log_path.read_text(errors="replace") if self._log_path.exists() else ""


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    at: float  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttSubscriber:
    """Records every message; re-subscribes after each reconnect (paho's loop reconnects by itself)."""

    def __init__(
        self,
        host: str,
        port: int,
        topics: str | list[str] = "#",
        *,
        client_id: str | None = None,
        clean_session: bool = True,
        qos: int = 1,
        username: str | None = None,
        password: str | None = None,
        ca: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.qos = qos
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or "", clean_session=clean_session, protocol=paho.MQTTv311
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async(host, port, keepalive=5)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.close()
            raise RuntimeError(f"subscriber could not subscribe to {self.topics} on {host}:{port}")

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if not reason.is_failure:
            client.subscribe([(t, self.qos) for t in self.topics])

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos, time.monotonic()))
            self._cond.notify_all()

    def on(self, topic_suffix: str) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic.endswith("/" + topic_suffix) or m.topic == topic_suffix]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mosquitto_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Mosquitto]]:
    brokers: list[Mosquitto] = []

    def make(*, start: bool = True, **kwargs: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"), **kwargs)
        brokers.append(broker)
        if start:
            broker.start()
        return broker

    yield make
    for b in brokers:
        b.kill()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory()


@pytest.fixture
def mqtt_subscriber() -> Iterator[Callable[..., MqttSubscriber]]:
    subs: list[MqttSubscriber] = []

    def subscribe(broker: Mosquitto, topics: str | list[str] = "#", **kwargs: Any) -> MqttSubscriber:
        sub = MqttSubscriber(broker.host, broker.port, topics, **kwargs)
        subs.append(sub)
        return sub

    yield subscribe
    for s in subs:
        s.close()


def make_tls_files(folder: Path) -> TlsFiles:
    """A throw-away CA and a broker certificate for 127.0.0.1 / localhost (needs `cryptography`)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edgewatch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    )
    files.key.chmod(0o644)  # mosquitto may read it as another user
    return files
