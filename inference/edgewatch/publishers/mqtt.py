"""Publishes one camera's status, live state, events, performance and segmentation to MQTT (docs/mqtt.md).

Delivery of events: each event is written to the on-disk outbox first, then handed to paho at QoS 1.
paho keeps every unacknowledged QoS 1 message in memory and re-sends all of them, in order, on every
reconnect (paho 2.2: Client._messages_reconnect_reset_out + _handle_connack), so within a run an event
is handed over once; its outbox row is deleted only when on_publish reports the broker's PUBACK for its
mid. At most MAX_HANDED_OVER events sit in paho's memory; the rest wait in the outbox (in order) and
follow as acknowledgements come back, which also keeps paho's 16-bit message ids from wrapping onto
an unacknowledged one. Rows left by an earlier run (broker away at its end, or the worker killed) are
queued first, when the publisher is built, so they precede this run's events. Nothing here blocks on
the network, and a broker that is away is never fatal: paho's own loop reconnects (connect_async +
loop_start).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from ..config import MqttConfig, TlsConfig
from ..errors import EdgewatchError
from ..ids import CAMERA_ID_RULE, is_camera_id
from ..types import Event, FrameFacts
from .outbox import Outbox, OutboxRow, default_path
from .payloads import (
    CONFIG_GEOMETRY,
    TOPIC_KINDS,
    encode,
    event_payload,
    perf_payload,
    segmentation_payload,
    state_payload,
    status_payload,
    topic,
)

log = logging.getLogger(__name__)

KEEPALIVE_S = 5  # short, so the broker sends the last will within ~1.5 x 5 s of the worker vanishing
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 8  # a restarted broker is found again within seconds, not minutes
MAX_HANDED_OVER = 1000  # events held in paho's memory at once; more wait on disk

# RFC 1123 labels; "_" allowed because compose service names use it.
_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")


@dataclass(frozen=True)
class DrainReport:
    delivered: int  # events the broker acknowledged during this publisher's life
    pending: int  # events still in the outbox; the next run sends them first
    waited_s: float
    outbox: str


def describe_disabled() -> str:
    return "MQTT off: mqtt.host is not set, nothing is published"


def check_host(host: str | None) -> str:
    """The broker host as paho wants it, or a one-line EdgewatchError naming what is wrong."""
    h = (host or "").strip()
    if not h:
        raise EdgewatchError("mqtt.host: empty; give the broker's host name or IP address")
    if "://" in h:
        raise EdgewatchError(f"mqtt.host: {host!r} is a URL; give only the host name (port in mqtt.port, TLS in mqtt.tls)")
    try:
        return str(ipaddress.ip_address(h[1:-1] if h.startswith("[") and h.endswith("]") else h))
    except ValueError:
        pass
    if ":" in h:
        raise EdgewatchError(f"mqtt.host: {host!r} contains a port; put the port in mqtt.port")
    if not _HOSTNAME.match(h):
        raise EdgewatchError(f"mqtt.host: {host!r} is not a valid host name")
    return h


def _check_port(port: Any) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise EdgewatchError(f"mqtt.port: {port!r} is not a port number (1-65535)")
    return port


def _check_prefix(prefix: str) -> str:
    p = prefix.strip("/")
    if not p or any(c in p for c in "+#\0") or "//" in p:
        raise EdgewatchError(f"mqtt.topic_prefix: {prefix!r} is not a usable topic root (no wildcards, not empty)")
    return p


def _configure_tls(client: paho.Client, tls: TlsConfig) -> None:
    for key in ("ca", "cert", "key"):
        path = getattr(tls, key)
        if path is not None and not Path(path).expanduser().is_file():
            raise EdgewatchError(f"mqtt.tls.{key}: file not found: {path}")
    if tls.key and not tls.cert:
        raise EdgewatchError("mqtt.tls.key: given without mqtt.tls.cert")

    def p(x: str | None) -> str | None:
        return None if x is None else str(Path(x).expanduser())

    try:
        # ca None = the system's trusted CAs
        client.tls_set(ca_certs=p(tls.ca), certfile=p(tls.cert), keyfile=p(tls.key))
    except (ssl.SSLError, OSError, ValueError) as err:
        raise EdgewatchError(f"mqtt.tls: cannot load the certificates: {err}") from None
    if tls.insecure:
        client.tls_insecure_set(True)


class _Throttle:
    """Rate limit for one retained topic, trailing edge: at most one message per interval, and the
    latest payload offered is always sent at the next free slot, by the next offer or by `poll()`, which
    the worker's loop calls every 50 ms. No timer thread per message: with dozens of cameras at 4 states
    a second, starting those threads cost the loop more than everything else it does."""

    def __init__(self, interval_s: float, send: Callable[[bytes], None]) -> None:
        self._interval = interval_s
        self._send = send
        self._lock = threading.Lock()
        self._last_at = -math.inf
        self._last: bytes | None = None
        self._pending: dict[str, Any] | None = None
        self._stopped = False

    def offer(self, payload: dict[str, Any]) -> None:
        with self._lock:
            if not self._stopped:
                self._pending = payload
                self._send_due(time.monotonic())

    def poll(self) -> None:
        """Send what is pending once its slot has come."""
        with self._lock:
            if not self._stopped:
                self._send_due(time.monotonic())

    def resend_last(self) -> None:
        """After a reconnect: the broker may have restarted and forgotten the retained message."""
        with self._lock:
            if self._last is not None and self._pending is None and not self._stopped:
                self._last_at = time.monotonic()
                self._send(self._last)

    def stop(self) -> None:
        """Send what is pending now and refuse further offers."""
        with self._lock:
            self._stopped = True
            if self._pending is not None:
                payload, self._pending = self._pending, None
                self._emit(payload, time.monotonic())

    def _send_due(self, now: float) -> None:  # lock held
        if self._pending is not None and now - self._last_at >= self._interval:
            payload, self._pending = self._pending, None
            self._emit(payload, now)

    def _emit(self, payload: dict[str, Any], now: float) -> None:  # lock held
        data = encode(payload)
        self._last_at = now
        self._last = data
        self._send(data)


class MqttPublisher:
    """One camera's publisher. Call start() once, publish_* from the worker loop, close() at the end."""

    def __init__(self, cfg: MqttConfig, camera: str, source: str) -> None:
        if not is_camera_id(camera):
            raise EdgewatchError(f"camera: {camera!r} is not usable in an MQTT topic ({CAMERA_ID_RULE})")
        self._host = check_host(cfg.host)
        self._port = _check_port(cfg.port)
        prefix = _check_prefix(cfg.topic_prefix)
        self.camera = camera
        self._source = source
        self._state_interval = 1.0 / cfg.state_hz
        self.topics = {kind: topic(prefix, camera, kind) for kind in TOPIC_KINDS}
        self.config_topic = topic(prefix, camera, CONFIG_GEOMETRY)
        # Messages on the config topic (the UI's saved lines and zones) go here; set before start().
        self.on_config: Callable[[bytes], None] | None = None

        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id or f"edgewatch-{camera}",
            protocol=paho.MQTTv311,
            clean_session=True,  # nothing to resume: paho itself re-sends our unacknowledged messages
        )
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            _configure_tls(client, cfg.tls)
        will = status_payload(camera, source, online=False, reason="lost")
        client.will_set(self.topics["status"], encode(will), qos=1, retain=True)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self._client = client

        self._outbox = Outbox(cfg.outbox or default_path(camera))
        self._events_lock = threading.Lock()
        self._in_paho: dict[int, tuple[int, int]] = {}  # mid -> (seq, topic+payload bytes), handed to paho
        self._backlog: deque[OutboxRow] = deque()  # stored, not yet handed to paho (over the cap)
        self._acks: deque[int] = deque()  # mids paho reported published; only paho's thread appends
        self._delivered = 0

        self._bytes_lock = threading.Lock()
        self._bytes_sent = 0
        self._connected = False
        self._ever_connected = False
        self._complained: str | None = None  # last connection problem logged, to log each once
        self._started = False
        self._report: DrainReport | None = None
        self._input: tuple[str, str] | None = None  # the camera's input state, in the online status

        self._state = _Throttle(self._state_interval, self._retained_sender("state"))
        self._segmentation = _Throttle(self._state_interval, self._retained_sender("segmentation"))
        self._perf = _Throttle(0.0, self._retained_sender("perf"))  # the worker paces perf itself
        self._geometry = _Throttle(0.0, self._retained_sender("geometry"))
        # Every retained topic's newest payload: re-sent at each connect, stopped at the end.
        self._retained_topics = (self._state, self._segmentation, self._perf, self._geometry)

        # Events an earlier run could not deliver go first, ahead of anything this run publishes.
        leftovers = self._outbox.pending()
        if leftovers:
            log.info("MQTT: %d undelivered event(s) from an earlier run in %s will be sent first", len(leftovers), self._outbox.path)
        with self._events_lock:
            self._backlog.extend(leftovers)
            self._feed()

    # ---- public API -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is away."""
        if self._started:
            return
        self._started = True
        self._client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self._client.loop_start()

    def publish_state(self, facts: FrameFacts) -> None:
        self._state.offer(state_payload(self.camera, facts))
        self._reconcile()  # called every frame: keeps the outbox current even without new events

    def publish_segmentation(self, facts: FrameFacts) -> None:
        payload = segmentation_payload(self.camera, facts)
        if payload is not None:
            self._segmentation.offer(payload)

    def publish_perf(self, perf: dict[str, Any]) -> None:
        self._perf.offer(perf_payload(self.camera, perf))

    def flush_due(self) -> None:
        """Send each retained topic's latest payload whose slot has come (the worker's loop calls it every 50 ms)."""
        for throttle in self._retained_topics:
            throttle.poll()

    def publish_geometry(self, payload: dict[str, Any]) -> None:
        """Retained: what the UI's editor shows for this camera."""
        self._geometry.offer(payload)

    def set_input(self, state: str, detail: str) -> None:
        """The camera's input changed (lost, back, waiting): say so in the retained status at once."""
        self._input = (state, detail)
        if self._connected:
            self._publish_online(self._client)

    def publish_events(self, events: list[Event]) -> None:
        if not events:
            self._reconcile()
            return
        with self._events_lock:  # one lock hold: seq order = sending order, even across threads
            rows = self._outbox.add([event_payload(self.camera, e) for e in events])  # on disk before it is sent
            self._backlog.extend(rows)
            self._feed()
        self._reconcile()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def bytes_sent(self) -> int:
        """Topic + payload bytes handed to a connected broker (events counted once, on acknowledgement)."""
        with self._bytes_lock:
            return self._bytes_sent

    @property
    def pending_events(self) -> int:
        self._reconcile()
        with self._events_lock:
            return len(self._in_paho) + len(self._backlog)

    @property
    def outbox_path(self) -> Path:
        return self._outbox.path

    def close(self, timeout_s: float) -> DrainReport:
        """Send the last state, wait up to timeout_s for queued events, say offline, disconnect.

        Events still unacknowledged stay in the outbox for the next run."""
        if self._report is not None:
            return self._report
        t0 = time.monotonic()
        deadline = t0 + max(0.0, timeout_s)
        for throttle in self._retained_topics:
            throttle.stop()
        while True:
            self._reconcile()
            with self._events_lock:
                left = len(self._in_paho) + len(self._backlog)
            if left == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if self._started:
            if self._connected:
                offline = encode(status_payload(self.camera, self._source, online=False, reason="closed"))
                info = self._client.publish(self.topics["status"], offline, qos=1, retain=True)
                try:
                    # at least a moment: without it the will ("lost") would stand in for a clean end
                    info.wait_for_publish(timeout=max(0.5, deadline - time.monotonic()))
                except (RuntimeError, ValueError):
                    pass  # connection went away meanwhile: the broker sends the will instead
                self._count(self.topics["status"], info, len(offline))
            self._client.disconnect()
            self._client.loop_stop()
        self._reconcile()
        pending = self._outbox.count()
        self._outbox.close()
        self._report = DrainReport(self._delivered, pending, round(time.monotonic() - t0, 3), str(self._outbox.path))
        if pending:
            log.warning("MQTT: %d event(s) not acknowledged; kept in %s for the next run", pending, self._outbox.path)
        return self._report

    # ---- internals --------------------------------------------------------------------------

    def _feed(self) -> None:  # events lock held
        """Hand stored events to paho in order, up to the cap."""
        name = self.topics["events"]
        while self._backlog and len(self._in_paho) < MAX_HANDED_OVER:
            row = self._backlog[0]
            info = self._client.publish(name, row.payload, qos=1, retain=False)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                break  # paho refused it (its queue or mid clash): try again after the next acknowledgement
            # rc NO_CONN is fine: paho keeps QoS 1 messages and sends them once connected
            self._backlog.popleft()
            self._in_paho[info.mid] = (row.seq, len(row.payload) + len(name.encode()))

    def _reconcile(self) -> None:
        """Delete acknowledged events from the outbox; runs in the caller's thread, never in paho's.

        A mid is registered in the same lock hold as its publish(), so every event ack drained here
        is already known; other mids (QoS 0 sends, status) are simply not ours."""
        if not self._acks and not self._backlog:
            return
        done: list[int] = []
        nbytes = 0
        with self._events_lock:
            while self._acks:
                hit = self._in_paho.pop(self._acks.popleft(), None)
                if hit is not None:
                    done.append(hit[0])
                    nbytes += hit[1]
            if done:
                self._outbox.remove(done)
                self._delivered += len(done)
            self._feed()
        if nbytes:
            with self._bytes_lock:
                self._bytes_sent += nbytes

    def _retained_sender(self, kind: str) -> Callable[[bytes], None]:
        name = self.topics[kind]

        def send(data: bytes) -> None:
            if not self._connected:
                return  # paho drops QoS 0 offline anyway; on_connect re-sends the latest (and no mid is used up)
            info = self._client.publish(name, data, qos=0, retain=True)
            self._count(name, info, len(data))

        return send

    def _count(self, name: str, info: paho.MQTTMessageInfo, size: int) -> None:
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            with self._bytes_lock:
                self._bytes_sent += len(name.encode()) + size

    # paho's network thread calls these; keep them short and lock-free towards the caller's locks.

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self._complain(f"MQTT broker {self._host}:{self._port} refused the connection: {reason} (check mqtt.username / mqtt.password)")
            return
        self._connected = True
        self._complained = None
        log.info("MQTT: connected to %s:%d%s", self._host, self._port, " again" if self._ever_connected else "")
        self._ever_connected = True
        if self.on_config is not None:
            client.subscribe(self.config_topic, qos=1)  # the retained geometry comes at once
        self._publish_online(client)
        for throttle in self._retained_topics:
            throttle.resend_last()

    def _publish_online(self, client: paho.Client) -> None:
        online = encode(status_payload(self.camera, self._source, online=True, input_state=self._input))
        info = client.publish(self.topics["status"], online, qos=1, retain=True)
        self._count(self.topics["status"], info, len(online))

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.config_topic and self.on_config is not None:
            self.on_config(message.payload)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self._complain(f"MQTT broker {self._host}:{self._port} unreachable; retrying, events are kept in {self._outbox.path}")

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        was = self._connected
        self._connected = False
        if was and reason.is_failure:
            log.warning("MQTT: lost the broker %s:%d (%s); reconnecting, events are kept on disk", self._host, self._port, reason)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        self._acks.append(mid)

    def _complain(self, message: str) -> None:
        if message != self._complained:
            self._complained = message
            log.warning("%s", message)
