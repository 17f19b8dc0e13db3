"""Counting lines: each crossing counts once, in its direction, whatever the jitter on the line."""

from __future__ import annotations

import numpy as np

from cfghelp import analytics, only, painted  # noqa: F401
from edgewatch.analytics import Analytics
from edgewatch.analytics.lines import CountingLine
from edgewatch.config import LineConfig, validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)
DOOR = {"name": "door", "points": [[384, 0], [384, 432]]}  # vertical, A at the top, B at the bottom


def feet_box(x: float, y: float = 380.0) -> tuple[float, float, float, float]:
    """A 60x180 box whose bottom-centre (the point lines use) is (x, y)."""
    return (x - 30, y - 180, x + 30, y)


def run(a: Analytics, xs: list[float]) -> list:
    return [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[Detection(feet_box(x), 0.9)])) for i, x in enumerate(xs)]


def jittery_walk(x0: float, x1: float, seed: int) -> list[float]:
    """Walk from x0 to x1, dawdling on the line at 384 with +-6 px jitter for 2 s."""
    rng = np.random.default_rng(seed)
    xs = list(np.linspace(x0, 384, 20))
    xs += list(384 + rng.uniform(-6, 6, 20))
    xs += list(np.linspace(384, x1, 20))
    return [float(x) for x in xs]


def test_left_of_a_to_b_is_in() -> None:
    # A->B points down the screen; its left (as seen on screen) is the right half of the frame.
    line = CountingLine(LineConfig(**DOOR), band=5)
    assert line.update(7, feet_box(300, 200), 0.0) is None
    ev = line.update(7, feet_box(460, 200), 0.1)
    assert ev is not None and ev.data == {"track_id": 7, "line": "door", "direction": "in"}
    assert line.update(7, feet_box(300, 200), 0.2).data["direction"] == "out"


def test_crossing_both_ways_with_jitter_counts_once_each() -> None:
    a = analytics(validate({"lines": [DOOR]}), (W, H))
    facts = run(a, jittery_walk(150, 620, seed=1) + jittery_walk(620, 150, seed=2))
    crossings = [e.data for f in facts for e in f.events if e.type == "line_cross"]
    assert crossings == [{"track_id": 1, "line": "door", "direction": "in"},
                         {"track_id": 1, "line": "door", "direction": "out"}]
    assert (facts[-1].lines[0].in_count, facts[-1].lines[0].out_count) == (1, 1)
    assert a.summary()["lines"] == {"door": {"in": 1, "out": 1}}


def test_passing_beyond_the_segment_does_not_count() -> None:
    short = {"name": "gate", "points": [[384, 0], [384, 200]]}  # feet walk at y=380, below B
    a = analytics(validate({"lines": [short]}), (W, H))
    facts = run(a, [float(x) for x in np.linspace(150, 620, 30)])
    assert facts[-1].lines[0].in_count == 0 and facts[-1].lines[0].out_count == 0


def test_line_uses_the_feet_not_the_centre() -> None:
    floor_line = {"name": "floor", "points": [[0, 300], [768, 300]]}  # horizontal, at y=300
    a = analytics(validate({"lines": [floor_line]}), (W, H))
    # box centre stays above the line (y 190..290) while the feet go from 280 to 380
    facts = [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=[Detection(feet_box(300, y), 0.9)]))
             for i, y in enumerate(np.linspace(280, 380, 20))]
    assert facts[-1].lines[0].in_count + facts[-1].lines[0].out_count == 1


def _lost_and_new(x_again: float, looks: list[np.ndarray] | None = None) -> list:
    """A person walks towards the door, is lost for 1.6 s (longer than tracker.stale_s: no track takes
    them back) and is next detected at x_again, walking on: a new track. `looks`: with re-id, how the
    one before and the one after look."""
    if looks is None:
        a = analytics(validate({"lines": [DOOR]}), (W, H))
    else:
        # Re-id alone (tracker.colour off): in these blank pictures colour views would call anyone alike.
        cfg = validate({"lines": [DOOR], "model": {"reid": {"reentry": False}}, "tracker": {"colour": False}})
        a = Analytics(only(cfg), cfg.model, (W, H), embed=lambda frame, boxes: [look[0] for _ in boxes])
    look = [None]
    frames = [[Detection(feet_box(x), 0.9)] for x in np.linspace(200, 340, 8)]
    frames += [[] for _ in range(15)]
    frames += [[Detection(feet_box(x), 0.9)] for x in np.linspace(x_again, x_again + 150, 8)]
    facts = []
    for i, d in enumerate(frames):
        if looks is not None:
            look[0] = looks[0] if i < 8 else looks[1]
        facts.append(a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=d)))
    return facts


def test_a_crossing_counts_when_the_track_broke_off_on_the_way() -> None:
    # Lost 44 px before the line, found again 36 px past it: the new track starts from the lost one's side.
    facts = _lost_and_new(420)
    crossings = [e.data for f in facts for e in f.events if e.type == "line_cross"]
    assert crossings == [{"track_id": 2, "line": "door", "direction": "in"}]
    assert facts[-1].total == 2  # still two tracks to the people count: only the line's side is handed over


def test_a_new_track_far_from_anyone_lost_does_not_count_a_crossing() -> None:
    # Found again more than a person's height away: nothing says it is the same person.
    facts = _lost_and_new(560)
    assert (facts[-1].lines[0].in_count, facts[-1].lines[0].out_count) == (0, 0)


def test_with_reid_a_new_track_that_looks_like_someone_else_does_not_take_over_the_side() -> None:
    # Where the lost person would be, but not them (similarity under tracker.appearance_min): a person
    # who stood past the door all along is not counted as crossing it.
    rng = np.random.default_rng(3)
    alice, bob = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 256)))
    them = _lost_and_new(420, [alice, alice])[-1].lines[0]
    other = _lost_and_new(420, [alice, bob])[-1].lines[0]
    assert (them.in_count, them.out_count) == (1, 0)
    assert (other.in_count, other.out_count) == (0, 0)


def test_a_lost_track_whose_side_went_to_someone_keeps_no_one_from_the_next_lost_one() -> None:
    # Two people walk one behind the other towards the door and are both lost for 1.2 s; past the door a
    # new track appears where the first was lost and takes its side, then a second one at the same spot:
    # the first lost track, nearest but with no side left, must not stand in for the second one.
    a = analytics(validate({"lines": [DOOR]}), (W, H))
    frames = [[Detection(feet_box(x), 0.9), Detection(feet_box(x - 80), 0.9)] for x in np.linspace(200, 340, 8)]
    frames += [[] for _ in range(12)]
    frames += [[Detection(feet_box(420 + 20 * i), 0.9)] + ([Detection(feet_box(420 + 20 * (i - 3)), 0.9)] if i >= 3 else [])
               for i in range(10)]
    facts = [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=d)) for i, d in enumerate(frames)]
    crossings = [e.data["direction"] for f in facts for e in f.events if e.type == "line_cross"]
    assert crossings == ["in", "in"]


def _glimpsed_then_tracked(x_glimpse: float) -> list:
    """A person is detected twice at x_glimpse (too few frames for a track to hold: tracker.min_hits is
    3), then hidden for 0.8 s, then detected every frame walking on from 420 past the door."""
    a = analytics(validate({"lines": [DOOR]}), (W, H))
    frames = [[Detection(feet_box(x_glimpse + 10 * i), 0.9)] for i in range(2)]
    frames += [[] for _ in range(8)]
    frames += [[Detection(feet_box(x), 0.9)] for x in np.linspace(420, 560, 8)]
    facts = [a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=d)) for i, d in enumerate(frames)]
    return [e.data["direction"] for f in facts for e in f.events if e.type == "line_cross"]


def test_a_person_glimpsed_before_a_group_hid_them_counts_from_where_they_were_glimpsed() -> None:
    # Glimpsed 70 px before the door, tracked from 36 px past it: they crossed while hidden.
    assert _glimpsed_then_tracked(340) == ["in"]
    # Glimpsed past the door already (or far away: nothing says it was them): no crossing.
    assert _glimpsed_then_tracked(400) == []
    assert _glimpsed_then_tracked(150) == []


def _two_lost_one_found(colour: bool) -> list[str]:
    """Alice (all in red) walks to the door from the left, Bob (a red shirt over blue trousers: alike
    enough to pass tracker.appearance_min) from the right; both are lost for 1.2 s, Bob nearer where a
    new track then appears just past the door, all in red, walking on: Alice. Returns the crossings."""
    a = analytics(validate({"lines": [DOOR], "tracker": {"colour": colour}}), (W, H))
    red, blue = (40, 40, 200), (200, 90, 30)
    frames = [[(feet_box(x), red, red), (feet_box(x2), red, blue)]
              for x, x2 in zip(np.linspace(200, 350, 8), np.linspace(560, 430, 8), strict=True)]
    frames += [[] for _ in range(12)]
    frames += [[(feet_box(x), red, red)] for x in np.linspace(400, 540, 10)]
    facts = []
    for i, people in enumerate(frames):
        facts.append(a.update(ModelOutput(Frame(i, i / 10, 0.0, painted(IMG, *people)), 1.0,
                                          detections=[Detection(box, 0.9) for box, _, _ in people])))
    return [e.data["direction"] for f in facts for e in f.events if e.type == "line_cross"]


def test_of_two_lost_tracks_within_reach_the_new_one_takes_the_side_of_the_one_it_looks_like() -> None:
    # Motion alone hands it the nearest lost track's side (Bob's, past the door already): no crossing.
    assert _two_lost_one_found(colour=True) == ["in"]
    assert _two_lost_one_found(colour=False) == []
