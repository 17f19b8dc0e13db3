"""Costs for matching tracks to detections, and the optimal matching (scipy's assignment solver).

- IoU of the track's predicted box (and, for a lost track, of where it was last seen: OC-SORT's
  observation-centric recovery) with each detection; pairs under tracker.match_iou never match.
- Direction consistency (OC-SORT's observation-centric momentum): a detection that lies against the
  way the track has been walking costs more, so two people crossing keep their own ways.
- Appearance (BoT-SORT, Deep OC-SORT), only where motion is ambiguous: a detection that could belong
  to two tracks, or a track with two candidate detections, or a lost track that is coming back. Only
  those detections are embedded (re-id) or looked at (colour), all at once, so appearance stays cheap
  in a crowd.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..types import Box

# Boxes -> L2-normalised embeddings, all at once (the frame is bound by the caller).
Embedder = Callable[[list[Box]], list[np.ndarray]]


def _overlap(a: list[Box], b: list[Box]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intersection area of every box in `a` with every box in `b` (len(a), len(b)), and their own areas
    shaped (len(a), 1) and (1, len(b)) to broadcast against it."""
    A = np.asarray(a, dtype=float).reshape(-1, 4)[:, None, :]
    B = np.asarray(b, dtype=float).reshape(-1, 4)[None, :, :]
    # np.maximum(…, 0), not clip: the tracker calls this several times a frame, and clip's wrapper costs more
    # than the arithmetic on a few boxes.
    iw = np.maximum(np.minimum(A[..., 2], B[..., 2]) - np.maximum(A[..., 0], B[..., 0]), 0.0)
    ih = np.maximum(np.minimum(A[..., 3], B[..., 3]) - np.maximum(A[..., 1], B[..., 1]), 0.0)
    area_a = np.maximum(A[..., 2] - A[..., 0], 0.0) * np.maximum(A[..., 3] - A[..., 1], 0.0)
    area_b = np.maximum(B[..., 2] - B[..., 0], 0.0) * np.maximum(B[..., 3] - B[..., 1], 0.0)
    return iw * ih, area_a, area_b


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    """IoU of every box in `a` with every box in `b`, shape (len(a), len(b))."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    inter, area_a, area_b = _overlap(a, b)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def match(iou: np.ndarray, min_iou: float, cost: np.ndarray | None = None,
          unpaired: float | None = None) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs (row, col) with IoU >= min_iou, by the least total `cost` (default 1 - IoU).

    Without `unpaired`, as many pairs as can be made, the cheapest of those. With it, a row or column may
    stay unpaired at that price (ByteTrack's `cost_limit`): a pair dearer than the price is refused where
    refusing leaves a cheaper whole; then what is left on both sides is paired by the first rule."""
    if iou.size == 0:
        return []
    allowed = iou >= min_iou
    c = (1.0 - iou) if cost is None else cost
    if unpaired is None:
        return _pairs(allowed, c)
    n, m = c.shape
    # Leaving a row and a column unpaired costs the price in all (half each, the standard augmented
    # square), so the best pairs are those of least total (cost - price) among pairs cheaper than the
    # price: one rectangular assignment, not one on the (n + m)-square.
    gain = np.where(allowed & (c < unpaired), c - unpaired, 0.0)
    rows, cols = linear_sum_assignment(gain)
    pairs = [(int(r), int(k)) for r, k in zip(rows, cols, strict=True) if gain[r, k] < 0]
    paired_r, paired_c = {r for r, _ in pairs}, {k for _, k in pairs}
    left_r = [r for r in range(n) if r not in paired_r]
    left_c = [k for k in range(m) if k not in paired_c]
    if left_r and left_c:
        sub = _pairs(allowed[np.ix_(left_r, left_c)], c[np.ix_(left_r, left_c)])
        pairs += [(left_r[a], left_c[b]) for a, b in sub]
    return pairs


_FORBIDDEN = 1e6  # a pair under min_iou: dearer than any number of allowed pairs


def _pairs(allowed: np.ndarray, c: np.ndarray) -> list[tuple[int, int]]:
    """The most allowed pairs, the cheapest of those."""
    rows, cols = linear_sum_assignment(np.where(allowed, c, _FORBIDDEN))
    return [(int(r), int(k)) for r, k in zip(rows, cols, strict=True) if allowed[r, k]]


def doubles(box: Box, taken: list[Box], contained: float = 0.8, feet: float = 0.1) -> bool:
    """Whether `box` is the detector's second box around someone a track took this frame: one of the two
    boxes lies mostly inside the other (`contained` of the smaller's area) and both stand on the same spot
    (bottoms within `feet` of the taller's height). Two people do not stand on one spot; a person behind
    another stands higher in the picture."""
    if not taken:
        return False
    inter, area_a, area_b = _overlap([box], taken)
    inside = inter[0] >= contained * np.maximum(np.minimum(area_a[0], area_b[0]), 1e-9)
    a = np.asarray(box, dtype=float)
    b = np.asarray(taken, dtype=float).reshape(-1, 4)
    same_feet = np.abs(a[3] - b[:, 3]) <= feet * np.maximum(a[3] - a[1], b[:, 3] - b[:, 1])
    return bool(np.any(inside & same_feet))


def centres(boxes: list[Box]) -> np.ndarray:
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2], axis=1)


def direction_cost(heading: np.ndarray, last: np.ndarray, height: np.ndarray, dets: np.ndarray) -> np.ndarray:
    """(tracks, detections): 0 for a detection straight ahead of a track walking its `heading` (pixels, a
    row per track; NaN for one standing), 1 straight behind it. No cost for a standing track or a detection
    right where it was last seen (`last`: each track's last observed centre; `height`: its box's height).
    All tracks at once: the tracker asks this of every track every frame."""
    step = dets[None, :, :] - last[:, None, :]
    dist = np.hypot(step[..., 0], step[..., 1])
    moving = ~np.isnan(heading[:, 0])
    h = np.where(moving[:, None], heading, 0.0)
    speed = np.maximum(np.hypot(h[:, 0], h[:, 1]), 1e-9)
    cos = np.einsum("nmk,nk->nm", step, h) / (np.maximum(dist, 1e-9) * speed[:, None])
    return np.where(moving[:, None] & (dist > 0.05 * height[:, None]), (1.0 - cos) / 2.0, 0.0)


def ambiguous(allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns in a conflict: a track with two candidate detections, or a detection two
    tracks could take (and every candidate of those)."""
    rows = allowed.sum(axis=1) >= 2
    cols = allowed.sum(axis=0) >= 2
    rows |= allowed[:, cols].any(axis=1)
    cols |= allowed[rows].any(axis=0)
    return rows, cols
