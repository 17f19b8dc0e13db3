"""Counting lines: a person crossing segment A->B counts once, "in" or "out".

The person's point is the line's anchor of their box (geometry.anchor: the feet by default). "in" is a
crossing from the right of A->B to its left as seen on screen (x right, y down), "out" the other way.

Hysteresis: a track's side only changes once its point is more than `band` pixels away from the
line, so a box jittering on the line never counts twice. A crossing counts only if it happens within
the segment (not on the line's extension beyond A or B), and only once the person has been seen on
the new side in `min_frames` frames in a row (a box that swaps to a neighbour for a frame in a crowd
does not count).

A track that broke off in a crowd: the new track found where it was lost takes over its sides
(`hand_over`, chosen by tracker.lost_near), so a crossing made while nobody tracked the person counts.
With no lost track there, a new track starts from the side of a glimpse near where it appeared (a box
whose track never held, in the 2 s before: `start_at`): the person seen for a moment before a group hid
them, or someone of the group they came out of, on the same side.
"""

from __future__ import annotations

from ..config import LineConfig
from ..types import Box, Event, LineCount, Point
from .geometry import Segment, anchor, jitter_band


class CountingLine:
    def __init__(self, cfg: LineConfig, band: float) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.segment = Segment(cfg.points, band)
        self.count = LineCount(cfg.name)
        self._side: dict[int, tuple[int, Point]] = {}  # person id -> (settled side, point there)
        self._pending: dict[int, tuple[int, Point, int]] = {}  # person id -> (new side, first point there, frames)

    def update(self, person_id: int, box: Box, now_s: float) -> Event | None:
        p = anchor(box, self.cfg.anchor)
        side = self.segment.side_of(p)
        if side is None:
            return None
        prev = self._side.get(person_id)
        if prev is None or prev[0] == side:
            self._side[person_id] = (side, p)
            self._pending.pop(person_id, None)
            return None
        pending = self._pending.get(person_id)
        frames = pending[2] + 1 if pending is not None and pending[0] == side else 1
        first = pending[1] if pending is not None and pending[0] == side else p
        if frames < self.cfg.min_frames:
            self._pending[person_id] = (side, first, frames)
            return None
        self._pending.pop(person_id, None)
        self._side[person_id] = (side, p)
        if not self.segment.met_by(prev[1], first):
            return None
        direction = "in" if side < 0 else "out"
        if direction == "in":
            self.count.in_count += 1
        else:
            self.count.out_count += 1
        return Event("line_cross", now_s, {"track_id": person_id, "line": self.name, "direction": direction})

    def forget(self, person_id: int) -> None:
        self._side.pop(person_id, None)
        self._pending.pop(person_id, None)

    def start_at(self, new: int, box: Box) -> None:
        p = anchor(box, self.cfg.anchor)
        side = self.segment.side_of(p)
        if side is not None:
            self._side[new] = (side, p)

    def hand_over(self, old: int, new: int) -> None:
        if old in self._side:
            self._side[new] = self._side.pop(old)
        self._pending.pop(old, None)


class LineCounter:
    """All configured lines."""

    def __init__(self, lines: list[LineConfig], frame_size: tuple[int, int]) -> None:
        self.band = jitter_band(frame_size)
        self.lines = [CountingLine(c, self.band) for c in lines]

    def replace(self, lines: list[LineConfig]) -> dict[str, dict[str, int]]:
        """New lines while running: one that keeps its name keeps its counts (and, unchanged, who is on
        which side); a new one starts at zero. Returns the final counts of the lines that are gone."""
        old = {line.name: line for line in self.lines}
        kept = []
        for cfg in lines:
            line = old.pop(cfg.name, None)
            if line is None or line.cfg != cfg:
                fresh = CountingLine(cfg, self.band)
                if line is not None:
                    fresh.count = line.count  # moved or re-tuned: same counts, sides settle again
                line = fresh
            kept.append(line)
        self.lines = kept
        return {name: {"in": line.count.in_count, "out": line.count.out_count} for name, line in old.items()}

    def update(self, boxes: dict[int, Box], now_s: float) -> list[Event]:
        """`boxes`: person id -> box, for people detected in this frame."""
        events = []
        for line in self.lines:
            for pid, box in boxes.items():
                ev = line.update(pid, box, now_s)
                if ev is not None:
                    events.append(ev)
        return events

    def forget(self, person_id: int) -> None:
        for line in self.lines:
            line.forget(person_id)

    def hand_over(self, old: int, new: int) -> None:
        """A new person is where `old` was lost (tracker.lost_near): they start from the side `old` was
        on, so a crossing made while the tracker lost them still counts, once (`old`, if found again,
        starts over)."""
        for line in self.lines:
            line.hand_over(old, new)

    def start_at(self, new: int, box: Box) -> None:
        """A new person appeared near a glimpse at `box` (tracker.lost_near): they start from the side of
        each line that box lies on (none where it lies on the line)."""
        for line in self.lines:
            line.start_at(new, box)

    def counts(self) -> list[LineCount]:
        return [LineCount(line.name, line.count.in_count, line.count.out_count) for line in self.lines]

    def new_day(self) -> None:
        for line in self.lines:
            line.count.in_count = line.count.out_count = 0

    def snapshot(self) -> dict:
        return {line.name: {"in": line.count.in_count, "out": line.count.out_count} for line in self.lines}

    def restore(self, snap: dict) -> None:
        for line in self.lines:
            if line.name in snap:  # a line added or renamed since the snapshot starts at zero
                line.count.in_count, line.count.out_count = int(snap[line.name]["in"]), int(snap[line.name]["out"])
