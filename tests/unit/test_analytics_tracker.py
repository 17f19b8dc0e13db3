"""Tracker: ids survive misses and crossings, are not stolen, and time is in video seconds."""

from __future__ import annotations

import numpy as np
import pytest

from cfghelp import analytics, only, painted  # noqa: F401
from edgewatch.analytics import Analytics
from edgewatch.analytics.kalman import BoxKalman
from edgewatch.analytics.tracker import Tracker, iou_matrix
from edgewatch.config import validate
from edgewatch.types import Detection, Frame, FrameFacts, ModelOutput

W, H = 768, 432
IMG = np.zeros((H, W, 3), np.uint8)


def out(i: int, t: float, dets: list[Detection], image: np.ndarray = IMG) -> ModelOutput:
    return ModelOutput(frame=Frame(i, t, 0.0, image), infer_ms=1.0, detections=dets)


def box_at(cx: float, cy: float, w: float = 60, h: float = 180) -> tuple[float, float, float, float]:
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def run(a: Analytics, frames: list[list[Detection]], fps: float = 10.0, t0: float = 0.0,
        images: list[np.ndarray] | None = None) -> list[FrameFacts]:
    return [a.update(out(i, t0 + i / fps, dets, images[i] if images else IMG)) for i, dets in enumerate(frames)]


def ids_of(facts: FrameFacts) -> dict[int, tuple[float, ...]]:
    return {t.id: t.box for t in facts.tracks}


def test_iou_matrix_values() -> None:
    m = iou_matrix([(0, 0, 10, 10)], [(0, 0, 10, 10), (5, 0, 15, 10), (20, 20, 30, 30)])
    assert m.shape == (1, 3)
    assert m[0, 0] == pytest.approx(1.0)
    assert m[0, 1] == pytest.approx(50 / 150)
    assert m[0, 2] == 0.0


def test_kalman_speed_is_per_second_whatever_the_fps() -> None:
    for fps in (5.0, 25.0):
        kf = BoxKalman(box_at(100, 200))
        for i in range(1, int(3 * fps)):
            kf.predict(1 / fps)
            kf.update(box_at(100 + 80 * i / fps, 200))  # 80 px per second
        assert kf.velocity[0] == pytest.approx(80, abs=8), fps


def test_kalman_runs_the_textbook_filter() -> None:
    """BoxKalman runs four 2x2 filters side by side; the same steps through the 8x8 matrix form (x = F x,
    P = F P F' + Q; K = P H' S^-1) give the same boxes and speeds."""
    from edgewatch.analytics import kalman as k

    def noise(h: float, dt: float) -> np.ndarray:
        return np.diag([(k._PROC_POS_STD * h) ** 2] * 4 + [(k._PROC_VEL_STD * h) ** 2] * 4) * dt

    first = box_at(100, 200)
    kf = BoxKalman(first)
    x = np.concatenate([k.box_to_z(first), np.zeros(4)])
    P = np.diag([(k._MEAS_STD * x[3]) ** 2] * 4 + [(k._INIT_VEL_STD * x[3]) ** 2] * 4)
    H = np.hstack([np.eye(4), np.zeros((4, 4))])
    rng = np.random.default_rng(7)
    for i in range(40):
        dt, lost = float(rng.uniform(0.03, 0.4)), i % 7 == 3
        kf.predict(dt, lost=lost)
        if lost:
            x[6:] = 0.0
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        x, P = F @ x, F @ P @ F.T + noise(max(x[3], 1.0), dt)
        if not lost:
            box = box_at(100 + 6 * i + rng.normal(0, 3), 200 + rng.normal(0, 3), 60 + rng.normal(0, 2), 180 + 2 * i)
            kf.update(box)
            z = k.box_to_z(box)
            S = H @ P @ H.T + np.eye(4) * (k._MEAS_STD * z[3]) ** 2
            K = P @ H.T @ np.linalg.inv(S)
            x, P = x + K @ (z - H @ x), (np.eye(8) - K @ H) @ P
        assert kf.box == pytest.approx(k.z_to_box(x), abs=1e-6), i
        assert kf.velocity == pytest.approx((x[4], x[5]), abs=1e-6), i


@pytest.mark.parametrize("occluded", [False, True])
def test_two_people_crossing_keep_their_ids(occluded: bool) -> None:
    a = analytics(validate({}), (W, H))
    frames = []
    for i in range(50):  # A walks right (nearer, bigger), B walks left; they overlap mid-way
        ax, bx = 150 + 10 * i, 650 - 10 * i
        dets = [Detection(box_at(ax, 250, 70, 200), 0.9), Detection(box_at(bx, 230, 55, 160), 0.85)]
        if occluded and abs(ax - bx) < 80:
            dets = dets[:1]  # B is hidden behind A: only the prediction can carry B across
        frames.append(dets)
    facts = run(a, frames)
    first = ids_of(facts[5])
    a_id = min(first, key=lambda k: first[k][0])  # leftmost at the start is A
    b_id = max(first, key=lambda k: first[k][0])
    for f in facts[5:]:
        ids = ids_of(f)
        assert set(ids) == {a_id, b_id}
        assert ids[a_id][3] - ids[a_id][1] == pytest.approx(200)  # A's track always holds A's box
    end = ids_of(facts[-1])
    assert end[a_id][0] > end[b_id][0]  # A ended on the right
    assert facts[-1].total == 2


def test_standing_person_missed_for_five_frames_keeps_id_and_counts_once() -> None:
    a = analytics(validate({}), (W, H))
    rng = np.random.default_rng(1)
    frames = []
    for i in range(60):
        jitter = rng.normal(0, 2, 4)
        box = tuple(float(v) for v in np.add(box_at(400, 230), jitter))
        frames.append([] if 20 <= i < 25 else [Detection(box, 0.8)])
    facts = run(a, frames)
    assert facts[22].in_frame == 1  # briefly lost still counts as in the frame
    assert {t.id for f in facts[3:] for t in f.tracks} == {1}
    assert facts[-1].total == 1
    assert [e.type for f in facts for e in f.events] == ["person_enter"]


def test_low_score_boxes_continue_a_track_but_never_start_one() -> None:
    cfg = validate({"model": {"threshold": 0.6}, "tracker": {"low_threshold": 0.3}})
    a = analytics(cfg, (W, H))
    frames = [[Detection(box_at(400, 230), 0.9)]] * 5 + [[Detection(box_at(400, 230), 0.4)]] * 40
    frames = [f + [Detection(box_at(150, 230), 0.4)] for f in frames]  # a weak box that is nobody
    facts = run(a, frames)
    assert facts[-1].total == 1
    assert [t.id for t in facts[-1].tracks] == [1]
    assert facts[-1].tracks[0].score == pytest.approx(0.4)  # still fed by the weak boxes after 4 s


@pytest.mark.parametrize("low_match_iou, jumps", [(None, False), (0.2, True)])
def test_a_weak_box_half_on_a_neighbour_does_not_take_a_missed_person(low_match_iou, jumps) -> None:
    """A person walking is missed for a frame; beside where they should be, a weak box of someone half
    hidden (IoU 0.33 with the prediction). It must not pull the track over (tracker.low_match_iou, 0.5)."""
    extra = {} if low_match_iou is None else {"low_match_iou": low_match_iou}
    a = analytics(validate({"model": {"threshold": 0.6}, "tracker": {"low_threshold": 0.3, **extra}}), (W, H))
    weak = box_at(300 + 6 * 6 + 30, 230)
    frames = [[Detection(box_at(300 + 6 * i, 230), 0.9)] if i != 6 else [Detection(weak, 0.4)] for i in range(10)]
    facts = run(a, frames)
    (track,) = facts[6].tracks
    assert (track.box == weak) is jumps
    assert facts[-1].total == 1 and [t.id for t in facts[-1].tracks] == [1]


def test_single_frame_false_positive_is_not_a_person() -> None:
    a = analytics(validate({"tracker": {"min_hits": 3}}), (W, H))
    frames = [[], [Detection(box_at(300, 200), 0.95)], [], [Detection(box_at(300, 200), 0.95)], [Detection(box_at(300, 200), 0.95)], []]
    facts = run(a, frames)
    assert facts[-1].total == 0
    facts = run(a, [[Detection(box_at(300, 200), 0.95)]] * 3, t0=1.0)
    assert facts[-1].total == 1  # three in a row do


def test_lost_timeout_is_in_video_seconds_not_frames() -> None:
    cfg = validate({"tracker": {"max_lost_s": 1.0}})
    for fps in (5.0, 30.0):
        a = analytics(cfg, (W, H))
        seen = [Detection(box_at(400, 230), 0.9)]
        n = int(2 * fps)
        short_gap = [seen] * n + [[]] * int(0.8 * fps) + [seen] * n  # 0.8 s gap: same person
        facts = run(a, short_gap, fps=fps)
        assert facts[-1].total == 1, fps
        long_gap = [[]] * int(1.5 * fps) + [seen] * n  # 1.5 s gap: left and a new one came
        facts = run(a, long_gap, fps=fps, t0=facts[-1].frame.video_s + 1 / fps)
        assert facts[-1].total == 2, fps


def test_person_walking_in_where_another_walked_out_gets_a_new_id() -> None:
    a = analytics(validate({"tracker": {"max_lost_s": 3.0}}), (W, H))
    frames = [[Detection(box_at(300 - 15 * i, 230), 0.9)] for i in range(19)]  # walks out at the left
    frames += [[]] * 5  # 0.5 s later, well within max_lost_s ...
    frames += [[Detection(box_at(25 + 15 * i, 230), 0.9)] for i in range(20)]  # ... someone walks in there
    facts = run(a, frames)
    assert facts[-1].total == 2
    assert [t.id for t in facts[-1].tracks] == [2]
    leave = [e for f in facts for e in f.events if e.type == "person_leave"]
    assert len(leave) == 1 and leave[0].data["track_id"] == 1


def test_tracker_reset_returns_confirmed_tracks() -> None:
    cfg = validate({})
    tr = Tracker(only(cfg).tracker, cfg.model.threshold, (W, H))
    both = [Detection(box_at(300, 200), 0.9), Detection(box_at(600, 200), 0.9)]
    for i in range(4):
        tr.update(both if i < 3 else both[:1], i / 10)  # both confirmed, then one lost
    assert len(tr.reset()) == 2
    assert tr.update([], 1.0).active == []


def test_person_who_stops_and_is_then_missed_keeps_id() -> None:
    # The filter still believes they walk at 150 px/s, so its prediction slides away from where
    # they stand; the lost track must still be found where it was last seen.
    a = analytics(validate({}), (W, H))
    frames = [[Detection(box_at(100 + 15 * i, 230), 0.9)] for i in range(20)]  # stops at x=385
    frames += [[]] * 20  # missed for 2 s
    frames += [[Detection(box_at(385, 230), 0.9)]] * 10
    facts = run(a, frames)
    assert facts[-1].total == 1
    assert [t.id for t in facts[-1].tracks] == [1]


def test_passer_by_keeps_their_id_where_a_lost_person_stood() -> None:
    # A stands at x=400 and is missed from 2 s on; B walks through that very spot 1 s later.
    # B is being tracked, so B's track takes B's box even where it matches A's last box exactly.
    a = analytics(validate({"tracker": {"max_lost_s": 3.0}}), (W, H))
    frames, b_boxes = [], []
    for i in range(60):
        dets = [Detection(box_at(400, 230), 0.9)] if i < 20 else []
        bx = 400 + 12 * (30 - i) + (0 if i == 30 else 6 if i % 2 else -6)  # uneven steps; x=400 at 3 s
        b_boxes.append(box_at(bx, 230) if i >= 5 and 40 < bx < 728 else None)
        frames.append(dets + ([Detection(b_boxes[-1], 0.9)] if b_boxes[-1] else []))
    facts = run(a, frames)
    for i, (f, b_box) in enumerate(zip(facts, b_boxes, strict=True)):
        if b_box is not None and i >= 10:
            assert ids_of(f).get(2) == b_box, f"frame {i}: B's box went to another track"
    assert facts[-1].total == 2


def test_person_who_stops_near_the_border_and_is_missed_is_not_taken_for_gone() -> None:
    # Walking right, stopping 40 px from the border: the filter's leftover speed must fade while
    # they are unseen, or their predicted centre runs out of the frame and they count twice.
    a = analytics(validate({"tracker": {"max_lost_s": 3.0}}), (W, H))
    frames = [[Detection(box_at(400 + 15 * i, 230), 0.9)] for i in range(20)]  # stops at x=685
    frames += [[]] * 20  # missed for 2 s
    frames += [[Detection(box_at(685, 230), 0.9)]] * 10
    facts = run(a, frames)
    assert facts[-1].total == 1
    assert [t.id for t in facts[-1].tracks] == [1]


def test_a_slow_camera_keeps_ids_between_detections() -> None:
    """Detected every 2 s (detect.fps 0.5): a track seen at the last detection is not stale, whatever the gap."""
    a = analytics(validate({"tracker": {"min_hits": 1}}), (W, H))
    facts = [a.update(ModelOutput(Frame(i, 2.0 * i, 0.0, IMG), 1.0, detections=[Detection(box_at(100 + 40 * i, 230), 0.9)]))
             for i in range(8)]
    assert facts[-1].total == 1 and [t.id for t in facts[-1].tracks] == [1]


@pytest.mark.parametrize("colour", [True, False])
def test_a_new_persons_box_stays_theirs_when_the_person_beside_them_is_hidden(colour: bool) -> None:
    """B steps in just ahead of A, then A goes behind B: B's box is B's (a new, still tentative track), not
    taken by A's confirmed track because A's prediction overlaps it; A keeps their id when seen again.
    By motion alone, and with colour where they wear different clothes. (Dressed alike, colour leans
    to the track seen before: test_analytics_reid's test of a track with no view yet.)"""
    a = analytics(validate({"tracker": {"colour": colour}}), (W, H))
    frames, b_boxes, images = [], [], []
    for i in range(25):
        a_box = box_at(150 + 10 * i, 250, 70, 200)
        b_box = box_at(280 - 2 * (i - 10), 250, 70, 200) if i >= 10 else None
        dets = [Detection(a_box, 0.9)] if not (11 <= i <= 16) else []  # A hidden behind B
        frames.append(dets + ([Detection(b_box, 0.9)] if b_box else []))
        b_boxes.append(b_box)
        images.append(painted(IMG, (a_box, (40, 40, 200)), (b_box, (200, 90, 30))) if colour else IMG)
    facts = run(a, frames, images=images)
    a_id = next(iter(ids_of(facts[5])))
    for i in range(12, 17):
        ids = ids_of(facts[i])
        b_ids = [k for k, box in ids.items() if box == b_boxes[i]]
        assert b_ids and b_ids[0] != a_id, f"frame {i}: B's box went to A's track"
    assert a_id in ids_of(facts[20]) and ids_of(facts[20])[a_id] == box_at(150 + 10 * 20, 250, 70, 200)
    assert facts[-1].total == 2


def test_a_second_box_around_a_tracked_person_is_not_another_person() -> None:
    """Some detectors (pedestrian-detection-adas-0002 on the course video) add a bigger box around a person
    for a few frames: same feet, one box inside the other. It must not start a track of its own."""
    a = analytics(validate({}), (W, H))
    person = (300, 100, 360, 300)
    frames = [[Detection(person, 0.9)] + ([Detection((280, 60, 385, 302), 0.95)] if 10 <= i < 15 else [])
              for i in range(30)]
    facts = run(a, frames)
    assert facts[-1].total == 1
    assert all(len(f.tracks) == 1 for f in facts[3:])


def test_frames_held_for_people_standing_still_keep_them_and_let_a_missed_person_leave() -> None:
    """The motion gate saw motion only where people stand still: they count as seen meanwhile, while a
    person the detector already missed ages as usual and leaves after max_lost_s."""
    stander, walker = box_at(200, 250), lambda i: box_at(500 + 5 * i, 250)
    for standing in (True, False):
        a = analytics(validate({"tracker": {"max_lost_s": 1.0}}), (W, H))
        facts = run(a, [[Detection(stander, 0.9), Detection(walker(i), 0.9)] for i in range(8)])
        ids = {box[0] < 300: pid for pid, box in ids_of(facts[-1]).items()}
        a.update(out(8, 0.8, [Detection(stander, 0.9)]))  # the walker is missed from here on
        assert a.standing_boxes() == [stander]
        for i in range(9, 40):  # 3 s held, all but the stander's gestures still
            a.hold(ModelOutput(Frame(i, i / 10, 0.0, IMG), 0.0, detections=[], held=True), standing=standing)
        facts = a.update(out(40, 4.0, []))  # and now the detector misses the stander once
        left = {e.data["track_id"] for e in facts.events if e.type == "person_leave"}
        if standing:
            assert left == {ids[False]} and list(ids_of(facts)) == [ids[True]]
        else:  # held for the rate (people may be walking): both were lost for 3 s
            assert left == {ids[False], ids[True]}


def test_match_with_an_unpaired_price_refuses_a_dear_pair_and_pairs_what_is_left() -> None:
    """Most pairs first, A (row 0) would take the dear box y so that B can have x; with a price for
    leaving a row or column unpaired, A keeps the cheap x and B stays unpaired. A pair dearer than the
    price with nothing else wanting either side is still made (the second pass)."""
    from edgewatch.analytics.association import match

    iou = np.array([[0.8, 0.3], [0.5, 0.0]])
    cost = np.array([[0.1, 1.9], [0.5, 1.0]])
    assert sorted(match(iou, 0.2, cost)) == [(0, 1), (1, 0)]
    assert match(iou, 0.2, cost, unpaired=1.2) == [(0, 0)]
    assert match(np.array([[0.3]]), 0.2, np.array([[1.9]]), unpaired=1.2) == [(0, 0)]
    assert match(np.array([[0.1]]), 0.2, np.array([[0.1]]), unpaired=1.2) == []  # under min_iou: never


def _matchings(allowed: np.ndarray, rows: list[int], cols: list[int]) -> list[list[tuple[int, int]]]:
    """Every one-to-one set of allowed pairs between `rows` and `cols` (the empty one included)."""
    if not rows:
        return [[]]
    r, rest = rows[0], rows[1:]
    out = _matchings(allowed, rest, cols)
    for k in cols:
        if allowed[r, k]:
            out += [[(r, k)] + m for m in _matchings(allowed, rest, [c for c in cols if c != k])]
    return out


def test_match_with_an_unpaired_price_is_the_best_by_enumeration() -> None:
    """On random small problems, match() with a price gives what enumerating every matching gives: first
    the pairs of least cost + price x (unpaired rows + columns) / 2, then among what is left the most
    pairs, the cheapest of those."""
    from edgewatch.analytics.association import match

    rng = np.random.default_rng(7)
    for _ in range(300):
        n, m = rng.integers(1, 5, size=2)
        iou = rng.uniform(0, 1, (n, m)) * (rng.uniform(0, 1, (n, m)) < 0.7)
        cost = 1.0 - iou + rng.uniform(0, 1.5, (n, m))
        price = float(rng.uniform(0.5, 2.0))
        allowed = iou >= 0.2
        first = min(_matchings(allowed, list(range(n)), list(range(m))),
                    key=lambda ps: sum(cost[p] for p in ps) + price * (n + m - 2 * len(ps)) / 2)
        left_r = [r for r in range(n) if r not in {r for r, _ in first}]
        left_c = [k for k in range(m) if k not in {k for _, k in first}]
        second = min(_matchings(allowed, left_r, left_c), key=lambda ps: (-len(ps), sum(cost[p] for p in ps)))
        assert sorted(match(iou, 0.2, cost, unpaired=price)) == sorted(first + second)


@pytest.mark.parametrize("price", [None, 1.2, "default"])
def test_with_an_unpaired_price_a_track_keeps_its_person_when_a_hidden_ones_track_wants_their_box(price) -> None:
    """L (blue) stands still and A (red) walks past, hiding them for five frames, while P (green) steps out
    half in front of A. When L is seen again, pairing as many as it can (unpaired_cost: null) swaps A's and
    L's tracks; with tracker.unpaired_cost (1.5 by default) A's track keeps A. The unique total is the same
    three either way."""
    red, blue, green = (40, 40, 200), (200, 90, 30), (40, 200, 40)
    a = analytics(validate({} if price == "default" else {"tracker": {"unpaired_cost": price}}), (W, H))
    a_boxes, frames, images = [], [], []
    for i in range(16):
        a_box, l_box = box_at(200 + 10 * i, 250, 70, 200), box_at(300, 250, 70, 200)
        p_box = box_at(260 + 10 * (i - 10), 250, 70, 200) if i >= 10 else None
        l_box = l_box if not 8 <= i < 13 else None  # hidden behind A
        dets = [Detection(box, 0.9) for box in (a_box, l_box, p_box) if box is not None]
        frames.append(dets)
        images.append(painted(IMG, (a_box, red), (l_box, blue), (p_box, green)))
        a_boxes.append(a_box)
    facts = run(a, frames, images=images)
    a_id = next(k for k, box in ids_of(facts[5]).items() if box == a_boxes[5])
    kept = all(ids_of(facts[i]).get(a_id) == a_boxes[i] for i in range(10, 15))
    assert kept == (price is not None)
    assert facts[-1].total == 3


def test_with_an_unpaired_price_a_track_born_on_a_box_a_track_refused_is_not_a_new_person() -> None:
    """T (red) stands at x=300, S (red too, a little bluer) at x=360. Then S is missed, a red box stands
    at 330 and a green one where T stood. Pairing as many as it can, T would take the green box and S the
    red one; with the price T takes the red box, S stays unpaired, and the green box starts a track that
    the old rule would not have started: it gets a person id but is not counted again in the unique
    total (TrackState.new_person). A box nobody wanted starts a new person as ever."""
    from edgewatch.analytics.tracker import Tracker
    from edgewatch.config import TrackerConfig

    red, green = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    reddish = np.array([1.0, 0.0, 0.3]) / np.hypot(1.0, 0.3)

    def box(cx: float) -> tuple[float, float, float, float]:
        return (cx - 35, 120, cx + 35, 320)

    def looks(boxes):  # where each box stands says what it looks like
        return [green if b == box(300) and late else reddish if b == box(360) else red for b in boxes]

    tracker = Tracker(TrackerConfig(appearance_weight=2.0, unpaired_cost=1.2), 0.5, (W, H))
    late = False
    for i in range(10):
        tracker.update([Detection(box(300), 0.9), Detection(box(360), 0.9)], i / 10, looks)
    t, s = sorted(tracker.active(), key=lambda tr: tr.box[0])
    t.add_view(red, 0.9)
    s.add_view(reddish, 0.9)
    late = True
    confirmed = []
    for i in range(10, 14):
        step = tracker.update([Detection(box(300), 0.9), Detection(box(330), 0.9), Detection(box(600), 0.9)],
                              i / 10, looks)
        confirmed += step.confirmed
        if i == 10:
            assert t.box == box(330) and not s.visible
    born = {tr.box[0] + 35: tr.new_person for tr in confirmed}
    assert born == {300: False, 600: True}
