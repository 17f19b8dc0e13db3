"""Multi-object tracker: who is who from one frame to the next. ByteTrack's two-stage association,
with OC-SORT's direction consistency and appearance where motion is ambiguous (association.py).

Per frame:
1. every track's Kalman filter predicts where its box is now (step = video seconds since last frame);
2. high-score detections (>= model.threshold) are matched, in one assignment, to the confirmed tracks
   that were seen last frame or lost for at most tracker.stale_s, and to the tentative tracks (ByteTrack
   keeps them in one pool too: a new person's box is theirs, not the nearest confirmed track's whose
   person just went behind someone); cost = 1 - IoU with the prediction,
   plus tracker.direction_weight x how much the detection lies against the way the track has been
   walking (from its observed centres, OC-SORT), plus with appearance on (re-id embeddings, or colour
   views without re-id: analytics/colour.py) tracker.appearance_weight x
   (1 - cosine similarity) where two tracks could take a detection, a track has two candidates (at
   IoU >= tracker.appearance_iou, default match_iou), or a lost track is coming back (only those
   detections are embedded; a lost track is not found
   again by someone less similar than tracker.appearance_min; a track with no view yet counts as a
   borderline look-alike, so it neither wins nor loses a conflict for want of one). The assignment
   makes as many pairs as it can, the cheapest of those; with tracker.unpaired_cost a track and a box
   may instead stay unpaired at that price, so a visible track refuses a box that does not look like
   its person rather than take it to let a lost track take another (then what is left is paired as
   before);
3. low-score detections (>= tracker.low_threshold) may only continue confirmed tracks seen last frame,
   and only lying nearly where the track is predicted (IoU >= tracker.low_match_iou, as ByteTrack's
   second stage): a person whose score dips stays the same person, but weak boxes never revive a lost
   track or start a new one, nor pull a track onto a neighbour's half-hidden box;
4. a track lost for longer than tracker.stale_s is only found again nearly where it was last seen
   (a person standing still whom the detector missed), after everyone tracked has picked, so it can
   never take a tracked person's box;
5. leftover high-score detections continue tentative tracks not matched yet, or start new ones (not a
   second box around someone a track took this frame: association.doubles); a
   tentative track is confirmed after tracker.min_hits consecutive frames and dies at its first miss
   (kept a moment as a glimpse of where someone was: lost_near);
6. a confirmed track that is not seen is removed after tracker.max_lost_s video seconds - or at once
   if it was last seen at a border (tracker.edge_margin) and its predicted centre has left the frame
   (they walked out), so a new person walking in at the same border does not take over their track.

Measured on generated crowds against ByteTrack: bench/accuracy.py, docs/performance.md. Tracks carry
tracker-internal keys; the public person ids are handed out by counting.py when a track is confirmed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..config import TrackerConfig
from ..types import Box, Detection
from .association import Embedder, ambiguous, centres, direction_cost, doubles, iou_matrix, match
from .geometry import anchor, border_side
from .kalman import BoxKalman
from .reid import normalise as _normalise

__all__ = ["Tracker", "TrackState", "TrackerStep", "iou_matrix", "lost_near", "match"]

_STILL_IOU = 0.8  # a stale track is found again only by a box nearly where it was last seen (measured: 0.5-0.7
# let people walking through that spot take the id in a crowd)
_HANDOVER_S = 2.0  # lost_near: measured on the six crowd clips (1-3 s alike; a reach of 1.5 heights over-counts)
_EMB_MOMENTUM = 0.9  # running mean of appearance views: smooth over pose changes
_UNSEEN_SIM = 0.6  # a track without a view yet, in an appearance conflict: as alike as ReidConfig.threshold
# calls the same person. Left out of the appearance cost it was a perfect look-alike and won every
# conflict with a seen track (six crowd clips: worst IDF1 over ByteTrack +0.027 without, +0.031 with)


@dataclass
class TrackState:
    key: int  # tracker-internal; not the public person id
    kf: BoxKalman
    box: Box  # last detected box (what is drawn; the prediction is kf.box)
    score: float
    first_box: Box
    first_s: float
    last_seen_s: float
    predicted_s: float  # time the filter was last advanced to
    hits: int = 1
    confirmed: bool = False
    visible: bool = True  # detected in the latest frame
    # The last few observed centres (time, x, y): the way the person walks, from what was seen, not from
    # the filter (OC-SORT): a prediction drifting through an occlusion does not turn them around.
    seen_at: deque = field(default_factory=lambda: deque(maxlen=5))
    embedding: np.ndarray | None = None  # running mean of appearance views (re-id's: also for the gallery)
    embedded_s: float | None = None  # when the last view was added
    views: int = 0
    # (time, box, score) of each detection before confirmation, so lines, zones and the tracks file can
    # replay a person's first steps once they count; emptied after that.
    history: list[tuple[float, Box, float]] = field(default_factory=list)
    # When a new track took over this one's sides while it was lost (lost_near): it has none left to give
    # until it is seen again.
    succeeded_s: float | None = None
    # False for a track born on a box the most-pairs rule would have given a confirmed track (with
    # tracker.unpaired_cost): most likely someone already counted, so not counted again (counting.py).
    new_person: bool = True

    def see(self, det: Detection, t: float) -> None:
        self.kf.update(det.box)
        self.box, self.score, self.last_seen_s = det.box, det.score, t
        self.seen_at.append((t, (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2))
        self.hits += 1
        self.visible = True
        if not self.confirmed:
            self.history.append((t, det.box, det.score))

    def heading(self) -> np.ndarray | None:
        """Where the person has been walking (pixels, over the last observations); None if standing."""
        if len(self.seen_at) < 3:
            return None
        (_, x0, y0), (_, x1, y1) = self.seen_at[0], self.seen_at[-1]
        v = np.array([x1 - x0, y1 - y0])
        return v if np.hypot(*v) > 0.1 * (self.box[3] - self.box[1]) else None

    def add_view(self, emb: np.ndarray, t: float) -> None:
        """One appearance view (re-id embedding or colour view) of this track's current box."""
        self.views += 1
        self.embedded_s = t
        if self.embedding is None:
            self.embedding = _normalise(emb)
        else:  # a plain mean over the first views, then a running mean that follows the person
            m = min(_EMB_MOMENTUM, 1.0 - 1.0 / self.views)
            self.embedding = _normalise(m * self.embedding + (1.0 - m) * _normalise(emb))


def lost_near(new: TrackState, tracks: list[TrackState], frame_size: tuple[int, int], edge_margin: float,
              min_similarity: float | None = None, glimpses: list[TrackState] | None = None) -> TrackState | None:
    """Of `tracks`, the confirmed one lost now whose person a newly confirmed track may be: last seen at most
    _HANDOVER_S before the new one was first seen, its feet within one height of where the new one's were
    then (the nearest such, or with appearance on the likeliest: _nearest). None for a track born at the frame's border (someone walking in). With
    appearance on, not a lost track less alike than `min_similarity` (tracker.appearance_min, the bar for
    finding a lost track again): with re-id, on the crowd clips that refused a third of the hand-overs
    joining two people and about one in ten of the right ones (docs/performance.md). Not a lost track
    another new one has succeeded since it was lost: it has nothing left to hand over, and must not keep
    its sides from the lost track nearby that has. With no such track, the nearest of `glimpses` (TrackerStep.glimpses) by the same rules:
    someone seen there for a moment, the person themselves before a group hid them or, in a crowd more
    often, someone of the group they came out of, on the same side (on the crowd clips 11 of 38 glimpses
    taken were the same person, and per-crossing errors still fell: docs/performance.md). Line counting
    uses it so a person whose track broke off in a crowd, or never held before, still counts as crossing."""
    if border_side(new.first_box, frame_size, edge_margin) is not None:
        return None
    lost = [tr for tr in tracks if tr.confirmed and not tr.visible]
    return _nearest(new, lost, min_similarity) or _nearest(new, glimpses or [], min_similarity)


def _nearest(new: TrackState, candidates: list[TrackState], min_similarity: float | None) -> TrackState | None:
    """The candidate within reach nearest the new track's first feet, in body heights; with appearance
    on, less how alike they are (cosine): of two within reach, the likelier unless the other is much
    nearer (per-crossing errors on the eleven crowd clips 61 -> 57 with colour views, 48 with re-id)."""
    fx, fy = anchor(new.first_box)
    height = new.first_box[3] - new.first_box[1]
    best, best_score = None, np.inf
    for tr in candidates:
        if not 0 < new.first_s - tr.last_seen_s <= _HANDOVER_S:
            continue
        if tr.succeeded_s is not None and tr.succeeded_s >= tr.last_seen_s:
            continue
        x, y = anchor(tr.box)
        d = float(np.hypot(x - fx, y - fy)) / height
        if d > 1.0:
            continue
        score = d
        if min_similarity is not None:
            sim = _similarity(new, tr)
            if sim < min_similarity:
                continue
            score -= sim
        if score <= best_score:
            best, best_score = tr, score
    return best


def _similarity(a: TrackState, b: TrackState) -> float:
    """Cosine similarity of two tracks' appearance; 1.0 (no objection) when either has no view yet."""
    if a.embedding is None or b.embedding is None or a.embedding.size != b.embedding.size:
        return 1.0
    return float(a.embedding @ b.embedding)


@dataclass
class TrackerStep:
    """What changed in one frame."""

    active: list[TrackState]  # confirmed tracks still alive (visible or lost)
    confirmed: list[TrackState] = field(default_factory=list)  # confirmed in this frame
    removed: list[TrackState] = field(default_factory=list)  # confirmed tracks dropped in this frame
    refound: list[TrackState] = field(default_factory=list)  # confirmed tracks seen again after a gap
    # Tentative tracks dropped in the last _HANDOVER_S: where someone was seen for a moment before any
    # track of theirs held (lost_near).
    glimpses: list[TrackState] = field(default_factory=list)


class _Looks:
    """Appearance for one frame: detections embedded at most once, only when asked, all at once."""

    def __init__(self, detections: list[Detection], embed: Embedder | None) -> None:
        self.detections = detections
        self.embed = embed
        self.on = embed is not None
        self.cache: dict[int, np.ndarray] = {}
        self._overlaps: np.ndarray | None = None  # detections against each other, once a frame when asked

    def similarity(self, track_embs: list, det_idx: list[int], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cosine similarity of the chosen tracks and detections (NaN elsewhere)."""
        todo = [det_idx[c] for c in np.flatnonzero(cols) if det_idx[c] not in self.cache]
        if todo:
            for i, e in zip(todo, self.embed([self.detections[i].box for i in todo]), strict=True):
                self.cache[i] = e
        sim = np.full((len(track_embs), len(det_idx)), np.nan)
        rs, cs = np.flatnonzero(rows), np.flatnonzero(cols)
        dets = {c: self.cache[det_idx[c]] for c in cs}
        # One product per embedding size (a box too small for a view has a 1-long zero): only like compares
        # with like.
        for size in {e.size for e in dets.values()} & {track_embs[r].size for r in rs}:
            ti = [r for r in rs if track_embs[r].size == size]
            di = [c for c in cs if dets[c].size == size]
            sim[np.ix_(ti, di)] = np.stack([track_embs[r] for r in ti]) @ np.stack([dets[c] for c in di]).T
        return sim

    def learn(self, track: TrackState, det: int, t: float) -> None:
        """A view taken while matching joins the track's appearance only if nobody else overlaps the box
        (an occluded crop is half someone else)."""
        emb = self.cache.get(det)
        if emb is None or emb.size < 2:
            return
        if self._overlaps is None:
            boxes = [d.box for d in self.detections]
            self._overlaps = iou_matrix(boxes, boxes)
            np.fill_diagonal(self._overlaps, 0.0)
        if self._overlaps[det].max() < 0.2:
            track.add_view(emb, t)


class Tracker:
    def __init__(self, cfg: TrackerConfig, high_threshold: float, frame_size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.high = high_threshold
        self.width, self.height = frame_size
        self._tracks: list[TrackState] = []
        self._glimpses: list[TrackState] = []
        self._next_key = 1

    def active(self) -> list[TrackState]:
        return [tr for tr in self._tracks if tr.confirmed]

    def unsettled_since(self) -> float | None:
        """When the earliest track not confirmed yet was first seen: its steps may still be replayed."""
        return min((tr.first_s for tr in self._tracks if not tr.confirmed), default=None)

    def standing(self) -> list[TrackState]:
        """Confirmed people detected in the latest frame who have not moved over their last observations."""
        return [tr for tr in self._tracks
                if tr.confirmed and tr.visible and len(tr.seen_at) >= 3 and tr.heading() is None]

    def pause(self, t: float, only: list[TrackState] | None = None) -> None:
        """Nothing moved until `t` (the motion gate), or nothing but `only`, where they stand: those tracks
        (default: all) stay where they are and are seen as they were, so standing still is never taken
        for having left, and no prediction drifts meanwhile."""
        for tr in self._tracks if only is None else only:
            tr.last_seen_s += t - tr.predicted_s
            tr.predicted_s = t

    def reset(self) -> list[TrackState]:
        """Forget every track; returns the confirmed ones so the caller can close them."""
        gone = [t for t in self._tracks if t.confirmed]
        self._tracks, self._glimpses = [], []
        return gone

    def update(self, detections: list[Detection], t: float, embed: Embedder | None = None) -> TrackerStep:
        """One frame's detections. `embed` (re-id or colour) gives appearance where motion is ambiguous,
        weighed by tracker.appearance_weight as appearance.tracker_config set it for that cue."""
        if embed is not None and self.cfg.appearance_weight is None:
            raise ValueError("tracker: appearance without a weight (build its config with appearance.tracker_config)")
        for tr in self._tracks:
            tr.kf.predict(t - tr.predicted_s, lost=not tr.visible)
            tr.predicted_s = t

        high = [i for i, d in enumerate(detections) if d.score >= self.high]
        low = [i for i, d in enumerate(detections) if self.cfg.low_threshold <= d.score < self.high]
        confirmed = [tr for tr in self._tracks if tr.confirmed]
        tentative = [tr for tr in self._tracks if not tr.confirmed]
        was_visible = {tr.key: tr.visible for tr in self._tracks}
        # Unseen for longer than stale_s (a track seen in the last frame never is, however slow the camera).
        stale_keys = {tr.key for tr in confirmed if not tr.visible and t - tr.last_seen_s > self.cfg.stale_s}
        for tr in self._tracks:
            tr.visible = False
        look = _Looks(detections, embed)
        # Detections the most-pairs rule would have given a confirmed track, left unpaired by the price.
        refused: set[int] = set()

        def assign(tracks: list[TrackState], det_idx: list[int], stale: bool = False,
                   min_iou: float | None = None) -> tuple[list[TrackState], list[int]]:
            if not tracks or not det_idx:
                return tracks, det_idx
            floor = min_iou or self.cfg.match_iou
            boxes = [detections[i].box for i in det_idx]
            if stale:
                # Lost for long, a prediction is a guess: only someone where they were last seen is
                # them (a person who stood still while the detector missed them).
                at_last = iou_matrix([tr.box for tr in tracks], boxes)
                iou = np.where(at_last >= _STILL_IOU, at_last, 0.0)
            else:
                iou = iou_matrix([tr.kf.box for tr in tracks], boxes)
            cost = 1.0 - iou
            if self.cfg.direction_weight > 0:
                # A track with no heading yet (fewer than three observations) costs nothing: its `last` is moot.
                heading = np.array([h if (h := tr.heading()) is not None else (np.nan, np.nan) for tr in tracks])
                last = np.array([tr.seen_at[-1][1:] if tr.seen_at else (0.0, 0.0) for tr in tracks])
                height = np.array([tr.box[3] - tr.box[1] for tr in tracks])
                cost += self.cfg.direction_weight * direction_cost(heading, last, height, centres(boxes))
            if look.on:
                allowed = iou >= floor
                # Appearance where motion is in question: a conflict, or a lost track coming back.
                rows, cols = ambiguous(iou >= max(floor, self.cfg.appearance_iou or floor))
                lost = np.array([not was_visible[tr.key] for tr in tracks]) & allowed.any(axis=1)
                rows |= lost
                cols |= allowed[lost].any(axis=0)
                seen = np.array([tr.embedding is not None for tr in tracks])
                unseen = rows & ~seen
                rows &= seen
                if rows.any() and cols.any():
                    sim = look.similarity([tr.embedding for tr in tracks], det_idx, rows, cols)
                    sim[np.ix_(unseen, cols)] = _UNSEEN_SIM
                    cost += self.cfg.appearance_weight * np.where(np.isnan(sim), 0.0, 1.0 - sim)
                    # Someone else walking where a person was lost is not them.
                    iou[lost] = np.where(sim[lost] < self.cfg.appearance_min, 0.0, iou[lost])
            pairs = match(iou, floor, cost, unpaired=self.cfg.unpaired_cost)
            if self.cfg.unpaired_cost is not None:
                # Solved again by the most-pairs rule only if it could pair a box left unpaired.
                got = {c for _, c in pairs}
                left = [c for c in range(len(det_idx)) if c not in got]
                if left and (iou[:, left] >= floor).any():
                    refused.update(det_idx[c] for r, c in match(iou, floor, cost)
                                   if c not in got and tracks[r].confirmed)
            for r, c in pairs:
                tracks[r].see(detections[det_idx[c]], t)
                look.learn(tracks[r], det_idx[c], t)
            used_r = {r for r, _ in pairs}
            used_c = {c for _, c in pairs}
            return [tr for k, tr in enumerate(tracks) if k not in used_r], [d for k, d in enumerate(det_idx) if k not in used_c]

        # Confirmed tracks seen or lately lost and tentative tracks in one assignment (ByteTrack); a
        # low-score box only continues a confirmed person seen in the last frame; then the stale, only
        # where they were last seen, so they cannot take a tracked person's box; tentative tracks
        # still unmatched take what is left.
        fresh = [tr for tr in confirmed if tr.key not in stale_keys]
        left_tracks, left_high = assign(fresh + tentative, high)
        assign([tr for tr in left_tracks if tr.confirmed and was_visible[tr.key]], low, min_iou=self.cfg.low_match_iou)
        _, left_high = assign([tr for tr in confirmed if tr.key in stale_keys], left_high, stale=True)
        unmatched_tent, left_high = assign([tr for tr in left_tracks if not tr.confirmed], left_high)

        step = TrackerStep(active=[])
        dead = {tr.key for tr in unmatched_tent}  # a tentative track must be seen every frame
        for tr in tentative:
            if tr.key not in dead and tr.hits >= self.cfg.min_hits:
                tr.confirmed = True
                step.confirmed.append(tr)
        for tr in confirmed:
            if not tr.visible and self._gone(tr, t):
                dead.add(tr.key)
                step.removed.append(tr)

        self._tracks = [tr for tr in self._tracks if tr.key not in dead]
        # Kept twice the hand-over's reach: that is counted from when a new track was first seen, frames
        # before it is confirmed.
        self._glimpses = [g for g in self._glimpses if t - g.last_seen_s <= 2 * _HANDOVER_S] + unmatched_tent
        # With one pool a second box around a tracked person would start a track of its own and, taking
        # the better box next frame, push the first onto weak boxes: two people counted for one.
        taken = [tr.box for tr in self._tracks if tr.visible]
        for i in [i for i in left_high if not doubles(detections[i].box, taken)]:
            self._tracks.append(self._new(detections[i], t))
            self._tracks[-1].new_person = i not in refused
            if self.cfg.min_hits <= 1:
                self._tracks[-1].confirmed = True
                step.confirmed.append(self._tracks[-1])
        step.active = [tr for tr in self._tracks if tr.confirmed]
        step.refound = [tr for tr in step.active if tr.visible and not was_visible.get(tr.key, True)]
        step.glimpses = list(self._glimpses)
        return step

    def _new(self, det: Detection, t: float) -> TrackState:
        tr = TrackState(
            key=self._next_key, kf=BoxKalman(det.box), box=det.box, score=det.score,
            first_box=det.box, first_s=t, last_seen_s=t, predicted_s=t,
            history=[(t, det.box, det.score)],
        )
        self._next_key += 1
        return tr

    def _gone(self, tr: TrackState, t: float) -> bool:
        if t - tr.last_seen_s > self.cfg.max_lost_s:
            return True
        if border_side(tr.box, (self.width, self.height), self.cfg.edge_margin) is None:
            return False  # last seen inside the frame: maybe missed, not gone
        x1, y1, x2, y2 = tr.kf.box
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        return not (0 <= cx <= self.width and 0 <= cy <= self.height)
