"""The retained topics of one camera (state, segmentation, perf, geometry): each one's newest payload, sent
no more often than its interval allows, re-sent after a reconnect (a restarted broker forgot it)."""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable

from .payloads import encode


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


class RetainedTopics:
    """One _Throttle a topic kind; `send(kind, data)` publishes (the publisher skips it while offline)."""

    def __init__(self, intervals: dict[str, float], send: Callable[[str, bytes], None]) -> None:
        self._topics = {kind: _Throttle(every, lambda data, kind=kind: send(kind, data))
                        for kind, every in intervals.items()}

    def offer(self, kind: str, payload: dict[str, Any]) -> None:
        self._topics[kind].offer(payload)

    def poll(self) -> None:
        """Send each topic's latest payload whose slot has come."""
        for throttle in self._topics.values():
            throttle.poll()

    def resend_last(self) -> None:
        for throttle in self._topics.values():
            throttle.resend_last()

    def stop(self) -> None:
        """Send what is pending now and refuse further offers (the end)."""
        for throttle in self._topics.values():
            throttle.stop()
