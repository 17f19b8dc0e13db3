"""At-least-once delivery of one camera's events over MQTT, through the on-disk outbox.

Each event is written to the outbox first, then handed to paho at QoS 1. paho keeps every unacknowledged
QoS 1 message in memory and re-sends all of them, in order, on every reconnect (paho 2.2:
Client._messages_reconnect_reset_out + _handle_connack), so within a run an event is handed over once;
its outbox row is deleted only when on_publish reports the broker's PUBACK for its mid. At most
MAX_HANDED_OVER events sit in paho's memory; the rest wait in the outbox (in order) and follow as
acknowledgements come back, which also keeps paho's 16-bit message ids from wrapping onto an
unacknowledged one. Rows left by an earlier run (broker away at its end, or the worker killed) are queued
first, when the publisher is built, so they precede this run's events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

from .outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)

MAX_HANDED_OVER = 1000  # events held in paho's memory at once; more wait on disk

# (topic, payload, qos, retain) -> paho's message info: paho.Client.publish
Publish = Callable[..., paho.MQTTMessageInfo]


class EventDelivery:
    """The outbox, what paho holds, what waits, and what the broker acknowledged. `on_ack` is the only
    method paho's network thread calls; everything else runs in the caller's threads."""

    def __init__(self, outbox: Outbox, publish: Publish, topic: str) -> None:
        self.outbox = outbox
        self._publish = publish
        self._topic = topic
        self._lock = threading.Lock()
        self._in_paho: dict[int, tuple[int, int]] = {}  # mid -> (seq, topic+payload bytes), handed to paho
        self._backlog: deque[OutboxRow] = deque()  # stored, not yet handed to paho (over the cap)
        self._acks: deque[int] = deque()  # mids paho reported published; only paho's thread appends
        self.delivered = 0
        # Events an earlier run could not deliver go first, ahead of anything this run publishes.
        leftovers = outbox.pending()
        if leftovers:
            log.info("MQTT: %d undelivered event(s) from an earlier run in %s will be sent first",
                     len(leftovers), outbox.path)
        with self._lock:
            self._backlog.extend(leftovers)
            self._feed()

    @property
    def path(self) -> Path:
        return self.outbox.path

    def add(self, payloads: list[dict[str, Any]]) -> int:
        """Store events, hand what fits to paho; returns topic + payload bytes acknowledged meanwhile."""
        with self._lock:  # one lock hold: seq order = sending order, even across threads
            self._backlog.extend(self.outbox.add(payloads))  # on disk before it is sent
            self._feed()
        return self.reconcile()

    def on_ack(self, mid: int) -> None:
        """paho's thread: the broker acknowledged `mid` (ours or not; reconcile() sorts it out)."""
        self._acks.append(mid)

    def pending(self) -> int:
        """Events not acknowledged yet (held by paho or waiting)."""
        with self._lock:
            return len(self._in_paho) + len(self._backlog)

    def reconcile(self) -> int:
        """Delete acknowledged events from the outbox and hand over more; never runs in paho's thread.
        Returns the topic + payload bytes of the events acknowledged now.

        A mid is registered in the same lock hold as its publish(), so every event ack drained here
        is already known; other mids (QoS 0 sends, status) are simply not ours."""
        if not self._acks and not self._backlog:
            return 0
        done: list[int] = []
        nbytes = 0
        with self._lock:
            while self._acks:
                hit = self._in_paho.pop(self._acks.popleft(), None)
                if hit is not None:
                    done.append(hit[0])
                    nbytes += hit[1]
            if done:
                self.outbox.remove(done)
                self.delivered += len(done)
            self._feed()
        return nbytes

    def drain(self, deadline: float, acked: Callable[[int], None]) -> None:
        """Wait until every event is acknowledged or time.monotonic() reaches `deadline`; `acked` gets the
        bytes acknowledged meanwhile."""
        while True:
            acked(self.reconcile())
            if self.pending() == 0 or time.monotonic() >= deadline:
                return
            time.sleep(0.02)

    def close(self) -> int:
        """Close the outbox; returns how many events stay in it for the next run."""
        left = self.outbox.count()
        self.outbox.close()
        return left

    def _feed(self) -> None:  # lock held
        """Hand stored events to paho in order, up to the cap."""
        while self._backlog and len(self._in_paho) < MAX_HANDED_OVER:
            row = self._backlog[0]
            info = self._publish(self._topic, row.payload, qos=1, retain=False)
            if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                break  # paho refused it (its queue or mid clash): try again after the next acknowledgement
            # rc NO_CONN is fine: paho keeps QoS 1 messages and sends them once connected
            self._backlog.popleft()
            self._in_paho[info.mid] = (row.seq, len(row.payload) + len(self._topic.encode()))
