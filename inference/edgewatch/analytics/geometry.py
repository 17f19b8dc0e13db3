"""Small box helpers shared by the analytics modules."""

from __future__ import annotations

from ..types import Box, Point


def anchor(box: Box, where: str = "bottom_center") -> Point:
    """The point that stands for a person on a line or zone: by default the bottom-centre of the box
    (the feet: where a person is on the floor, whatever their height or distance); "center" for a
    camera looking straight down, which sees heads and shoulders, not feet."""
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2, y2) if where == "bottom_center" else ((x1 + x2) / 2, (y1 + y2) / 2)


def border_side(box: Box, frame_size: tuple[int, int], margin: float) -> str | None:
    """The frame border the box touches ("left"/"right"/"top"/"bottom"), or None if it is inside.

    `margin` is a share of the width/height. A box touching both top and bottom (a person close to
    the camera) says nothing about up/down, so only left/right count then, and vice versa.
    """
    w, h = frame_size
    x1, y1, x2, y2 = box
    gaps = {"left": x1 / w, "right": (w - x2) / w, "top": y1 / h, "bottom": (h - y2) / h}
    near = {side: gap for side, gap in gaps.items() if gap <= margin}
    if "top" in near and "bottom" in near:
        near.pop("top"), near.pop("bottom")
    if "left" in near and "right" in near:
        near.pop("left"), near.pop("right")
    if not near:
        return None
    # Several borders touched (a walker's feet are cut off by the bottom while they leave to the right):
    # the side is the touched border nearest the box's centre, in shares of the frame.
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    centre_gap = {"left": cx / w, "right": (w - cx) / w, "top": cy / h, "bottom": (h - cy) / h}
    return min(near, key=centre_gap.__getitem__)


def jitter_band(frame_size: tuple[int, int]) -> float:
    """How far a person's point may move across a line or a zone's border before it counts as a step:
    box jitter, not walking (1 % of the frame's diagonal, ~9 px at 768x432). Lines and zones share it."""
    w, h = frame_size
    return max(2.0, 0.01 * (w * w + h * h) ** 0.5)
