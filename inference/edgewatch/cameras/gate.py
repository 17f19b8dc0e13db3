"""Whether the shared detector runs on a camera's frame: at most detect.fps a second, and with
detect.motion only when something moved (as Frigate checks motion before its detector), yet at
least every detect.idle_s. Frames it skips are shown with the tracks held.

With detect.ignore_standing, motion inside the box of a person tracked standing still (a gesture at a
counter) does not count either, as Frigate leaves stationary objects to a periodic check: someone
walking off moves out of their box at once, and idle_s re-checks them meanwhile."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import NamedTuple

import cv2
import numpy as np

from ..config import DetectConfig
from ..sources import too_soon
from ..types import Box, Frame

MOTION_HEIGHT = 90  # rows of the grey copy the motion check compares: cheap, and blind to sensor noise


class Decision(Enum):
    DETECT = "detect"
    RATE = "rate"  # skipped to keep detect.fps; people may be moving meanwhile
    STILL = "still"  # skipped because nothing moved
    STANDING = "standing"  # skipped because only people standing still moved, where they stand


class Motion(NamedTuple):
    """Shares of the picture that changed: anywhere, and outside the boxes left out."""

    anywhere: float
    outside: float


class MotionCheck:
    """Share of a small, blurred grey copy that differs from a slowly updated background."""

    def __init__(self, threshold: int, alpha: float = 0.2) -> None:
        self.threshold = threshold
        self.alpha = alpha
        self._background: np.ndarray | None = None

    def measure(self, image: np.ndarray, left_out: Sequence[Box] = ()) -> Motion:
        h, w = image.shape[:2]
        # Linear, not area: 0.03 ms against 0.8 ms for 768x432 (the blur below does the smoothing).
        small = cv2.resize(image, (max(1, round(w * MOTION_HEIGHT / h)), MOTION_HEIGHT), interpolation=cv2.INTER_LINEAR)
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0).astype(np.float32)
        if self._background is None or self._background.shape != grey.shape:
            self._background = grey
            return Motion(1.0, 1.0)
        moved = cv2.absdiff(grey, self._background) > self.threshold
        cv2.accumulateWeighted(grey, self._background, self.alpha)
        anywhere = float(np.count_nonzero(moved)) / moved.size
        if not left_out or anywhere == 0.0:
            return Motion(anywhere, anywhere)
        k = MOTION_HEIGHT / h  # the grey copy's scale, the same on both axes
        for x1, y1, x2, y2 in left_out:
            moved[max(0, int(y1 * k)):max(0, int(y2 * k) + 1), max(0, int(x1 * k)):max(0, int(x2 * k) + 1)] = False
        return Motion(anywhere, float(np.count_nonzero(moved)) / moved.size)


class DetectGate:
    def __init__(self, cfg: DetectConfig) -> None:
        self.cfg = cfg
        self.motion = MotionCheck(cfg.motion_threshold) if cfg.motion else None
        self._last_s: float | None = None  # video time of the last detection
        self._moved = False  # motion seen since the last detection (a frame skipped for the rate may have it)
        self._stirred = False  # ... or only where people stand still
        self.frames = 0
        self.skipped = 0

    def decide(self, frame: Frame, standing: Callable[[], Sequence[Box]] = tuple) -> Decision:
        """`standing` gives the boxes of the people tracked standing still; asked only when the motion
        check leaves them out (detect.motion with detect.ignore_standing)."""
        self.frames += 1
        left_out = standing() if self.motion is not None and self.cfg.ignore_standing else ()
        decision = self._decide(frame.video_s, frame.image, left_out)
        if decision is Decision.DETECT:
            self._last_s = frame.video_s
        else:
            self.skipped += 1
        return decision

    def _decide(self, t: float, image: np.ndarray, standing: Sequence[Box]) -> Decision:
        # The motion background follows every frame, detected or not.
        if self.motion is None:
            self._moved = True
        else:
            motion = self.motion.measure(image, standing)
            self._moved |= motion.outside >= self.cfg.motion_area
            self._stirred |= motion.anywhere >= self.cfg.motion_area
        last = self._last_s
        if last is None or t < last:  # the first frame, or a looped file started again
            return self._detect()
        if too_soon(last, t, self.cfg.fps):
            return Decision.RATE
        if not self._moved and t - last < self.cfg.idle_s:
            return Decision.STANDING if self._stirred else Decision.STILL
        return self._detect()

    def _detect(self) -> Decision:
        self._moved = self._stirred = False
        return Decision.DETECT
