"""Zones: occupancy, entries, dwell per person."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import analytics, only  # noqa: F401
from edgewatch.config import validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)
TABLE = {"name": "table", "polygon": [[300, 300], [500, 300], [500, 420], [300, 420]]}


def feet_box(x: float, y: float) -> tuple[float, float, float, float]:
    return (x - 30, y - 180, x + 30, y)


def test_zone_enter_dwell_leave() -> None:
    a = analytics(validate({"zones": [TABLE]}), (W, H))
    rng = np.random.default_rng(3)
    path = [(100 + 10 * i, 350) for i in range(30)]  # walks in from the left, reaches x=300 at 2.0 s
    path += [(400 + rng.uniform(-3, 3), 350) for _ in range(50)]  # stands at the table for 5 s
    path += [(400 + 15 * i, 350) for i in range(1, 20)]  # walks out to the right
    facts = [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[Detection(feet_box(x, y), 0.9)]))
             for i, (x, y) in enumerate(path)]
    events = [e for f in facts for e in f.events if e.type.startswith("zone_")]
    assert [e.type for e in events] == ["zone_enter", "zone_leave"]
    enter, leave = events
    assert enter.data == {"track_id": 1, "zone": "table"} and enter.video_s == pytest.approx(2.0)
    assert leave.data["zone"] == "table"
    assert leave.data["dwell_s"] == pytest.approx(6.6)  # 2.0 s .. 8.6 s, last frame inside (x=505 is within the 8.8 px band)
    assert facts[40].zones[0].occupancy == 1
    assert facts[-1].zones[0].occupancy == 0 and facts[-1].zones[0].entered == 1
    assert facts[-1].zones[0].max_dwell_s == pytest.approx(leave.data["dwell_s"])


def test_person_lost_in_zone_leaves_it_when_last_seen() -> None:
    a = analytics(validate({"zones": [TABLE], "tracker": {"max_lost_s": 1.0}}), (W, H))
    for i in range(30):  # stands in the zone 3 s, then the detector never sees them again
        a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[Detection(feet_box(400, 350), 0.9)]))
    events = []
    for i in range(30, 50):
        f = a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[]))
        if i == 35:
            assert f.zones[0].occupancy == 1  # briefly lost: still there
        events += f.events
    leave = [e for e in events if e.type == "zone_leave"]
    assert len(leave) == 1 and leave[0].video_s == pytest.approx(2.9) and leave[0].data["dwell_s"] == pytest.approx(2.9)
    assert a.summary()["zones"] == {"table": {"occupancy": 0, "entered": 1, "max_dwell_s": 2.9}}


def test_two_people_in_zone_occupancy_two() -> None:
    a = analytics(validate({"zones": [TABLE]}), (W, H))
    for i in range(10):
        dets = [Detection(feet_box(x, 350), 0.9) for x in (340, 460, 650)]  # two at the table, one beside it
        f = a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=dets))
    assert f.zones[0].occupancy == 2 and f.zones[0].entered == 2 and f.in_frame == 3
