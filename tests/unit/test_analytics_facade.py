"""The Analytics facade: non-detection outputs, clock jumps, summary, snapshot/restore."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cfghelp import analytics, only  # noqa: F401
from edgewatch.analytics import Analytics
from edgewatch.config import validate
from edgewatch.errors import EdgewatchError
from edgewatch.types import Detection, Frame, ModelOutput, Segmentation

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)
CFG = {"lines": [{"name": "door", "points": [[384, 0], [384, 432]]}],
       "zones": [{"name": "table", "polygon": [[300, 250], [500, 250], [500, 420], [300, 420]]}],
       "tracker": {"max_lost_s": 1.0}}


def walk_through(a: Analytics, t0: float, frames: int = 60) -> list:
    """Someone walks left to right across the door line and the table zone (feet at y=350)."""
    facts = []
    for i in range(frames):
        x = 40 + 11 * i
        facts.append(a.update(ModelOutput(Frame(i, t0 + i / 10, 0.0, IMG), 1.0, detections=[Detection((x - 30, 170, x + 30, 350), 0.9)])))
    return facts


def test_segmentation_output_has_no_people() -> None:
    a = analytics(validate({}), (W, H))
    seg = Segmentation(class_map=np.zeros((4, 4), np.uint8), shares={"road": 1.0})
    f = a.update(ModelOutput(Frame(0, 0.0, 0.0, IMG), 1.0, segmentation=seg))
    assert f.tracks == [] and f.in_frame == 0 and f.total == 0 and f.events == []


def test_summary_shape() -> None:
    a = analytics(validate(CFG), (W, H))
    walk_through(a, 0.0)
    a.finish(6.0)
    s = a.summary()
    assert set(s) == {"total", "avg_duration_s", "tracks", "lines", "zones"}
    assert s["total"] == 1 and s["lines"] == {"door": {"in": 1, "out": 0}}
    assert s["zones"]["table"]["entered"] == 1 and s["zones"]["table"]["occupancy"] == 0
    assert s["tracks"][0]["enter_side"] == "left" and s["tracks"][0]["duration_s"] == pytest.approx(5.9)
    json.dumps(s)


def test_snapshot_restore_keeps_the_days_totals() -> None:
    a = analytics(validate(CFG), (W, H))
    walk_through(a, 0.0)
    a.finish(6.0)
    snap = json.loads(json.dumps(a.snapshot()))  # goes through a JSON file in real use

    b = analytics(validate(CFG), (W, H))  # the restarted worker
    b.restore(snap)
    facts = walk_through(b, 0.0)
    assert facts[-1].total == 2
    assert [t.id for t in facts[-1].tracks] == [2]  # ids carry on, no clash with the earlier person
    assert facts[-1].lines[0].in_count == 2
    assert facts[-1].zones[0].entered == 2
    b.finish(6.0)
    s = b.summary()
    assert [t["id"] for t in s["tracks"]] == [1, 2] and s["avg_duration_s"] == pytest.approx(5.9)


def test_restore_rejects_a_malformed_snapshot() -> None:
    a = analytics(validate(CFG), (W, H))
    with pytest.raises(EdgewatchError, match="analytics state: malformed snapshot"):
        a.restore({"version": 1, "people": {"total": 3}})
    with pytest.raises(EdgewatchError, match="unsupported version"):
        a.restore({"version": 99})


def test_clock_going_back_closes_everyone_and_keeps_counting() -> None:
    a = analytics(validate(CFG), (W, H))
    first = walk_through(a, 0.0, frames=30)  # the file loops while someone is mid-frame
    assert first[-1].in_frame == 1
    second = walk_through(a, 0.0, frames=30)
    jump = second[0].events
    assert [e.type for e in jump] == ["zone_leave", "person_leave"]
    assert jump[1].video_s == pytest.approx(2.9) and jump[1].data["duration_s"] == pytest.approx(2.9)
    assert second[-1].total == 2
    assert all(t["duration_s"] >= 0 for t in a.summary()["tracks"])


def test_frame_size_must_be_positive() -> None:
    with pytest.raises(EdgewatchError, match="frame size"):
        analytics(validate({}), (0, 432))


def test_snapshot_taken_while_someone_is_in_frame_keeps_total_and_people_in_step() -> None:
    a = analytics(validate(CFG), (W, H))
    walk_through(a, 0.0, frames=30)  # still in the frame when the periodic snapshot is taken
    snap = json.loads(json.dumps(a.snapshot()))
    assert snap["people"]["total"] == 1 and len(snap["people"]["finished"]) == 1
    assert snap["people"]["finished"][0]["exit_s"] == pytest.approx(2.9)
    b = analytics(validate(CFG), (W, H))
    b.restore(snap)
    assert b.summary()["total"] == 1 and b.summary()["avg_duration_s"] == pytest.approx(2.9)


def test_every_event_matches_the_mqtt_event_schema() -> None:
    import jsonschema

    from edgewatch.schemas import load_schema
    from edgewatch.types import Classification

    cfg = validate({**CFG, "alerts": {"max_people": 0, "max_dwell_s": 1.0}, "model": {"watch_class": "dog"}})
    a = analytics(cfg, (W, H))
    events = [e for f in walk_through(a, 0.0) for e in f.events] + a.finish(6.0)
    for i, top in enumerate(["dog"] * 3 + ["cat"] * 3):
        out = ModelOutput(Frame(i, 7 + i / 10, 0.0, IMG), 1.0, classification=Classification([(top, 0.9), ("x", 0.1)]))
        events += a.update(out).events
    events += a.finish(8.0)
    kinds = {e.type for e in events} | {e.data.get("rule") for e in events if e.type == "alert"}
    assert kinds >= {"person_enter", "person_leave", "line_cross", "zone_enter", "zone_leave", "alert",
                     "max_people", "max_dwell", "class_begin", "class_end"}
    validator = jsonschema.Draft202012Validator(load_schema("event"))
    for seq, e in enumerate(events, 1):
        validator.validate({**e.to_json("cam1"), "seq": seq})


def test_new_day_returns_the_days_totals_and_starts_from_the_people_in_frame() -> None:
    a = analytics(validate(CFG), (W, H))
    walk_through(a, 0.0)  # person 1: through the door and the table zone
    for i in range(20):  # ... and gone (max_lost_s 1.0)
        a.update(ModelOutput(Frame(60 + i, 6.0 + i / 10, 0.0, IMG), 1.0, detections=[]))
    part = walk_through(a, 10.0, frames=28)  # person 2: in the table zone, not yet through the door, at midnight
    assert part[-1].in_frame == 1 and part[-1].zones[0].occupancy == 1

    before = a.summary()
    day = a.new_day()
    assert day == {k: v for k, v in before.items() if k != "tracks"}  # the summary of the day, less the people
    assert day["total"] == 2 and day["avg_duration_s"] == pytest.approx(5.9) and day["lines"] == {"door": {"in": 1, "out": 0}}
    assert day["zones"]["table"]["entered"] == 2 and day["zones"]["table"]["occupancy"] == 1
    s = a.summary()
    assert s["total"] == 1 and [t["id"] for t in s["tracks"]] == [2]  # person 1's record went with the day
    assert s["lines"]["door"] == {"in": 0, "out": 0} and s["zones"]["table"]["entered"] == 1
    # Person 2 walks on: the same person (not counted again), crossing the door on the new day.
    facts = [a.update(ModelOutput(Frame(100 + i, 10.0 + i / 10, 0.0, IMG), 1.0,
                                  detections=[Detection((40 + 11 * i - 30, 170, 40 + 11 * i + 30, 350), 0.9)]))
             for i in range(28, 60)]
    assert facts[-1].total == 1 and [t.id for t in facts[-1].tracks] == [2]
    assert facts[-1].lines[0].in_count == 1
