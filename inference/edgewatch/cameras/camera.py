"""One camera in the worker: its source, its detection gate, its analytics and day, its outputs.

The worker's loop asks each camera in turn for its next frame (`take`), runs the frames the gate lets
through on the shared model, hands the results back (`done`), and the camera publishes its frames in
its own order (`deliver`). Nothing here is shared with another camera but the model.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analytics import Analytics
from ..config import CameraConfig, Config
from ..errors import EdgewatchError
from ..models.runtime import SharedInference
from ..perf import PerfMeter
from ..publishers.outputs import EventLog, Output
from ..publishers.payloads import geometry_payload
from ..sources import FrameSource
from ..types import Event, Frame, FrameFacts, ModelOutput, SourceStatus
from .day import DayBook
from .geometry import GeometryInbox
from .geometry import apply as apply_geometry
from .gate import Decision, DetectGate
from .models import SharedModels

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """A frame or status in the camera's order; `done` once its inference (if any) came back."""

    item: Frame | SourceStatus
    decision: Decision | None = None
    outputs: list[np.ndarray] | None = None
    infer_ms: float = 0.0
    done: bool = False


class Camera:
    def __init__(self, camera: str, cfg: Config, source: FrameSource, models: SharedModels,
                 outputs: list[Output], event_log: EventLog, day: DayBook, analytics: Analytics,
                 inbox: GeometryInbox) -> None:
        self.id = camera
        self.event_log = event_log
        self.cfg: CameraConfig = cfg.cameras[camera]
        self.site = cfg
        self.source = source
        self.models = models
        self.outputs = outputs
        self.analytics = analytics
        self.day = day
        self.inbox = inbox  # the UI's saved lines and zones, from the camera's MQTT link
        self.gate = DetectGate(self.cfg.detect)
        self.perf = PerfMeter()
        self.pending: deque[_Pending] = deque()  # this camera's items in order, until published
        self.unsent: _Pending | None = None  # a frame to detect that waits for a free request
        self.failure: EdgewatchError | None = None
        self.last_video_s = 0.0
        self.class_shares: dict[str, float] = {}  # running sum of segmentation shares, for the summary
        self.seg_frames = 0
        self._perf_every = cfg.mqtt.perf_interval_s if cfg.mqtt.host else 2.0
        self._last_perf = time.monotonic()
        self._sampled_seen = 0  # of source.sampled_out, already counted as skipped frames
        self.emit(day.take_pending())
        self.publish_geometry()
        if day.path:  # that day's end is handed over now: save today so a restart does not repeat it
            day.save()

    def start(self) -> None:
        """Let the frames flow. The camera's wall time (fps, the share of frames kept) runs from here, not
        from when the worker built it: with dozens of cameras, building the rest took seconds."""
        self.perf.start()
        self.source.start()

    @property
    def finished(self) -> bool:
        return (self.source.finished or self.failure is not None) and not self.pending

    # -- the loop's side -------------------------------------------------------------------------
    def take(self, inference: SharedInference) -> bool:
        """One step for this camera's turn: hand its frame waiting for the detector to a free request,
        or take the source's next item. A camera whose frame waits takes nothing more (what it would
        take could only wait behind it; left in the source's queue, the oldest are dropped as a live
        camera must), but a busy detector never holds back another camera's frames that its gate
        skips. False when there was nothing to do."""
        if self.unsent is not None:
            if inference.free <= 0:
                return False
            self._submit(self.unsent, inference)
            self.unsent = None
            return True
        if self.failure is not None:
            return False
        try:
            item = self.source.poll()
        except EdgewatchError as err:
            self.failure = err  # e.g. lost for longer than source.reconnect.give_up_s: not retried
            self.emit([Event("source_lost", self.last_video_s, {"detail": str(err)})])
            for out in self.outputs:
                out.input_state("lost", str(err))
            return False
        if item is None:
            return False
        entry = _Pending(item)
        self.pending.append(entry)
        if isinstance(item, SourceStatus):
            entry.done = True
        else:
            entry.decision = self.gate.decide(item, self.analytics.standing_boxes)
            if entry.decision is not Decision.DETECT:
                entry.done = True
            elif inference.free > 0:
                self._submit(entry, inference)
            else:
                self.unsent = entry
        return True

    def _submit(self, entry: _Pending, inference: SharedInference) -> None:
        frame = entry.item
        # A gated camera's frames are scaled here, only those detected (build.py).
        inference.submit(entry, frame.tensor if frame.tensor is not None else self.models.detector.prepare(frame.image))

    @staticmethod
    def done(entry: _Pending, outputs: list[np.ndarray], infer_ms: float) -> None:
        entry.outputs, entry.infer_ms, entry.done = outputs, infer_ms, True

    def deliver(self) -> int:
        """Publish every frame at the head of the camera's order whose result is in; returns how many.
        Lines and zones saved in the UI meanwhile apply before them."""
        saved = self.inbox.take()
        if saved is not None:
            events = apply_geometry(saved, self.id, self.analytics, self.last_video_s)
            self.emit(events)
            if any(e.type == "config_change" for e in events):
                self.publish_geometry()
                if self.day.path:
                    self.day.save()  # kept at once: a restart must not fall back to the YAML's
        sampled = self.source.sampled_out - self._sampled_seen
        if sampled:
            self._sampled_seen += sampled
            self.perf.skipped_at_source(sampled)
        n = 0
        while self.pending and self.pending[0].done:
            entry = self.pending.popleft()
            if isinstance(entry.item, SourceStatus):
                self._status(entry.item)
            else:
                self._frame(entry)
            n += 1
        if self.source.finished and not self.pending and self.perf.ended is None:
            self.perf.ended = time.monotonic()
        return n

    def tick(self) -> None:
        for out in self.outputs:
            out.tick()

    # -- per item --------------------------------------------------------------------------------
    def _status(self, st: SourceStatus) -> None:
        self.emit([Event(f"source_{st.state}", st.video_s, {"detail": st.detail}, at=st.at)])
        for out in self.outputs:
            out.input_state("ok" if st.state == "restored" else "lost", st.detail)

    def _frame(self, entry: _Pending) -> None:
        frame = entry.item
        self.day.roll(frame.video_s, self.emit)
        if entry.decision is Decision.DETECT:
            facts = self.analytics.update(self.models.adapter.postprocess(entry.outputs, frame, entry.infer_ms))
        else:
            facts = self.analytics.hold(ModelOutput(frame, 0.0, detections=[], held=True),
                                        still=entry.decision is Decision.STILL, standing=entry.decision is Decision.STANDING)
        seg = facts.output.segmentation
        if seg is not None:
            self.seg_frames += 1
            for name, share in seg.shares.items():
                self.class_shares[name] = self.class_shares.get(name, 0.0) + share
        self.last_video_s = frame.video_s
        self._publish(facts)

    def _publish(self, facts: FrameFacts) -> None:
        self.emit(facts.events)
        for out in self.outputs:
            out.frame(facts)
        self.perf.frame(facts.output.infer_ms, facts.frame.captured_at)
        now = time.monotonic()
        if now - self._last_perf >= self._perf_every:
            self._last_perf = now
            self.publish_perf()

    def emit(self, events: list[Event]) -> None:
        if events:
            for out in self.outputs:
                out.events(events)

    def publish_geometry(self) -> None:
        a = self.analytics
        current = {"lines": [c.model_dump(mode="json") for c in a.cfg.lines],
                   "zones": [c.model_dump(mode="json") for c in a.cfg.zones]}
        payload = geometry_payload(self.id, a.frame_size, current, a.geometry)
        for out in self.outputs:
            out.geometry(payload)

    def publish_perf(self) -> None:
        sent = {kind: sum(o.bytes_sent for o in self.outputs if o.kind == kind) for kind in ("mqtt", "video")}
        self.perf.traffic(sent["mqtt"], sent["video"])
        m = self.models.detector
        report = {**self.perf.report(), "model": m.name, "precision": m.files.precision or "", "device": m.device}
        for out in self.outputs:
            out.perf(report)

    # -- the end ---------------------------------------------------------------------------------
    def finish(self) -> list[str]:
        """Close the camera; whatever was gathered is kept and reported, even after an error."""
        messages: list[str] = []
        self.source.close()
        self.emit(self.day.take_pending())  # the saved day's end, if the run stopped before it got there
        self.emit(self.analytics.finish(self.last_video_s))
        if self.source.ended_early:
            messages.append(f"warning: {self.source.ended_early}: {self.source.info.uri}")
        self.publish_perf()
        for out in self.outputs:
            messages += out.close()
        return [m if len(self.site.cameras) == 1 else f"camera {self.id}: {m}" for m in messages]

    def summary(self) -> dict[str, Any]:
        info = self.source.info
        overall = self.perf.overall()
        return {
            "camera": self.id,
            "input": info.uri,
            "model": self.models.detector.name,
            "device": self.models.detector.device,
            "frames": self.perf.frames,
            "dropped": self.source.dropped,  # decoded but dropped to stay live (the camera ran ahead)
            "skipped_at_source": self.source.sampled_out,  # detect.fps with no video out: only grabbed
            "video_s": round(self.last_video_s, 2),
            "wall_s": overall["wall_s"],
            **{k: overall[k] for k in ("fps", "infer_ms_p50", "infer_ms_p95", "latency_ms_p50", "latency_ms_p95",
                                       "skipped_share")},
            **self.analytics.summary(),
            **({"segmentation": {k: round(v / self.seg_frames, 4) for k, v in self.class_shares.items()}}
               if self.seg_frames else {}),
            "events": [e.to_json(self.id) for e in self.event_log.kept],
        }
