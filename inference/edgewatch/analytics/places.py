"""Where a camera counts people: its lines and zones, as the config gives them or as the UI's editor
last saved them, changed while running without losing the counts of what stays."""

from __future__ import annotations

from typing import Any

from ..config import Geometry, LineConfig, ZoneConfig, geometry_in_frame
from ..errors import EdgewatchError
from ..types import Box, Event, LineCount, ZoneState
from .lines import LineCounter
from .zones import ZoneWatcher


class Places:
    def __init__(self, lines: list[LineConfig], zones: list[ZoneConfig], frame_size: tuple[int, int]) -> None:
        self.frame_size = frame_size
        self.lines = LineCounter(lines, frame_size)
        self.zones = ZoneWatcher(zones, frame_size)
        self.saved: dict[str, Any] | None = None  # the lines and zones the UI saved, with who and when

    def update(self, boxes: dict[int, Box], now: float) -> list[Event]:
        """`boxes`: person id -> box, for people seen at `now`."""
        return self.lines.update(boxes, now) + self.zones.update(boxes, now)

    def leave(self, person_id: int) -> list[Event]:
        self.lines.forget(person_id)
        return self.zones.leave(person_id)

    def hand_over(self, old: int, new: int) -> None:
        self.lines.hand_over(old, new)

    def start_at(self, new: int, box: Box) -> None:
        self.lines.start_at(new, box)

    def alerts(self, now: float) -> list[Event]:
        """The zones' own alert rules (max_people, max_dwell_s: zones.py)."""
        return self.zones.alerts(now)

    def counts(self) -> tuple[list[LineCount], list[ZoneState]]:
        return self.lines.counts(), self.zones.states()

    def totals(self) -> dict[str, Any]:
        """The lines' and zones' part of a day's totals."""
        return {
            "lines": {c.name: {"in": c.in_count, "out": c.out_count} for c in self.lines.counts()},
            "zones": {z.name: {"occupancy": z.occupancy, "entered": z.entered, "max_dwell_s": z.max_dwell_s}
                      for z in self.zones.states()},
        }

    def replace(self, geometry: Geometry, video_s: float, origin: dict[str, Any]) -> list[Event]:
        """New lines and zones while running (the UI's editor): a `config_change` event naming what was
        added, removed and changed, with the final counts of what was removed, and `origin` (who, when).
        A geometry with a point outside the frame raises EdgewatchError and changes nothing."""
        w, h = self.frame_size
        outside = geometry_in_frame(geometry.lines, geometry.zones, w, h)
        if outside is not None:
            raise EdgewatchError(outside)
        changes = {"lines": _diff([ln.cfg for ln in self.lines.lines], geometry.lines),
                   "zones": _diff([z.cfg for z in self.zones.zones], geometry.zones)}
        gone_lines = self.lines.replace(geometry.lines)
        gone_zones, events = self.zones.replace(geometry.zones)
        self.saved = {"geometry": geometry.model_dump(mode="json"), **origin}
        return events + [Event("config_change", video_s, {**origin, **changes,
                                                         "final": {"lines": gone_lines, "zones": gone_zones}})]

    def new_day(self) -> None:
        self.lines.new_day()
        self.zones.new_day()

    def snapshot(self) -> dict[str, Any]:
        return {"lines": self.lines.snapshot(), "zones": self.zones.snapshot()}

    def restore(self, snap: dict[str, Any]) -> None:
        self.lines.restore(snap["lines"])
        self.zones.restore(snap["zones"])


def _diff(before: list, after: list) -> dict[str, list[str]]:
    """Names added, removed and changed (same name, other settings) between two lists of lines or zones."""
    old, new = {c.name: c for c in before}, {c.name: c for c in after}
    return {"added": [n for n in new if n not in old], "removed": [n for n in old if n not in new],
            "changed": [n for n in new if n in old and new[n] != old[n]]}
