"""One camera's outputs behind one interface: the camera loops over its list, no caller checks for None.

Each output takes what it needs of every processed frame, of the events, of the performance
figures and of the input's state, and says what it sent and what went wrong when it is closed.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from typing import Any

import numpy as np

from ..config import CameraConfig
from ..errors import EdgewatchError
from ..types import Event, FrameFacts
from .annotate import Annotator
from .mqtt import MqttPublisher
from .video import VideoGate, VideoSink

log = logging.getLogger("edgewatch.events")


class Output:
    """Every method does nothing unless an output needs it."""

    kind = ""  # "mqtt" | "video": whose bytes the perf figures report

    def frame(self, facts: FrameFacts) -> None:
        pass

    def events(self, events: list[Event]) -> None:
        pass

    def perf(self, report: dict[str, Any]) -> None:
        pass

    def input_state(self, state: str, detail: str) -> None:
        pass

    def geometry(self, payload: dict[str, Any]) -> None:
        """The lines and zones the camera counts on (at start, and when the UI's editor changed them)."""

    def tick(self) -> None:
        """Time-based work, every 50 ms whether frames come or not (a rate-limited message's latest payload)."""

    @property
    def bytes_sent(self) -> int:
        return 0

    def summary(self) -> dict[str, Any]:
        """What this output adds to the camera's --summary."""
        return {}

    def close(self) -> list[str]:
        """Flush and release; returns one-line warnings for the user."""
        return []


class MqttOutput(Output):
    kind = "mqtt"

    def __init__(self, publisher: MqttPublisher, drain_timeout_s: float) -> None:
        self.pub = publisher
        self.drain_timeout_s = drain_timeout_s

    def frame(self, facts: FrameFacts) -> None:
        if facts.output.segmentation is not None:
            self.pub.publish_segmentation(facts)
        self.pub.publish_state(facts)

    def events(self, events: list[Event]) -> None:
        self.pub.publish_events(events)

    def perf(self, report: dict[str, Any]) -> None:
        self.pub.publish_perf(report)

    def input_state(self, state: str, detail: str) -> None:
        self.pub.set_input(state, detail)

    def geometry(self, payload: dict[str, Any]) -> None:
        self.pub.publish_geometry(payload)

    def tick(self) -> None:
        self.pub.flush_due()

    @property
    def bytes_sent(self) -> int:
        return self.pub.bytes_sent

    def close(self) -> list[str]:
        report = self.pub.close(self.drain_timeout_s)
        if report.pending:
            return [f"warning: {report.pending} MQTT events not delivered; kept on disk for the next run"]
        return []


class _Drawing:
    """Annotates a frame once however many outputs show it."""

    def __init__(self, annotator: Annotator) -> None:
        self.annotator = annotator
        self._facts: FrameFacts | None = None
        self._image: np.ndarray | None = None

    def image(self, facts: FrameFacts) -> np.ndarray:
        if facts is not self._facts:
            self._facts, self._image = facts, self.annotator.draw(facts)
        return self._image


def drawing(cfg: CameraConfig, model_label: str) -> _Drawing:
    return _Drawing(Annotator(cfg, model_label))


class VideoOutput(Output):
    """Annotated video to a file, a stream or stdout, under the camera's video policy."""

    kind = "video"

    def __init__(self, sink: VideoSink, gate: VideoGate, draw: _Drawing) -> None:
        self.sink = sink
        self.gate = gate
        self.draw = draw

    def frame(self, facts: FrameFacts) -> None:
        if self.gate.allow(facts.frame.video_s, facts.in_frame, bool(facts.events)):
            self.sink.write(self.draw.image(facts))

    @property
    def bytes_sent(self) -> int:
        return self.sink.bytes_sent

    def close(self) -> list[str]:
        try:
            self.sink.close()
        except EdgewatchError as err:
            return [f"error: {err}"]
        return []


class WindowOutput(Output):
    """A desktop window (video.show); q or Esc stops the run (`stop`, the worker's own flag)."""

    def __init__(self, camera: str, draw: _Drawing, stop: threading.Event) -> None:
        import cv2

        self.cv2 = cv2
        self.title = f"edgewatch {camera}"
        self.draw = draw
        self.stop = stop

    def frame(self, facts: FrameFacts) -> None:
        self.cv2.imshow(self.title, self.draw.image(facts))
        if self.cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop.set()

    def close(self) -> list[str]:
        self.cv2.destroyWindow(self.title)
        return []


class EventLog(Output):
    """Every event in the log (-v), and the run's events for --summary."""

    def __init__(self, camera: str, keep: int) -> None:
        self.camera = camera
        # Kept for the run's --summary only: a camera that runs for months without one keeps none.
        self.kept: deque[Event] = deque(maxlen=keep)

    def events(self, events: list[Event]) -> None:
        self.kept.extend(events)
        for e in events:
            log.info("%s: event %s at %.1f s %s", self.camera, e.type, e.video_s, e.data)

    def summary(self) -> dict[str, Any]:
        return {"events": [e.to_json(self.camera) for e in self.kept]}


class SegmentationShares(Output):
    """Each class's share of the frame, summed over the segmented frames: their mean for the summary."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.frames = 0

    def frame(self, facts: FrameFacts) -> None:
        if facts.output.segmentation is None:
            return
        self.frames += 1
        for name, share in facts.output.segmentation.shares.items():
            self.sums[name] = self.sums.get(name, 0.0) + share

    def summary(self) -> dict[str, Any]:
        return {"segmentation": {k: round(v / self.frames, 4) for k, v in self.sums.items()}} if self.frames else {}


class StateFileOutput(Output):
    """Saves the day's totals every few seconds and at the end, so a restart carries on (statefile.py)."""

    def __init__(self, save, every_s: float = 10.0) -> None:
        self.save = save
        self.every_s = every_s
        self._last: float | None = None

    def frame(self, facts: FrameFacts) -> None:
        now = facts.frame.captured_at
        if self._last is None:
            self._last = now
        elif now - self._last >= self.every_s:
            self._last = now
            self.save()

    def close(self) -> list[str]:
        self.save()
        return []


class ProgressOutput(Output):
    """A progress bar on a terminal, for one file."""

    def __init__(self, total: int | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="frame", desc="edgewatch", file=sys.stderr, leave=False)

    def frame(self, facts: FrameFacts) -> None:
        self.bar.update(1)

    def close(self) -> list[str]:
        self.bar.close()
        return []
