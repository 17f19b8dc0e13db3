"""Publishes one camera's status, live state, events, performance and segmentation to MQTT (docs/mqtt.md).

Events are delivered at least once through an on-disk outbox (delivery.py tells how); the retained topics
are rate-limited and re-sent after every reconnect (retained.py). Nothing here blocks on the network, and
a broker that is away is never fatal: paho's own loop reconnects (connect_async + loop_start).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from ..config import MqttConfig, TlsConfig
from ..errors import EdgewatchError
from ..ids import CAMERA_ID_RULE, is_camera_id
from ..types import Event, FrameFacts
from .delivery import EventDelivery
from .outbox import Outbox, default_path
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
from .retained import RetainedTopics

log = logging.getLogger(__name__)

KEEPALIVE_S = 5  # short, so the broker sends the last will within ~1.5 x 5 s of the worker vanishing
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 8  # a restarted broker is found again within seconds, not minutes

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


class _BrokerLink:
    """Whether the broker is connected now (paho's thread sets it), logging each connection problem once."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.up = False
        self._ever = False
        self._complained: str | None = None  # the last problem logged

    def connected(self) -> None:
        self.up = True
        self._complained = None
        log.info("MQTT: connected to %s:%d%s", self.host, self.port, " again" if self._ever else "")
        self._ever = True

    def lost(self, reason: Any) -> None:
        was, self.up = self.up, False
        if was and reason.is_failure:
            log.warning("MQTT: lost the broker %s:%d (%s); reconnecting, events are kept on disk", self.host, self.port, reason)

    def complain(self, problem: str) -> None:
        message = f"MQTT broker {self.host}:{self.port} {problem}"
        if message != self._complained:
            self._complained = message
            log.warning("%s", message)


class _Sent:
    """Topic + payload bytes handed to a connected broker (the worker's thread and paho's both add)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    def add(self, nbytes: int) -> None:
        if nbytes:
            with self._lock:
                self._total += nbytes

    def published(self, name: str, info: paho.MQTTMessageInfo, size: int) -> None:
        """One message handed to paho: counted if paho took it."""
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self.add(len(name.encode()) + size)


class _Status:
    """The camera's retained status: online with its input's state, or offline and why."""

    def __init__(self, camera: str, source: str) -> None:
        self.camera, self.source = camera, source
        self.input: tuple[str, str] | None = None  # the camera's input state (lost, back, waiting) and detail

    def online(self) -> bytes:
        return encode(status_payload(self.camera, self.source, online=True, input_state=self.input))

    def offline(self, reason: str) -> bytes:
        return encode(status_payload(self.camera, self.source, online=False, reason=reason))


def _make_client(cfg: MqttConfig, camera: str, will_topic: str, will: bytes) -> paho.Client:
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
    client.will_set(will_topic, will, qos=1, retain=True)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    return client


class _Session:
    """One camera's connection to the broker: paho's client with its last will, started once; the camera's
    retained status on it (online with its input's state, or offline and why); the config topic's
    subscription. Calls `on_up` after each connect, `on_ack` with each acknowledged message id, and
    `on_config` (if set before start) with each message on the config topic."""

    def __init__(self, cfg: MqttConfig, link: _BrokerLink, camera: str, source: str, topics: dict[str, str],
                 sent: _Sent, outbox: Path) -> None:
        self.link = link
        self.status = _Status(camera, source)
        self.topics = topics  # "status" and "config" used here
        self.sent = sent
        self.outbox = outbox  # where events wait meanwhile, for the log
        self.on_config: Callable[[bytes], None] | None = None
        self.on_up: Callable[[], None] = lambda: None
        self.on_ack: Callable[[int], None] = lambda mid: None
        client = _make_client(cfg, camera, topics["status"], self.status.offline("lost"))
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = lambda client, userdata, mid, reason, properties: self.on_ack(mid)
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is away."""
        self.client.connect_async(self.link.host, self.link.port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def set_input(self, state: str, detail: str) -> None:
        self.status.input = (state, detail)
        if self.link.up:
            self._publish_online(self.client)

    def end(self, deadline: float) -> None:
        """Say offline ("closed", waiting until `deadline` for the broker to have it), disconnect."""
        if self.link.up:
            offline = self.status.offline("closed")
            info = self.client.publish(self.topics["status"], offline, qos=1, retain=True)
            try:
                # at least a moment: without it the will ("lost") would stand in for a clean end
                info.wait_for_publish(timeout=max(0.5, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass  # connection went away meanwhile: the broker sends the will instead
            self.sent.published(self.topics["status"], info, len(offline))
        self.client.disconnect()
        self.client.loop_stop()

    def _publish_online(self, client: paho.Client) -> None:
        online = self.status.online()
        info = client.publish(self.topics["status"], online, qos=1, retain=True)
        self.sent.published(self.topics["status"], info, len(online))

    # paho's network thread calls these; keep them short and lock-free towards the caller's locks.

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.link.complain(f"refused the connection: {reason} (check mqtt.username / mqtt.password)")
            return
        self.link.connected()
        if self.on_config is not None:
            client.subscribe(self.topics["config"], qos=1)  # the retained geometry comes at once
        self._publish_online(client)
        self.on_up()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic == self.topics["config"] and self.on_config is not None:
            self.on_config(message.payload)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        self.link.complain(f"unreachable; retrying, events are kept in {self.outbox}")

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.link.lost(reason)


class MqttPublisher:
    """One camera's publisher. Call start() once, publish_* from the worker loop, close() at the end."""

    def __init__(self, cfg: MqttConfig, camera: str, source: str) -> None:
        if not is_camera_id(camera):
            raise EdgewatchError(f"camera: {camera!r} is not usable in an MQTT topic ({CAMERA_ID_RULE})")
        link = _BrokerLink(check_host(cfg.host), _check_port(cfg.port))
        prefix = _check_prefix(cfg.topic_prefix)
        self.camera = camera
        self.topics = {kind: topic(prefix, camera, kind) for kind in TOPIC_KINDS}
        self.config_topic = topic(prefix, camera, CONFIG_GEOMETRY)
        self._sent = _Sent()
        outbox = Outbox(cfg.outbox or default_path(camera))  # opened once the address is known good
        self._session = _Session(cfg, link, camera, source, {**self.topics, "config": self.config_topic}, self._sent,
                                 outbox.path)
        # Events an earlier run left in the outbox are queued first, ahead of this run's.
        self._events = EventDelivery(outbox, self._session.client.publish, self.topics["events"])
        self._session.on_ack = self._events.on_ack
        self._started = False
        self._report: DrainReport | None = None

        # state and segmentation at most state_hz; the worker paces perf itself; geometry when it changes
        state_s = 1.0 / cfg.state_hz
        self._retained = RetainedTopics({"state": state_s, "segmentation": state_s, "perf": 0.0, "geometry": 0.0},
                                        self._send_retained)
        self._session.on_up = self._retained.resend_last

    # ---- public API -------------------------------------------------------------------------

    @property
    def on_config(self) -> Callable[[bytes], None] | None:
        """Messages on the config topic (the UI's saved lines and zones) go here; set before start()."""
        return self._session.on_config

    @on_config.setter
    def on_config(self, handler: Callable[[bytes], None] | None) -> None:
        self._session.on_config = handler

    def start(self) -> None:
        """Connect in the background; returns at once even if the broker is away."""
        if self._started:
            return
        self._started = True
        self._session.start()

    def publish_state(self, facts: FrameFacts) -> None:
        self._retained.offer("state", state_payload(self.camera, facts))
        self._reconcile()  # called every frame: keeps the outbox current even without new events

    def publish_segmentation(self, facts: FrameFacts) -> None:
        payload = segmentation_payload(self.camera, facts)
        if payload is not None:
            self._retained.offer("segmentation", payload)

    def publish_perf(self, perf: dict[str, Any]) -> None:
        self._retained.offer("perf", perf_payload(self.camera, perf))

    def flush_due(self) -> None:
        """Send each retained topic's latest payload whose slot has come (the worker's loop calls it every 50 ms)."""
        self._retained.poll()

    def publish_geometry(self, payload: dict[str, Any]) -> None:
        """Retained: what the UI's editor shows for this camera."""
        self._retained.offer("geometry", payload)

    def set_input(self, state: str, detail: str) -> None:
        """The camera's input changed (lost, back, waiting): say so in the retained status at once."""
        self._session.set_input(state, detail)

    def publish_events(self, events: list[Event]) -> None:
        if not events:
            self._reconcile()
            return
        self._sent.add(self._events.add([event_payload(self.camera, e) for e in events]))

    @property
    def connected(self) -> bool:
        return self._session.link.up

    @property
    def bytes_sent(self) -> int:
        """Topic + payload bytes handed to a connected broker (events counted once, on acknowledgement)."""
        return self._sent.total

    @property
    def pending_events(self) -> int:
        self._reconcile()
        return self._events.pending()

    @property
    def outbox_path(self) -> Path:
        return self._events.path

    def close(self, timeout_s: float) -> DrainReport:
        """Send the last state, wait up to timeout_s for queued events, say offline, disconnect.

        Events still unacknowledged stay in the outbox for the next run."""
        if self._report is not None:
            return self._report
        t0 = time.monotonic()
        deadline = t0 + max(0.0, timeout_s)
        self._retained.stop()
        self._events.drain(deadline, self._sent.add)
        if self._started:
            self._session.end(deadline)
        self._reconcile()
        pending = self._events.close()
        self._report = DrainReport(self._events.delivered, pending, round(time.monotonic() - t0, 3), str(self._events.path))
        if pending:
            log.warning("MQTT: %d event(s) not acknowledged; kept in %s for the next run", pending, self._events.path)
        return self._report

    # ---- internals --------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """Drop acknowledged events from the outbox, hand over more (the caller's thread, never paho's)."""
        self._sent.add(self._events.reconcile())

    def _send_retained(self, kind: str, data: bytes) -> None:
        if not self._session.link.up:
            return  # paho drops QoS 0 offline anyway; on_connect re-sends the latest (and no mid is used up)
        name = self.topics[kind]
        info = self._session.client.publish(name, data, qos=0, retain=True)
        self._sent.published(name, info, len(data))
