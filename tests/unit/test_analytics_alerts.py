"""Alerts fire once per occurrence: crowding re-arms when it eases, long stays fire once per person."""

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
