"""Alerts fire once per occurrence: crowding re-arms when it eases, long stays once per stay."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import analytics, only  # noqa: F401
from edgewatch.config import validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)


def person(i: int) -> Detection:
    x = 80 + 120 * i  # people standing side by side, well apart
    return Detection((x, 100, x + 60, 300), 0.9)


def crowd(counts: list[int]) -> list[ModelOutput]:
    return [ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[person(k) for k in range(n)]) for i, n in enumerate(counts)]


def alerts(facts: list) -> list:
    return [e for f in facts for e in f.events if e.type == "alert"]


def test_max_people_fires_once_and_rearms() -> None:
    a = analytics(validate({"alerts": {"max_people": 2}, "tracker": {"max_lost_s": 0.5}}), (W, H))
    # 2 people, a third joins for 3 s, leaves, comes back (new id) for 2 s
    counts = [2] * 20 + [3] * 30 + [2] * 20 + [3] * 20
    facts = [a.update(o) for o in crowd(counts)]
    fired = alerts(facts)
    assert [e.data for e in fired] == [{"rule": "max_people", "value": 3, "limit": 2}] * 2
    # confirmed min_hits (3) frames after they appear, re-armed after the third person's track ended
    assert [e.video_s for e in fired] == [pytest.approx(2.2), pytest.approx(7.2)]


def test_max_dwell_fires_once_per_person() -> None:
    a = analytics(validate({"alerts": {"max_dwell_s": 2.0}}), (W, H))
    counts = [1] * 10 + [2] * 40  # person 1 from 0 s, person 2 from 1 s; both there until 4.9 s
    facts = [a.update(o) for o in crowd(counts)]
    fired = alerts(facts)
    assert [(e.data["rule"], e.data["track_id"], e.data["limit"]) for e in fired] == [("max_dwell", 1, 2.0), ("max_dwell", 2, 2.0)]
    assert fired[0].video_s == pytest.approx(2.1) and fired[0].data["value"] == pytest.approx(2.1)
    assert fired[1].video_s == pytest.approx(3.1)


def test_no_rules_no_alerts() -> None:
    a = analytics(validate({}), (W, H))
    assert alerts([a.update(o) for o in crowd([5] * 50)]) == []


def test_a_zones_own_alerts_fire_once_and_rearm() -> None:
    from edgewatch.analytics.zones import Zone
    from edgewatch.config import ZoneConfig

    zone = Zone(ZoneConfig(name="till", polygon=[[0, 0], [400, 0], [400, 400], [0, 400]], max_people=1,
                           max_dwell_s=2.0), band=5)
    inside, outside = (100, 10, 160, 200), (600, 10, 660, 200)  # feet at y=200 inside / at x=630 outside
    fired = []
    for i in range(60):  # 6 s: person 1 stays inside; person 2 in from 1 s to 2 s, then again from 4 s
        t = i / 10
        zone.update(1, inside, t)
        zone.update(2, inside if 1 <= t < 2 or t >= 4 else outside, t)
        fired += zone.alerts(t)
    crowd = [e.data for e in fired if e.data["rule"] == "max_people"]
    assert crowd == [{"rule": "max_people", "value": 2, "limit": 1, "zone": "till"}] * 2  # re-armed in between
    dwell = [e.data for e in fired if e.data["rule"] == "max_dwell"]
    assert [(d["track_id"], d["zone"]) for d in dwell] == [(1, "till")]  # person 2 never stays 2 s
    assert dwell[0]["value"] > 2.0 and dwell[0]["limit"] == 2.0


def test_a_zone_redrawn_while_running_keeps_what_its_alerts_fired() -> None:
    """The UI's editor replaces a zone (same name, other shape or limits): an alert that fired before
    does not fire again for the same crowding or the same visit; a lower limit fires at once."""
    from edgewatch.analytics.zones import ZoneWatcher
    from edgewatch.config import ZoneConfig

    def till(max_people: int, x2: int = 400) -> ZoneConfig:
        return ZoneConfig(name="till", polygon=[[0, 0], [x2, 0], [x2, 400], [0, 400]], max_people=max_people,
                          max_dwell_s=1.0)

    watcher = ZoneWatcher([till(1)], (W, H))
    boxes = {1: (100, 10, 160, 200), 2: (200, 10, 260, 200), 3: (300, 10, 360, 200)}
    fired = []
    for i in range(15):  # 1.5 s: two inside, then a third from 1 s
        t = i / 10
        watcher.update({k: b for k, b in boxes.items() if k < 3 or t >= 1.0}, t)
        fired += watcher.alerts(t)
    assert [(e.data["rule"], e.data.get("track_id")) for e in fired] == \
        [("max_people", None), ("max_dwell", 1), ("max_dwell", 2)]
    watcher.replace([till(1, x2=420)])  # reshaped: same crowding, same visits
    assert watcher.alerts(1.5) == []
    watcher.replace([till(3, x2=420)])  # limit raised: not crowded, re-armed
    assert watcher.alerts(1.6) == []
    watcher.replace([till(2, x2=420)])  # lowered below the three inside: fires
    assert [e.data for e in watcher.alerts(1.7)] == [{"rule": "max_people", "value": 3, "limit": 2, "zone": "till"}]
