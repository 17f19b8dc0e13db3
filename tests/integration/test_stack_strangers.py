"""Strangers against the running stack: MQTT over TLS and per-camera ACLs, the UI's login and HTTP
surface, and what the images carry.

Already proven in test_stack_mqtt.py (not repeated here): anonymous and wrong-password MQTT logins
are refused, the UI's MQTT user cannot publish, containers run as non-root, no MQTT password is in
any image, and only the UI port is published by the production compose file.

Needs the running stack (.ci/stack.sh) with the broker's 8883 published on loopback
(compose.test.yaml), and the UI on 127.0.0.1:${EDGEWATCH_UI_PORT:-8080} with EDGEWATCH_UI_PASSWORD
(else the ui container's generated one).
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import queue
import os
import re
import socket
import ssl
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
UI_PORT = int(os.environ.get("EDGEWATCH_UI_PORT", "8080"))
SERVICES = ("broker", "stream", "inference", "ui")
HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_CAS = Path("/usr/share/ca-certificates/mozilla")  # what Debian's bundle is made of

BAD_USER_OR_PASSWORD = 134
NOT_AUTHORIZED = 135


def _json_rows(text: str) -> list[dict]:
    text = text.strip()
    return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]


def _image_id(stack, service: str) -> str:
    rows = _json_rows(stack.compose("images", "--format", "json", service).stdout)
    assert rows, f"no image for {service}"
    return rows[0]["ID"]


def _docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {res.returncode}: {res.stderr.strip()}")
    return res


# --- MQTT over TLS ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_port(stack) -> int:
    return stack.port("broker", 8883)


@pytest.fixture(scope="module")
def broker_ca(stack, tmp_path_factory) -> Path:
    """The CA certificate the broker exported for clients, as a file on this host."""
    pem = stack.read_file("broker", "/secrets/mqtt-ca.crt")
    assert pem.startswith("-----BEGIN CERTIFICATE-----"), f"/secrets/mqtt-ca.crt is not a PEM certificate: {pem[:60]!r}"
    path = tmp_path_factory.mktemp("tls") / "mqtt-ca.crt"
    path.write_text(pem + "\n", encoding="ascii")
    return path


def _tls_client(port: int, ca: Path, username: str, password: str):
    """A paho MQTT v5 client over TLS (hostname 127.0.0.1 verified against `ca`); returns (client, connack, messages)."""
    import paho.mqtt.client as mqtt

    connack: queue.Queue = queue.Queue()
    messages: list = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"itest-tls-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    c.username_pw_set(username, password)
    c.tls_set(ca_certs=str(ca))  # CERT_REQUIRED and hostname checking are paho's defaults
    c.on_connect = lambda cl, u, flags, rc, props: connack.put(rc)
    c.on_message = lambda cl, u, m: messages.append(m)
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    try:
        return c, connack.get(timeout=10), messages
    except queue.Empty:
        c.loop_stop()
        raise AssertionError(f"no CONNACK over TLS from 127.0.0.1:{port} within 10 s") from None


def test_tls_listener_verifies_with_the_exported_ca(tls_port, broker_ca):
    ctx = ssl.create_default_context(cafile=str(broker_ca))
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        version, cert = tls.version(), tls.getpeercert()
    handshake_ms = (time.monotonic() - t0) * 1000
    print(f"TLS handshake {version} in {handshake_ms:.0f} ms, SAN {cert['subjectAltName']}")
    assert version in ("TLSv1.2", "TLSv1.3"), version
    assert ("IP Address", "127.0.0.1") in cert["subjectAltName"] and ("DNS", "broker") in cert["subjectAltName"]

    # Without the broker's CA the certificate is not trusted: a client cannot be fooled into it.
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_tls_listener_logs_in_and_refuses_a_wrong_password(stack, tls_port, broker_ca, passwords):
    c, rc, messages = _tls_client(tls_port, broker_ca, "ui", passwords["ui"])
    try:
        assert not rc.is_failure, f"ui login over TLS refused: {rc}"
        c.subscribe("edgewatch/cam1/status", qos=1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(m.topic == "edgewatch/cam1/status" for m in messages):
            time.sleep(0.1)
        status = next((m for m in messages if m.topic == "edgewatch/cam1/status"), None)
        assert status is not None and status.retain, "no retained cam1 status over TLS within 15 s"
        assert json.loads(status.payload)["camera"] == "cam1"
    finally:
        c.disconnect()
        c.loop_stop()

    c, rc, _ = _tls_client(tls_port, broker_ca, "ui", passwords["ui"][::-1] + "x")
    c.loop_stop()
    assert rc.is_failure and rc.value in (BAD_USER_OR_PASSWORD, NOT_AUTHORIZED), f"wrong password over TLS: {rc}"
    # The server key stays with the broker: readable by its user only, not exported.
    mode = stack.compose("exec", "-T", "broker", "stat", "-c", "%a %U", "/var/lib/mosquitto/tls/server.key").stdout.split()
    assert mode == ["600", "mosquitto"], f"server.key is {mode}"
    other = stack.compose("exec", "-T", "inference", "ls", "/secrets", check=False).stdout.split()
    assert "mqtt-ca.crt" in other and not any(n.endswith(".key") for n in other), other


def test_plain_mqtt_on_the_tls_port_is_refused(tls_port, passwords):
    # A well-formed MQTT 3.1.1 CONNECT with the right ui password, in clear text: no CONNACK.
    def field(b: bytes) -> bytes:
        return len(b).to_bytes(2, "big") + b

    body = field(b"MQTT") + bytes([4, 0xC2]) + (10).to_bytes(2, "big") \
        + field(b"itest-plain") + field(b"ui") + field(passwords["ui"].encode())
    packet = bytes([0x10, len(body)]) + body
    with socket.create_connection(("127.0.0.1", tls_port), timeout=10) as s:
        s.settimeout(10)
        s.sendall(packet)
        try:
            answer = s.recv(64)
        except (ConnectionResetError, socket.timeout) as err:
            answer = f"<{type(err).__name__}>".encode()
    assert not answer.startswith(b"\x20"), f"the TLS port answered a clear-text CONNECT with a CONNACK: {answer!r}"
    assert answer in (b"", b"<ConnectionResetError>"), f"unexpected answer to clear text on 8883: {answer!r}"


# --- per-camera ACL on its own broker (same image as the stack's) -------------------------------------

class _Broker:
    """The stack's broker image run on its own (own volumes, loopback port), restartable with other settings."""

    def __init__(self, image: str) -> None:
        self.image = image
        tag = uuid.uuid4().hex[:8]
        self.name = f"edgewatch-itest-acl-{tag}"
        self.volumes = (f"edgewatch-itest-acl-data-{tag}", f"edgewatch-itest-acl-secrets-{tag}")
        self.port = 0

    def start(self, cameras: str) -> None:
        _docker("run", "-d", "--name", self.name, "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true",
                "-p", "127.0.0.1::1883", "-v", f"{self.volumes[0]}:/var/lib/mosquitto", "-v", f"{self.volumes[1]}:/secrets",
                "-e", f"EDGEWATCH_MQTT_WORKER_CAMERAS={cameras}", self.image)
        out = _docker("port", self.name, "1883/tcp").stdout.split()[0]
        self.port = int(out.rpartition(":")[2])
        deadline = time.monotonic() + 30
        while _docker("exec", self.name, "healthcheck.sh", check=False).returncode != 0:
            assert time.monotonic() < deadline, f"broker {self.name} not healthy within 30 s: {self.logs()}"
            time.sleep(0.5)

    def stop(self) -> None:
        # SIGTERM: Mosquitto saves its retained messages on the way out.
        _docker("stop", "-t", "20", self.name, check=False)
        _docker("rm", "-f", self.name, check=False)

    def password(self, user: str) -> str:
        return _docker("exec", self.name, "cat", f"/secrets/mqtt-{user}-password").stdout.strip()

    def logs(self) -> str:
        res = _docker("logs", self.name, check=False)
        return (res.stdout + res.stderr)[-2000:]

    def remove(self) -> None:
        _docker("rm", "-f", self.name, check=False)
        _docker("volume", "rm", "-f", *self.volumes, check=False)


@pytest.fixture
def own_broker(stack) -> Iterator[_Broker]:
    b = _Broker(_image_id(stack, "broker"))
    yield b
    b.remove()


def test_worker_reads_and_writes_only_its_configured_cameras(own_broker, mqtt_client):
    # Phase 1, every camera allowed: the worker leaves retained states on cam1 and cam2.
    own_broker.start("+")
    pw = {u: own_broker.password(u) for u in ("worker", "ui")}
    ca = _docker("exec", own_broker.name, "cat", "/secrets/mqtt-ca.crt").stdout
    w = mqtt_client("worker", pw["worker"], port=own_broker.port)
    assert not w.connect().is_failure
    for cam in ("cam1", "cam2"):
        w.client.publish(f"edgewatch/{cam}/state", f"retained-{cam}", qos=1, retain=True).wait_for_publish(5)
    assert w.publish("edgewatch/cam2/events", "x").value != NOT_AUTHORIZED
    w.close()
    own_broker.stop()

    # Phase 2, the broker told its camera is cam1 (what compose.yaml passes by default).
    own_broker.start("cam1")
    assert "may use camera(s): cam1" in own_broker.logs()
    # The TLS certificate generated on first start is kept: clients' copy of the CA stays valid.
    assert _docker("exec", own_broker.name, "cat", "/secrets/mqtt-ca.crt").stdout == ca
    w = mqtt_client("worker", pw["worker"], port=own_broker.port)
    assert not w.connect().is_failure
    assert w.publish("edgewatch/cam2/events", "x").value == NOT_AUTHORIZED, "the worker may still write cam2"
    assert w.publish("other/cam1", "x").value == NOT_AUTHORIZED
    w.subscribe("edgewatch/#")
    w.subscribe("edgewatch/cam2/#")
    assert not w.publish("edgewatch/cam1/events", "live-cam1").is_failure
    w.wait_for(lambda m: m.payload == b"live-cam1", 5, "the worker's own cam1 message")
    w.wait_for(lambda m: m.payload == b"retained-cam1", 5, "cam1's retained state for the worker")

    # cam2's retained state is there (the ui user reads it) but never reaches the worker.
    ui = mqtt_client("ui", pw["ui"], port=own_broker.port)
    assert not ui.connect().is_failure
    ui.subscribe("edgewatch/cam2/state")
    ui.wait_for(lambda m: m.payload == b"retained-cam2", 5, "cam2's retained state for the ui user")
    time.sleep(1.0)
    leaked = [m.topic for m in w.received if m.topic.startswith("edgewatch/cam2/")]
    assert not leaked, f"the cam1 worker read other cameras' topics: {leaked}"


def test_broker_refuses_a_bad_camera_list_with_one_line(stack):
    res = _docker("run", "--rm", "-e", "EDGEWATCH_MQTT_WORKER_CAMERAS=cam1,../cam2", _image_id(stack, "broker"),
                  timeout=60, check=False)
    lines = [line for line in res.stderr.splitlines() if "EDGEWATCH_MQTT_WORKER_CAMERAS" in line]
    assert res.returncode != 0, "the broker started with a camera id that is not one"
    assert lines == ["broker: EDGEWATCH_MQTT_WORKER_CAMERAS: '../cam2' is not a camera id (letters, digits, _ and - only; + = any)"], res.stderr


def test_compose_gives_the_broker_the_workers_config_file():
    """The broker reads the worker's cameras from the same mounted file; the variable only overrides it."""
    def broker(**extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EDGEWATCH_", "COMPOSE_"))} | extra
        out = subprocess.run(["docker", "compose", "-f", str(REPO / "compose.yaml"), "--project-directory", str(REPO),
                              "--env-file", "/dev/null", "config", "--format", "json"], capture_output=True, text=True,
                             check=True, env=env).stdout
        return json.loads(out)["services"]["broker"]

    def config_mount(service: dict) -> list[str]:
        return [v["source"] for v in service["volumes"] if v.get("target") == "/config" and v.get("read_only")]

    assert broker()["environment"]["EDGEWATCH_MQTT_WORKER_CAMERAS"] in ("", None)
    assert config_mount(broker()) == [str(REPO / "config")]
    assert broker(EDGEWATCH_MQTT_WORKER_CAMERAS="lobby,door")["environment"]["EDGEWATCH_MQTT_WORKER_CAMERAS"] == "lobby,door"


# --- the UI's HTTP surface, on the real container ------------------------------------------------

def _http(method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None,
          timeout: float = 30) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    """One raw request (the path is sent exactly as given); returns (status, headers, body, seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", UI_PORT, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read(1 << 20)
        return r.status, r.headers, data, time.monotonic() - t0
    finally:
        conn.close()


def _login(password: str, as_json: bool = False) -> tuple[int, http.client.HTTPMessage, float]:
    """POST /login as the page's form does (or as JSON); returns (status, headers, seconds)."""
    if as_json:
        body, ctype = json.dumps({"password": password}), "application/json"
    else:
        body, ctype = "password=" + quote(password), "application/x-www-form-urlencoded"
    status, headers, _, seconds = _http("POST", "/login", body, {"Content-Type": ctype})
    return status, headers, seconds


@pytest.fixture(scope="module")
def session_cookie(ui_password) -> str:
    status, headers, _ = _login(ui_password)
    assert status in (200, 303), f"login with the right password answered {status}"
    cookie = headers.get("Set-Cookie", "")
    return cookie.split(";", 1)[0]


def test_ui_wrong_password_refused_and_repeated_failures_slowed(ui_password):
    assert _login(ui_password)[0] == 303  # starts from a clean slate: a right login resets the counter
    times = []
    for i in range(4):
        as_json = i % 2 == 1  # the page's form, and the JSON API
        status, headers, seconds = _login(f"wrong-{i}-{uuid.uuid4().hex[:6]}", as_json)
        times.append(seconds)
        assert "ew_session=" not in headers.get("Set-Cookie", ""), "a wrong password got a session cookie"
        if as_json:
            assert status == 401, f"wrong password (JSON) answered {status}"
        else:
            assert status == 303 and headers.get("Location") == "/login?failed=1", \
                f"wrong password (form) answered {status} -> {headers.get('Location')}"
    print("wrong-password answer times (s): " + ", ".join(f"{t:.2f}" for t in times))
    # Each failure doubles the wait before the next answer (0.5 s, 1 s, 2 s, ... up to 8 s).
    assert times[1] >= 0.45 and times[2] >= 0.95 and times[3] >= 1.9, f"failures not slowed down: {times}"
    assert times[3] > times[2] > times[1], f"the delay does not grow: {times}"
    # The right password still gets in (after its wait) and resets the counter for the other tests.
    status, _, seconds = _login(ui_password)
    print(f"right password after 4 failures answered in {seconds:.2f} s")
    assert status in (200, 303)
    _, _, fresh = _login(ui_password)
    # Not reset, it would wait 4 s again; reset, it does not wait (2 s leaves room for a busy machine).
    assert fresh < 2.0, f"a login right after a successful one still waited {fresh:.2f} s"


def test_ui_session_cookie_is_httponly_and_samesite(ui_password):
    status, headers, _ = _login(ui_password)
    assert status in (200, 303)
    cookie = headers.get("Set-Cookie", "")
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert cookie.startswith("ew_session=") and len(cookie.split(";", 1)[0]) > len("ew_session=") + 20, cookie
    assert "httponly" in attrs, cookie
    assert attrs.get("samesite", "").lower() in ("samesite=strict", "samesite=lax"), cookie
    assert attrs.get("path") == "Path=/", cookie
    status, _, _, _ = _http("GET", "/api/state", headers={"Cookie": cookie.split(";", 1)[0]})
    assert status == 200
    status, _, _, _ = _http("GET", "/api/state", headers={"Cookie": "ew_session=" + "0" * 64})
    assert status == 401, "a forged session cookie was accepted"


@pytest.mark.parametrize("path", ["/", "/login", "/api/state", "/no-such-page", "/healthz"])
def test_ui_security_headers(session_cookie, path):
    status, h, _, _ = _http("GET", path, headers={"Cookie": session_cookie})
    assert status in (200, 404), f"{path} -> {status}"
    csp = h.get("Content-Security-Policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    assert directives.get("default-src") == "default-src 'self'", csp
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp, csp
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin")


TRAVERSALS = [
    "/../../etc/passwd", "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd",
    "/..%2f..%2fetc%2fpasswd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/.%2e/.%2e/etc/passwd", "/..%5c..%5cetc%5cpasswd",
    "/%252e%252e/%252e%252e/etc/passwd", "//etc/passwd", "/stream/../package.json", "/stream/../../etc/passwd",
    "/stream/..%2f..%2fpackage.json", "/stream/%2e%2e/%2e%2e/etc/passwd", "/stream/cam1/..%2f..%2f..%2fetc%2fpasswd",
    "/stream/cam1/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/public/../package.json", "/public/index.html",
    "/public/..%2fpackage.json", "/package.json", "/src/main.js", "/src/auth.js", "/node_modules/mqtt/package.json",
    "/app.js/../../package.json", "/app.js%2f..%2f..%2fpackage.json", "/.env", "/.git/config", "/etc/passwd",
    "/index.html%00.js", "/%00/etc/passwd", "/vendor/../../package.json",
]


def test_ui_serves_nothing_outside_its_own_files(stack, session_cookie):
    passwd = stack.compose("exec", "-T", "ui", "cat", "/etc/passwd").stdout
    secrets = [line for line in passwd.splitlines() if line.startswith("root:")]
    assert secrets, "could not read the ui container's /etc/passwd to compare"
    answers = {}
    for cookie in (session_cookie, None):  # signed in (no login redirect masks a leak) and anonymous
        for path in TRAVERSALS:
            status, _, body, _ = _http("GET", path, headers={"Cookie": cookie} if cookie else {})
            answers[(path, bool(cookie))] = status
            assert secrets[0].encode() not in body, f"{path} served /etc/passwd"
            assert b'"dependencies"' not in body and b"require(" not in body and b"[core]" not in body, \
                f"{path} served a file outside public/ ({status}): {body[:120]!r}"
            allowed = (400, 404) if cookie else (303, 400, 401, 404)
            assert status in allowed, f"{path} ({'signed in' if cookie else 'anonymous'}) answered {status}"
    # The same session does get the app's own files: the refusals above are not a broken session.
    assert _http("GET", "/app.js", headers={"Cookie": session_cookie})[0] == 200
    assert _http("GET", "/vendor/hls.min.js", headers={"Cookie": session_cookie})[0] == 200
    print(f"{len(TRAVERSALS)} traversal paths x 2: statuses {sorted(set(answers.values()))}")


# --- images: no secret or CA bundle in any layer ------------------------------------------------

def _pems(text: str) -> list[str]:
    return [p.strip() for p in re.findall(r"-----BEGIN CERTIFICATE-----\r?\n.*?-----END CERTIFICATE-----", text, re.S)]


def _build_only_cas() -> list[str]:
    """CA certificates in the host's bundle (the default build secret) that Debian's own bundle lacks, e.g. a proxy's."""
    if not HOST_BUNDLE.is_file() or not DEBIAN_CAS.is_dir():
        pytest.fail(f"{HOST_BUNDLE} or {DEBIAN_CAS} missing: install Debian's ca-certificates on the host")
    debian = {p for f in DEBIAN_CAS.rglob("*.crt") for p in _pems(f.read_text(encoding="ascii", errors="replace"))}
    return [p for p in _pems(HOST_BUNDLE.read_text(encoding="ascii", errors="replace")) if p not in debian]


def _needles(pem: str) -> list[bytes]:
    """Byte strings that betray the certificate however it is stored: a line of its PEM and a run of its DER."""
    lines = pem.splitlines()[1:-1]
    der = base64.b64decode("".join(lines))
    return [lines[len(lines) // 2].encode(), der[len(der) // 2: len(der) // 2 + 48]]


def _scan_stream(stream, needles: list[bytes]) -> set[int]:
    """Indexes of the needles found anywhere in a byte stream (read in chunks with overlap)."""
    found: set[int] = set()
    overlap = max(len(n) for n in needles)
    tail = b""
    while chunk := stream.read(1 << 22):
        buf = tail + chunk
        found.update(i for i, n in enumerate(needles) if n in buf)
        tail = buf[-overlap:]
    return found


def test_images_hold_no_build_ca_bundle_or_build_secret(stack):
    images = {svc: _image_id(stack, svc) for svc in SERVICES}
    extra = _build_only_cas()
    needles = [n for pem in extra for n in _needles(pem)]
    print(f"host bundle has {len(extra)} CA(s) Debian's lacks; scanning {len(images)} images for them")

    for svc, image in images.items():
        # No build secret left at its mount point, and the bundle the image trusts is not the host's.
        res = _docker("run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
                      "ls -A /run/secrets 2>/dev/null; echo ---; cat /etc/ssl/certs/ca-certificates.crt 2>/dev/null; true")
        listing, _, bundle = res.stdout.partition("---\n")
        assert listing.strip() == "", f"{svc} image has files in /run/secrets: {listing.split()}"
        leaked = [p for p in extra if p in set(_pems(bundle))]
        assert not leaked, f"{svc} image's /etc/ssl/certs/ca-certificates.crt holds {len(leaked)} CA(s) of the build host"
        # No layer was made by copying a CA bundle in.
        history = _docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout.splitlines()
        copies = [h for h in history if re.search(r"\b(COPY|ADD)\b", h) and re.search(r"(\.crt|\.pem|ca-?cert|ca-bundle|/run/secrets)", h, re.I)]
        assert not copies, f"{svc} image has a layer that copies a CA bundle or secret: {copies}"

    if not needles:
        print("the host's bundle is Debian's own: no build-only CA to look for in the layers")
        return
    # Every layer of every image, byte for byte: none holds the build host's extra CAs.
    started = time.monotonic()
    save = subprocess.Popen(["docker", "save", *sorted(set(images.values()))], stdout=subprocess.PIPE)
    hits: dict[str, set[int]] = {}
    scanned = 0
    try:
        with tarfile.open(fileobj=save.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                scanned += member.size
                # Docker 20.10 saves plain tar layers; newer image stores may save them gzipped.
                stream = gzip.GzipFile(fileobj=f) if f.peek(2)[:2] == b"\x1f\x8b" else f
                found = _scan_stream(stream, needles)
                if found:
                    hits[member.name] = found
    finally:
        save.stdout.close()
        save.wait(timeout=120)
    print(f"scanned {scanned / 1e9:.2f} GB of image layers in {time.monotonic() - started:.0f} s")
    assert save.returncode == 0, "docker save failed"
    assert scanned > 0
    assert not hits, f"the build host's CA certificate is inside image layers: {sorted(hits)}"

