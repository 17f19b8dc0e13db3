"""Colour appearance: what the tracker tells people apart by where motion is ambiguous when no
re-identification model runs (tracker.colour).

A box's view is the hue-saturation histogram of its torso and of its legs, from the middle of its
width (where the person is, not the background beside them). Hue and saturation and not brightness,
so a shadow changes little. Each histogram is square-rooted and the pair L2-normalised: the cosine
similarity of two views is then the mean Bhattacharyya coefficient of their torsos and legs, through
the same interface (appearance.Embed) as re-id embeddings, so the tracker uses either alike. Chosen on
the crowd clips by how well it tells the same person apart from others nearby (bench/appearance.py,
docs/performance.md); costs tens of microseconds a box, no model.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..types import Box, Frame

REFRESH_S = 2.0  # a fresh view of each person in sight this often, as reid.refresh_s (0.2-4 s measured alike)
_BINS = [16, 4]  # hue, saturation
_RANGES = [0, 180, 0, 256]
_PARTS = ((0.1, 0.5), (0.5, 0.9))  # torso and legs, as shares of the box's height from its top
_MIDDLE = 0.2  # share of the box's width left out on each side
_MIN_PX = 4  # a part smaller than this gives no view
_SAMPLES = 800  # about this many pixels read a box, whatever its size: same separation as every pixel (measured)
VIEW_SIZE = len(_PARTS) * _BINS[0] * _BINS[1]  # numbers in a view


def colour_embed(frame: Frame, boxes: list[Box]) -> list[np.ndarray]:
    """A view per box (see the module's docstring); a box too small or outside the frame gets one zero,
    as a re-id embedder gives a box too small to crop."""
    return [_view(frame.image, box) for box in boxes]


def _view(image: np.ndarray, box: Box) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = x2 - x1, y2 - y1
    xa, xb = int(max(0.0, x1 + _MIDDLE * bw)), int(min(w, x2 - _MIDDLE * bw))
    rows = [(int(max(0.0, y1 + a * bh)), int(min(h, y1 + b * bh))) for a, b in _PARTS]
    if xb - xa < _MIN_PX or any(yb - ya < _MIN_PX for ya, yb in rows):
        return np.zeros(1, np.float32)
    top = rows[0][0]
    step = max(1, min(int(np.sqrt((xb - xa) * (rows[-1][1] - top) / _SAMPLES)), *(yb - ya for ya, yb in rows)))
    hsv = cv2.cvtColor(image[top:rows[-1][1]:step, xa:xb:step], cv2.COLOR_BGR2HSV)
    parts = []
    for ya, yb in rows:
        part = hsv[(ya - top + step - 1) // step:(yb - top + step - 1) // step]
        hist = cv2.calcHist([part], [0, 1], None, _BINS, _RANGES).ravel()
        parts.append(np.sqrt(hist / hist.sum()))
    view = np.concatenate(parts).astype(np.float32)
    return view / np.float32(np.sqrt(len(parts)))  # each part has norm 1
