"""What one camera publishes, handed to each of its outputs in turn (as Frigate's Dispatcher loops over
its communicators), and the camera's performance figures, measured as frames are published and sent
every perf interval."""

from __future__ import annotations

import time
from typing import Any

from ..perf import PerfMeter
from ..publishers.outputs import Output
from ..types import Event, FrameFacts


class Dispatch:
    def __init__(self, outputs: list[Output], perf_every_s: float, model: dict[str, str]) -> None:
        self.outputs = outputs
        self.perf = PerfMeter()
        self.model = model  # model, precision, device: named in every perf report
        self._every = perf_every_s
        self._last_perf = time.monotonic()
        self._sampled_seen = 0  # of the source's frames only grabbed, those already counted

    def events(self, events: list[Event]) -> None:
        if events:
            for out in self.outputs:
                out.events(events)

    def frame(self, facts: FrameFacts) -> None:
        self.events(facts.events)
        for out in self.outputs:
            out.frame(facts)
        self.perf.frame(facts.output.infer_ms, facts.frame.captured_at)
        now = time.monotonic()
        if now - self._last_perf >= self._every:
            self._last_perf = now
            self.report_perf()

    def sampled_out(self, total: int) -> None:
        """The source has only grabbed `total` frames so far (detect.fps with no video out): they count as
        handled and skipped."""
        if total > self._sampled_seen:
            self.perf.skipped_at_source(total - self._sampled_seen)
            self._sampled_seen = total

    def input_state(self, state: str, detail: str) -> None:
        for out in self.outputs:
            out.input_state(state, detail)

    def geometry(self, payload: dict[str, Any]) -> None:
        for out in self.outputs:
            out.geometry(payload)

    def tick(self) -> None:
        for out in self.outputs:
            out.tick()

    def report_perf(self) -> None:
        sent = {kind: sum(o.bytes_sent for o in self.outputs if o.kind == kind) for kind in ("mqtt", "video")}
        self.perf.traffic(sent["mqtt"], sent["video"])
        report = {**self.perf.report(), **self.model}
        for out in self.outputs:
            out.perf(report)

    def summary(self) -> dict[str, Any]:
        """What the outputs add to the camera's --summary (the run's events, segmentation shares)."""
        return {k: v for out in self.outputs for k, v in out.summary().items()}

    def close(self) -> list[str]:
        """The last perf figures, then every output flushed and closed: their warnings for the user."""
        self.report_perf()
        return [m for out in self.outputs for m in out.close()]
