"""Small box and line helpers shared by the analytics modules."""

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


class Segment:
    """A segment A->B on screen with a jitter band either side (lines.py): which side a point is on, and
    whether a path meets the segment between A and B."""

    def __init__(self, points: list[tuple[float, float]], band: float) -> None:
        (self.ax, self.ay), (self.bx, self.by) = points
        self.band = band
        self.length = max(((self.bx - self.ax) ** 2 + (self.by - self.ay) ** 2) ** 0.5, 1e-9)

    def signed_dist(self, p: Point) -> float:
        """Negative on the left of A->B as seen on screen (y grows downwards)."""
        return ((self.bx - self.ax) * (p[1] - self.ay) - (self.by - self.ay) * (p[0] - self.ax)) / self.length

    def side_of(self, p: Point) -> int | None:
        """-1 left of A->B as seen on screen, 1 right, None within the band (on the line: undecided)."""
        d = self.signed_dist(p)
        return None if abs(d) <= self.band else (-1 if d < 0 else 1)

    def met_by(self, p: Point, q: Point) -> bool:
        """Does the path p->q meet the line between A and B (not on its extension beyond them)?"""
        dp, dq = self.signed_dist(p), self.signed_dist(q)
        if dp == dq:
            return False
        s = dp / (dp - dq)
        x, y = p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])
        t = ((x - self.ax) * (self.bx - self.ax) + (y - self.ay) * (self.by - self.ay)) / self.length**2
        return 0.0 <= t <= 1.0
