"""ByteTrack-style multi-object tracker: who is who from one frame to the next.

Per frame:
1. every track's Kalman filter predicts where its box is now (step = video seconds since last frame);
2. high-score detections (>= model.threshold) are matched by IoU to the confirmed tracks seen last
   frame, then the ones left to the lost confirmed tracks;
3. low-score detections (>= tracker.low_threshold) may only continue confirmed tracks that were
   seen last frame - a person whose score dips stays the same person, but weak boxes never revive
   a lost track or start a new one;
4. leftover high-score detections continue tentative tracks, or start new ones;
5. a tentative track is confirmed after tracker.min_hits consecutive frames and dies at its first miss;
   a confirmed track that is not seen turns "lost" and is removed after tracker.max_lost_s video
   seconds - or at once if it was last seen at a border (tracker.edge_margin) and its predicted centre
   has left the frame (they walked out), so a new person walking in at the same border does not take
   over their track. A lost track can be matched
   at its predicted box or where it was last seen (higher IoU wins).

Matching uses scipy's linear_sum_assignment on 1 - IoU. Tracks carry tracker-internal keys; the public
person ids are handed out by counting.py when a track is confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..config import TrackerConfig
from ..types import Box, Detection
from .geometry import border_side
from .kalman import BoxKalman
from .reid import normalise as _normalise

_EMB_MOMENTUM = 0.9  # running mean of re-id embeddings: smooth over pose changes


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    """IoU of every box in `a` with every box in `b`, shape (len(a), len(b))."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    A = np.asarray(a, dtype=float)[:, None, :]
    B = np.asarray(b, dtype=float)[None, :, :]
    iw = np.clip(np.minimum(A[..., 2], B[..., 2]) - np.maximum(A[..., 0], B[..., 0]), 0, None)
    ih = np.clip(np.minimum(A[..., 3], B[..., 3]) - np.maximum(A[..., 1], B[..., 1]), 0, None)
    inter = iw * ih
    area_a = (A[..., 2] - A[..., 0]).clip(0) * (A[..., 3] - A[..., 1]).clip(0)
    area_b = (B[..., 2] - B[..., 0]).clip(0) * (B[..., 3] - B[..., 1]).clip(0)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def match(iou: np.ndarray, min_iou: float) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs (row, col) with IoU >= min_iou."""
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(1.0 - iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= min_iou]


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
    embedding: np.ndarray | None = None  # running mean of re-id views (re-id on), for the gallery
    embedded_s: float | None = None  # when the last view was added
    views: int = 0
    # (time, box) of each detection before confirmation, so lines and zones can replay a person's
    # first steps once they count; emptied after that.
    history: list[tuple[float, Box]] = field(default_factory=list)

    def see(self, det: Detection, t: float) -> None:
        self.kf.update(det.box)
        self.box, self.score, self.last_seen_s = det.box, det.score, t
        self.hits += 1
        self.visible = True
        if not self.confirmed:
            self.history.append((t, det.box))

    def add_view(self, emb: np.ndarray, t: float) -> None:
        """One re-id embedding of this track's current box."""
        self.views += 1
        self.embedded_s = t
        if self.embedding is None:
            self.embedding = _normalise(emb)
        else:  # a plain mean over the first views, then a running mean that follows the person
            m = min(_EMB_MOMENTUM, 1.0 - 1.0 / self.views)
            self.embedding = _normalise(m * self.embedding + (1.0 - m) * _normalise(emb))


@dataclass
class TrackerStep:
    """What changed in one frame."""

    active: list[TrackState]  # confirmed tracks still alive (visible or lost)
    confirmed: list[TrackState] = field(default_factory=list)  # confirmed in this frame
    removed: list[TrackState] = field(default_factory=list)  # confirmed tracks dropped in this frame
    refound: list[TrackState] = field(default_factory=list)  # confirmed tracks seen again after a gap


class Tracker:
    def __init__(self, cfg: TrackerConfig, high_threshold: float, frame_size: tuple[int, int]) -> None:
        self.cfg = cfg
        self.high = high_threshold
        self.width, self.height = frame_size
        self._tracks: list[TrackState] = []
        self._next_key = 1

    def active(self) -> list[TrackState]:
        return [tr for tr in self._tracks if tr.confirmed]

    def pause(self, t: float) -> None:
        """Nothing moved until `t` (the motion gate): every track stays where it is and is seen as it was,
        so standing still is never taken for having left, and no prediction drifts meanwhile."""
        for tr in self._tracks:
            tr.last_seen_s += t - tr.predicted_s
            tr.predicted_s = t

    def reset(self) -> list[TrackState]:
        """Forget every track; returns the confirmed ones so the caller can close them."""
        gone = [t for t in self._tracks if t.confirmed]
        self._tracks = []
        return gone

    def update(self, detections: list[Detection], t: float) -> TrackerStep:
        for tr in self._tracks:
            tr.kf.predict(t - tr.predicted_s, lost=not tr.visible)
            tr.predicted_s = t

        high = [i for i, d in enumerate(detections) if d.score >= self.high]
        low = [i for i, d in enumerate(detections) if self.cfg.low_threshold <= d.score < self.high]
        confirmed = [tr for tr in self._tracks if tr.confirmed]
        tentative = [tr for tr in self._tracks if not tr.confirmed]
        was_visible = {tr.key: tr.visible for tr in self._tracks}
        for tr in self._tracks:
            tr.visible = False

        def assign(tracks: list[TrackState], det_idx: list[int]) -> tuple[list[TrackState], list[int]]:
            det_boxes = [detections[i].box for i in det_idx]
            iou = iou_matrix([tr.kf.box for tr in tracks], det_boxes)
            # A lost track may also be found where it was last seen: someone standing still whom
            # the detector missed must not lose their id to a drifting prediction.
            lost = [k for k, tr in enumerate(tracks) if not was_visible[tr.key]]
            if lost and det_boxes:
                iou[lost] = np.maximum(iou[lost], iou_matrix([tracks[k].box for k in lost], det_boxes))
            pairs = match(iou, self.cfg.match_iou)
            for r, c in pairs:
                di = det_idx[c]
                tracks[r].see(detections[di], t)
            used_r = {r for r, _ in pairs}
            used_c = {c for _, c in pairs}
            return [tr for k, tr in enumerate(tracks) if k not in used_r], [d for k, d in enumerate(det_idx) if k not in used_c]

        # Tracks seen last frame pick first, so a lost track lying near someone who is being
        # tracked cannot take their detection (and their id).
        left_tracks, left_high = assign([tr for tr in confirmed if was_visible[tr.key]], high)
        assign(left_tracks, low)
        _, left_high = assign([tr for tr in confirmed if not was_visible[tr.key]], left_high)
        unmatched_tent, left_high = assign(tentative, left_high)

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
        for i in left_high:
            self._tracks.append(self._new(detections[i], t))
            if self.cfg.min_hits <= 1:
                self._tracks[-1].confirmed = True
                step.confirmed.append(self._tracks[-1])
        step.active = [tr for tr in self._tracks if tr.confirmed]
        step.refound = [tr for tr in step.active if tr.visible and not was_visible.get(tr.key, True)]
        return step

    def _new(self, det: Detection, t: float) -> TrackState:
        tr = TrackState(
            key=self._next_key, kf=BoxKalman(det.box), box=det.box, score=det.score,
            first_box=det.box, first_s=t, last_seen_s=t, predicted_s=t,
            history=[(t, det.box)],
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
