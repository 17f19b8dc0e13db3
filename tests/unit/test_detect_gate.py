"""The detect gate: at most detect.fps, only on motion, at least every idle_s; with ignore_standing, motion
where a person stands still does not run the detector, motion anywhere else does."""

from __future__ import annotations

import numpy as np

from edgewatch.cameras.gate import Decision, DetectGate, MotionCheck
from edgewatch.config import DetectConfig
from edgewatch.types import Frame

W, H = 768, 432
PERSON = (300.0, 100.0, 380.0, 330.0)  # a person standing still at the counter


def picture(*patches: tuple[float, float, float, float]) -> np.ndarray:
    """A grey room with a bright square in each patch (something that moved there)."""
    img = np.full((H, W, 3), 90, np.uint8)
    for x1, y1, x2, y2 in patches:
        img[int(y1):int(y2), int(x1):int(x2)] = 250
    return img


def frame(i: int, img: np.ndarray, fps: float = 10.0) -> Frame:
    return Frame(i, i / fps, 0.0, img)


HAND = (320.0, 180.0, 360.0, 220.0)  # inside PERSON: a gesture
DOOR = (600.0, 150.0, 640.0, 190.0)  # someone arriving at the door


def test_motion_inside_the_left_out_boxes_counts_only_as_motion_anywhere() -> None:
    check = MotionCheck(threshold=25)
    check.measure(picture())  # the empty room is the background
    hand = check.measure(picture(HAND), [PERSON])
    assert hand.anywhere > 0.002 and hand.outside == 0.0
    check = MotionCheck(threshold=25)
    check.measure(picture())
    door = check.measure(picture(DOOR), [PERSON])
    assert door.outside == door.anywhere > 0.002


def _gate(**cfg) -> DetectGate:
    gate = DetectGate(DetectConfig(motion=True, idle_s=2.0, **cfg))
    assert gate.decide(frame(0, picture()), lambda: [PERSON]) is Decision.DETECT  # the first frame is always detected
    return gate


def test_a_gesture_where_someone_stands_still_skips_the_detector_and_someone_arriving_runs_it() -> None:
    gate = _gate()
    assert gate.decide(frame(1, picture()), lambda: [PERSON]) is Decision.STILL
    assert gate.decide(frame(2, picture(HAND)), lambda: [PERSON]) is Decision.STANDING
    assert gate.decide(frame(3, picture(HAND, DOOR)), lambda: [PERSON]) is Decision.DETECT
    # Without people standing there, the same gesture is motion like any other.
    gate = _gate()
    assert gate.decide(frame(1, picture(HAND)), list) is Decision.DETECT


def test_with_ignore_standing_off_every_motion_runs_the_detector() -> None:
    gate = _gate(ignore_standing=False)
    assert gate.decide(frame(1, picture(HAND)), lambda: [PERSON]) is Decision.DETECT


def test_people_standing_still_are_rechecked_every_idle_s() -> None:
    gate = _gate()
    decisions = []
    for i in range(1, 25):  # 2.4 s of gestures, each frame different from the last
        decisions.append(gate.decide(frame(i, picture(HAND) if i % 2 else picture()), lambda: [PERSON]))
    assert decisions.count(Decision.DETECT) == 1 and decisions[19] is Decision.DETECT  # at 2.0 s
    assert set(decisions) == {Decision.STANDING, Decision.DETECT}
