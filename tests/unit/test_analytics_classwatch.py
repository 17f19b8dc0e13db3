"""Classification watch: begin/end of the watched class, debounced."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import analytics, only  # noqa: F401
from edgewatch.analytics.classwatch import ClassWatch
from edgewatch.config import validate
from edgewatch.types import Classification, Frame, ModelOutput

IMG = np.zeros((8, 8, 3), np.uint8)


def cls(top: str) -> Classification:
    other = "cat" if top == "dog" else "dog"
    return Classification(top=[(top, 0.8), (other, 0.2)])


def test_begin_and_end_with_flicker_ignored() -> None:
    a = analytics(validate({"model": {"watch_class": "dog", "adapter": "classification"}}), (8, 8))
    seq = ["cat"] * 5 + ["dog"] + ["cat"] * 3 + ["dog"] * 10 + ["cat"] + ["dog"] * 5 + ["cat"] * 6
    facts = [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, classification=cls(c))) for i, c in enumerate(seq)]
    events = [e for f in facts for e in f.events]
    assert [(e.type, e.data["class"]) for e in events] == [("class_begin", "dog"), ("class_end", "dog")]
    begin, end = events
    assert begin.video_s == pytest.approx(0.9) and begin.data["score"] == pytest.approx(0.8)  # the run started at frame 9
    assert end.video_s == pytest.approx(2.5) and end.data["score"] == pytest.approx(0.2)  # dog's score when it dropped
    assert all(f.tracks == [] and f.in_frame == 0 for f in facts)


def test_open_class_ends_at_finish() -> None:
    w = ClassWatch("dog", hold_frames=2)
    assert w.update(cls("dog"), 0.0) == []
    assert [e.type for e in w.update(cls("dog"), 0.1)] == ["class_begin"]
    end = w.finish(5.0)
    assert [(e.type, e.video_s) for e in end] == [("class_end", 5.0)]
    assert w.finish(6.0) == []
