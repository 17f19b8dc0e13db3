"""People counting: totals, durations, sides, enter/leave events."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import analytics, only  # noqa: F401
from edgewatch.analytics import Analytics
from edgewatch.analytics.geometry import border_side
from edgewatch.config import validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)


def box_at(cx: float, cy: float, w: float = 60, h: float = 180) -> tuple[float, float, float, float]:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def feed(a: Analytics, frames: list[list[Detection]], fps: float = 10.0, t0: float = 0.0) -> list:
    return [a.update(ModelOutput(Frame(i, t0 + i / fps, 0.0, IMG), 1.0, detections=d)) for i, d in enumerate(frames)]


def walk(x0: float, x1: float, steps: int, y: float = 230) -> list[list[Detection]]:
    return [[Detection(box_at(x0 + (x1 - x0) * i / (steps - 1), y), 0.9)] for i in range(steps)]


def test_border_side() -> None:
    size, m = (W, H), 0.04
    assert border_side((2, 100, 60, 300), size, m) == "left"
    assert border_side((700, 100, 767, 300), size, m) == "right"
    assert border_side((300, 1, 360, 100), size, m) == "top"
    assert border_side((300, 300, 360, 431), size, m) == "bottom"
    assert border_side((300, 100, 360, 300), size, m) is None
    assert border_side((5, 0, 80, 432), size, m) == "left"  # full-height box: top/bottom say nothing


def test_sides_durations_and_events_of_a_walk_through() -> None:
    a = analytics(validate({}), (W, H))
    facts = feed(a, walk(20, 748, 50))  # enters at the left, 4.9 s later leaves at the right
    facts += feed(a, [[]] * 10, t0=5.0)
    events = [e for f in facts for e in f.events]
    assert [e.type for e in events] == ["person_enter", "person_leave"]
    enter, leave = events
    assert enter.data == {"track_id": 1, "side": "left"} and enter.video_s == pytest.approx(0.0)
    assert leave.data["side"] == "right" and leave.data["track_id"] == 1
    assert leave.video_s == pytest.approx(4.9)  # last seen, not when the timeout ran out
    assert leave.data["duration_s"] == pytest.approx(4.9)
    assert facts[-1].in_frame == 0 and facts[-1].total == 1
    assert facts[-1].avg_duration_s == pytest.approx(4.9)


def test_person_appearing_and_vanishing_mid_frame_has_no_side() -> None:
    a = analytics(validate({"tracker": {"max_lost_s": 1.0}}), (W, H))
    feed(a, [[Detection(box_at(380, 220), 0.9)]] * 20)
    summary = a.summary()
    assert summary["tracks"][0]["enter_side"] is None
    events = feed(a, [[]] * 15, t0=2.0)
    leave = [e for f in events for e in f.events]
    assert leave[0].type == "person_leave" and leave[0].data["side"] is None


def test_average_duration_counts_only_people_who_left_and_finish_closes_the_rest() -> None:
    a = analytics(validate({"tracker": {"max_lost_s": 1.0}}), (W, H))
    # person 1 stays 2 s then vanishes; person 2 arrives at 1 s and is still there at the end
    frames = [[Detection(box_at(200, 220), 0.9)] if i < 21 else [] for i in range(60)]
    frames = [f + ([Detection(box_at(550, 220), 0.9)] if i >= 10 else []) for i, f in enumerate(frames)]
    facts = feed(a, frames)
    assert facts[-1].total == 2 and facts[-1].in_frame == 1
    assert facts[-1].avg_duration_s == pytest.approx(2.0)
    closing = a.finish(video_s=6.0)
    assert [e.type for e in closing] == ["person_leave"]
    assert closing[0].data["track_id"] == 2 and closing[0].video_s == pytest.approx(5.9)
    assert closing[0].data["duration_s"] == pytest.approx(4.9)
    s = a.summary()
    assert s["total"] == 2 and s["avg_duration_s"] == pytest.approx((2.0 + 4.9) / 2)
    assert [t["exit_s"] for t in s["tracks"]] == [pytest.approx(2.0), pytest.approx(5.9)]


def test_frame_facts_tracks_are_copies() -> None:
    a = analytics(validate({}), (W, H))
    facts = feed(a, walk(100, 400, 10))
    assert facts[4].tracks[0].box != facts[9].tracks[0].box
