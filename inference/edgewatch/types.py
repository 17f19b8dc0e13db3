"""Typed records that flow between the stages: source -> model -> analytics -> publishers."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
Point = tuple[float, float]


@dataclass(frozen=True)
class Frame:
    """One decoded picture. `video_s` is the position in the source (seconds of video),
    `captured_at` the wall-clock time it was read (for capture->publish latency)."""

    index: int
    video_s: float
    captured_at: float
    image: np.ndarray  # u8 BGR HWC, untouched from OpenCV
    # The model's input made from `image` in the decode thread (the model family's own pre-processing),
    # so the worker's one Python thread only hands it to OpenVINO; None when no model needs it.
    tensor: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True)
class SourceStatus:
    """A change in the source's health (camera lost / restored), emitted between frames."""

    state: str  # "lost" | "restored" | "ended"
    detail: str
    video_s: float
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float
    label: int = 1


@dataclass(frozen=True)
class Segmentation:
    class_map: np.ndarray  # (H, W) uint8 class index at model resolution
    shares: dict[str, float]  # class name -> share of pixels (0..1), present classes only


@dataclass(frozen=True)
class Classification:
    top: list[tuple[str, float]]  # (class name, probability), best first


@dataclass(frozen=True)
class ModelOutput:
    """What a model adapter made of one frame. Exactly one of the payload fields is set."""

    frame: Frame
    infer_ms: float
    detections: list[Detection] | None = None
    segmentation: Segmentation | None = None
    classification: Classification | None = None
    held: bool = False  # the detector skipped this frame (detect.fps, motion gate): tracks are held


@dataclass
class Track:
    """A tracked person as analytics sees it after this frame."""

    id: int
    box: Box
    score: float
    enter_s: float  # video seconds when first detected (not when confirmed min_hits frames later)
    last_seen_s: float
    enter_side: str | None = None  # "left" | "right" | "top" | "bottom" | None (appeared inside)
    exit_s: float | None = None
    exit_side: str | None = None

    @property
    def duration_s(self) -> float:
        end = self.exit_s if self.exit_s is not None else self.last_seen_s
        return max(0.0, end - self.enter_s)

    def to_summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "enter_s": round(self.enter_s, 2),
            "exit_s": None if self.exit_s is None else round(self.exit_s, 2),
            "duration_s": round(self.duration_s, 2),
            "enter_side": self.enter_side,
            "exit_side": self.exit_side,
        }


@dataclass(frozen=True)
class Event:
    """Something that happened. `id` is unique so consumers can de-duplicate redeliveries."""

    type: str  # person_enter, person_leave, line_cross, zone_enter, zone_leave, alert, class_begin, class_end, source_lost, source_restored
    video_s: float
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self, camera: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera": camera,
            "type": self.type,
            "ts": round(self.at, 3),
            "video_s": round(self.video_s, 2),
            **self.data,
        }


@dataclass
class LineCount:
    name: str
    in_count: int = 0
    out_count: int = 0


@dataclass
class ZoneState:
    name: str
    occupancy: int = 0
    entered: int = 0
    max_dwell_s: float = 0.0


@dataclass
class FrameFacts:
    """Everything analytics knows after one frame; publishers only read it."""

    output: ModelOutput
    tracks: list[Track]  # people in frame now (confirmed tracks)
    in_frame: int
    total: int  # unique people so far
    avg_duration_s: float  # over people who have left
    lines: list[LineCount]
    zones: list[ZoneState]
    events: list[Event]
    # People confirmed in this frame, where they were seen before it: (person id, video s, box, score).
    first_steps: list[tuple[int, float, Box, float]] = field(default_factory=list)
    # Video time from which earlier frames may still gain first steps (a track not confirmed yet).
    unsettled_since: float | None = None

    @property
    def frame(self) -> Frame:
        return self.output.frame
