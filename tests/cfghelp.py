"""Test helpers for one-camera configs."""

from __future__ import annotations

import numpy as np

from edgewatch.analytics import Analytics
from edgewatch.config import CameraConfig, Config


def only(cfg: Config) -> CameraConfig:
    """The camera of a one-camera config."""
    (cam,) = cfg.cameras.values()
    return cam


def analytics(cfg: Config, frame_size: tuple[int, int]) -> Analytics:
    return Analytics(only(cfg), cfg.model, frame_size)


def painted(image: np.ndarray, *people: tuple) -> np.ndarray:
    """A copy of `image` with each person's box filled with their clothes' colours (BGR): (box, colour) in
    one colour, (box, shirt, trousers) in two, a box None for someone not in view; later ones in front.
    What tracker.colour tells people apart by."""
    img = image.copy()
    for box, shirt, *rest in people:
        if box is None:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        mid = (y1 + y2) // 2
        img[max(0, y1):mid, max(0, x1):x2] = shirt
        img[max(0, mid):y2, max(0, x1):x2] = rest[0] if rest else shirt
    return img
