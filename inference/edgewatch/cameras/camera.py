"""One camera in the worker: its source, its detection gate, its analytics and day, its outputs.

The worker's loop asks each camera in turn for its next frame (`take`), runs the frames the gate lets
through on the shared model, hands the results back (`done`), and the camera publishes its frames in
its own order (`deliver`). Nothing here is shared with another camera but the model.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..analytics import Analytics
from ..config import Config
from ..errors import EdgewatchError
from ..models.runtime import SharedInference
from ..publishers.outputs import Output
from ..publishers.payloads import geometry_payload
from ..sources import FrameSource
from ..types import Event, ModelOutput, SourceStatus
from .day import DayBook
from .dispatch import Dispatch
from .gate import Decision, DetectGate
from .geometry import GeometryInbox
from .geometry import apply as apply_geometry
from .intake import Intake, Pending
from .models import SharedModels


class Camera:
    def __init__(self, camera: str, cfg: Config, source: FrameSource, models: SharedModels,
                 outputs: list[Output], day: DayBook, analytics: Analytics,
                 inbox: GeometryInbox) -> None:
        self.id = camera
        self.many = len(cfg.cameras) > 1  # messages name the camera
        self.models = models
        self.analytics = analytics
        self.day = day
        self.inbox = inbox  # the UI's saved lines and zones, from the camera's MQTT link
        self.intake = Intake(source, DetectGate(cfg.cameras[camera].detect), models.detector.prepare)
        m = models.detector
        self.out = Dispatch(outputs, cfg.mqtt.perf_interval_s if cfg.mqtt.host else 2.0,
                            {"model": m.name, "precision": m.files.precision or "", "device": m.device})
        self.last_video_s = 0.0
        self.emit(day.take_pending())
        self.publish_geometry()
        if day.path:  # that day's end is handed over now: save today so a restart does not repeat it
            day.save()

    @property
    def source(self) -> FrameSource:
        return self.intake.source

    @property
    def failure(self) -> EdgewatchError | None:
        return self.intake.failure

    def start(self) -> None:
        """Let the frames flow. The camera's wall time (fps, the share of frames kept) runs from here, not
        from when the worker built it: with dozens of cameras, building the rest took seconds."""
        self.out.perf.start()
        self.source.start()

    @property
    def finished(self) -> bool:
        return self.intake.finished

    # -- the loop's side -------------------------------------------------------------------------
    def take(self, inference: SharedInference) -> bool:
        """One step for this camera's turn (Intake.take); False when there was nothing to do."""
        try:
            return self.intake.take(inference, self.analytics.standing_boxes)
        except EdgewatchError as err:
            self.emit([Event("source_lost", self.last_video_s, {"detail": str(err)})])
            self.out.input_state("lost", str(err))
            return False

    @staticmethod
    def done(entry: Pending, outputs: list[np.ndarray], infer_ms: float) -> None:
        entry.finish(outputs, infer_ms)

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
        self.out.sampled_out(self.source.sampled_out)
        n = 0
        for entry in self.intake.ready():
            if isinstance(entry.item, SourceStatus):
                self._status(entry.item)
            else:
                self._frame(entry)
            n += 1
        if self.source.finished and not self.intake.pending and self.out.perf.ended is None:
            self.out.perf.ended = time.monotonic()
        return n

    def tick(self) -> None:
        self.out.tick()

    # -- per item --------------------------------------------------------------------------------
    def _status(self, st: SourceStatus) -> None:
        self.emit([Event(f"source_{st.state}", st.video_s, {"detail": st.detail}, at=st.at)])
        self.out.input_state("ok" if st.state == "restored" else "lost", st.detail)

    def _frame(self, entry: Pending) -> None:
        frame = entry.item
        self.day.roll(frame.video_s, self.emit)
        if entry.decision is Decision.DETECT:
            facts = self.analytics.update(self.models.adapter.postprocess(entry.outputs, frame, entry.infer_ms))
        else:
            facts = self.analytics.hold(ModelOutput(frame, 0.0, detections=[], held=True),
                                        still=entry.decision is Decision.STILL, standing=entry.decision is Decision.STANDING)
        self.last_video_s = frame.video_s
        self.out.frame(facts)

    def emit(self, events: list[Event]) -> None:
        self.out.events(events)

    def publish_geometry(self) -> None:
        a = self.analytics
        current = {"lines": [c.model_dump(mode="json") for c in a.cfg.lines],
                   "zones": [c.model_dump(mode="json") for c in a.cfg.zones]}
        self.out.geometry(geometry_payload(self.id, a.frame_size, current, a.geometry))

    # -- the end ---------------------------------------------------------------------------------
    def finish(self) -> list[str]:
        """Close the camera; whatever was gathered is kept and reported, even after an error."""
        messages: list[str] = []
        self.source.close()
        self.emit(self.day.take_pending())  # the saved day's end, if the run stopped before it got there
        self.emit(self.analytics.finish(self.last_video_s))
        if self.source.ended_early:
            messages.append(f"warning: {self.source.ended_early}: {self.source.info.uri}")
        messages += self.out.close()
        return [f"camera {self.id}: {m}" if self.many else m for m in messages]

    def summary(self) -> dict[str, Any]:
        info = self.source.info
        perf = self.out.perf
        overall = perf.overall()
        return {
            "camera": self.id,
            "input": info.uri,
            "model": self.models.detector.name,
            "device": self.models.detector.device,
            "frames": perf.frames,
            "dropped": self.source.dropped,  # decoded but dropped to stay live (the camera ran ahead)
            "skipped_at_source": self.source.sampled_out,  # detect.fps with no video out: only grabbed
            "video_s": round(self.last_video_s, 2),
            "wall_s": overall["wall_s"],
            **{k: overall[k] for k in ("fps", "infer_ms_p50", "infer_ms_p95", "latency_ms_p50", "latency_ms_p95",
                                       "skipped_share")},
            **self.analytics.summary(),
            **self.out.summary(),  # the run's events, segmentation shares
        }
