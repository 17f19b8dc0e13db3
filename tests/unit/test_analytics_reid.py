"""Re-identification: someone back within model.reid.max_gap_s keeps their id and is counted once."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import only
from edgewatch.analytics import Analytics
from edgewatch.analytics.reid import ReidGallery
from edgewatch.config import ReidConfig, validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)
RNG = np.random.default_rng(7)
ALICE = RNG.normal(size=256)
BOB = RNG.normal(size=256)  # independent random 256-d vectors: cosine near 0


def noisy(v: np.ndarray) -> np.ndarray:
    e = v + RNG.normal(scale=0.3, size=v.shape)  # a different view of the same person
    return e / np.linalg.norm(e)


class Views:
    """Stands in for the re-id model (tests/unit/test_worker_models.py runs the real one): whoever is in
    view, from a slightly different angle at each look; counts the boxes it was asked about."""

    def __init__(self) -> None:
        self.who = ALICE
        self.boxes = 0

    def __call__(self, frame: Frame, boxes: list) -> list[np.ndarray]:
        self.boxes += len(boxes)
        return [noisy(self.who) for _ in boxes]


def visit(a: Analytics, who: np.ndarray, t0: float, frames: int = 20, views: Views | None = None) -> list:
    """Someone stands mid-frame for `frames` frames at 10 fps, then nothing for 4 s (> max_lost_s); `views`:
    the re-id stand-in, shown who it is."""
    if views is not None:
        views.who = who
    facts = []
    for i in range(frames + 40):
        t = t0 + i / 10
        dets = [Detection((350, 120, 410, 320), 0.9)] if i < frames else []
        facts.append(a.update(ModelOutput(Frame(i, t, 0.0, IMG), 1.0, detections=dets)))
    return facts


def config(reid: bool, max_gap_s: float = 30.0):
    data = {"tracker": {"max_lost_s": 3.0}}
    if reid:
        data["model"] = {"reid": {"max_gap_s": max_gap_s, "threshold": 0.6}}
    return validate(data)


def analytics(cfg, size, views: Views | None = None) -> Analytics:
    """With model.reid, `views` stands in for its model (colour views beside it, tracker.colour: all alike in
    these blank pictures, so re-id tells people apart here)."""
    return Analytics(only(cfg), cfg.model, size, embed=views)


def test_leaving_and_coming_back_counts_twice_without_reid() -> None:
    a = analytics(config(reid=False), (W, H))
    visit(a, ALICE, 0.0)
    facts = visit(a, ALICE, 10.0)
    assert facts[-1].total == 2
    assert [t["id"] for t in a.summary()["tracks"]] == [1, 2]


def test_leaving_and_coming_back_counts_once_with_reid() -> None:
    views = Views()
    a = analytics(config(reid=True), (W, H), views)
    visit(a, ALICE, 0.0, views=views)
    facts = visit(a, ALICE, 10.0, views=views)
    assert facts[-1].total == 1
    enters = [e.data["track_id"] for f in facts for e in f.events if e.type == "person_enter"]
    assert enters == [1]  # the returning person got id 1 back
    s = a.summary()
    assert [t["id"] for t in s["tracks"]] == [1]
    assert s["tracks"][0]["exit_s"] == pytest.approx(11.9)  # closed again at the second departure


def test_someone_else_gets_a_new_id_with_reid() -> None:
    views = Views()
    a = analytics(config(reid=True), (W, H), views)
    visit(a, ALICE, 0.0, views=views)
    facts = visit(a, BOB, 10.0, views=views)
    assert facts[-1].total == 2


def test_coming_back_after_max_gap_counts_again() -> None:
    views = Views()
    a = analytics(config(reid=True, max_gap_s=5.0), (W, H), views)
    visit(a, ALICE, 0.0, views=views)  # last seen at 1.9 s
    facts = visit(a, ALICE, 10.0, views=views)  # back 8 s later
    assert facts[-1].total == 2


def test_gallery_picks_best_match_and_forgets_it() -> None:
    g = ReidGallery(ReidConfig(max_gap_s=10.0, threshold=0.6))
    g.add(1, ALICE, left_s=0.0)
    g.add(2, BOB, left_s=1.0)
    g.add(3, None, left_s=1.0)  # no embedding: cannot be recognised
    assert len(g) == 2
    assert g.match(noisy(BOB), now_s=5.0) == 2
    assert g.match(noisy(BOB), now_s=5.0) is None  # taken: one person cannot come back twice
    assert g.match(noisy(ALICE), now_s=10.5) is None  # too late
    assert len(g) == 0


def test_reid_looks_only_where_identity_is_in_question() -> None:
    """Not every detection of every frame: a track when it is confirmed, then one view every refresh_s."""
    views = Views()
    a = analytics(config(reid=True), (W, H), views)
    visit(a, ALICE, 0.0, frames=20, views=views)  # 2 s in view: confirmed at 0.2 s, no refresh due before 2.2 s
    assert views.boxes == 1
    visit(a, BOB, 10.0, frames=50, views=views)  # 5 s: confirmed at 10.2 s, refreshed at 12.2 and 14.2 s
    assert views.boxes == 1 + 3


def test_a_track_with_no_view_yet_does_not_win_a_conflict_for_want_of_one() -> None:
    """A (seen, looks like Alice) and B (new, tentative, no view yet) could both take one box that
    looks like Alice, B's by a better overlap: appearance settles it for A. Leaving B out of the
    appearance cost made B a perfect look-alike, who took every such box from the track seen before."""
    from edgewatch.analytics.tracker import Tracker
    from edgewatch.config import TrackerConfig

    def box(cx: float) -> tuple[float, float, float, float]:
        return (cx - 35, 120, cx + 35, 320)

    tracker = Tracker(TrackerConfig(appearance_weight=2.0), 0.5, (W, H))  # as appearance.tracker_config gives with re-id
    looks = lambda boxes: [noisy(ALICE) for _ in boxes]  # noqa: E731 - whoever is asked about looks like Alice
    for i in range(10):  # A stands at x=300 and is confirmed
        tracker.update([Detection(box(300), 0.9)], i / 10, looks)
    a = tracker.active()[0]
    a.add_view(ALICE, 0.9)
    tracker.update([Detection(box(300), 0.9), Detection(box(340), 0.9)], 1.0, looks)  # B steps in
    step = tracker.update([Detection(box(328), 0.9)], 1.1, looks)  # one box, nearer B's than A's
    assert a.visible and a.box == box(328)
    assert [t.key for t in step.active] == [a.key]


def test_appearance_iou_sets_how_much_overlap_puts_a_box_in_question() -> None:
    """Two people walk side by side, each box overlapping the other's track at IoU 0.3: with the default
    (match_iou, 0.2) both boxes are embedded every frame; with appearance_iou 0.35 only when a track is
    confirmed or due a refresh. Motion alone keeps them apart here either way."""
    embedded = {}
    for appearance_iou in (None, 0.35):
        cfg = validate({"model": {"reid": {"threshold": 0.6}}, "tracker": {"appearance_iou": appearance_iou}})
        views = Views()
        a = analytics(cfg, (W, H), views)
        for i in range(30):
            x = 200 + 5 * i
            dets = [Detection((x, 120, x + 70, 320), 0.9), Detection((x + 38, 110, x + 108, 310), 0.9)]
            facts = a.update(ModelOutput(Frame(i, i / 10, 0.0, IMG), 1.0, detections=dets))
            if i >= 3:
                assert sorted(t.id for t in facts.tracks) == [1, 2]
        embedded[appearance_iou] = views.boxes
    assert embedded[None] >= 2 * 25 and embedded[0.35] <= 4, embedded
