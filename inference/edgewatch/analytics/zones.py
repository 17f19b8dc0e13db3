"""Polygon zones: who is inside now, how many went in, how long each stayed.

The person's point is the bottom-centre of their box (the feet). A person enters once their point is
inside the polygon (or on its edge) and leaves only once it is more than `band` pixels outside, so a
box jittering on the border does not count as many visits. A person the tracker has lost stays in
the zone until the track ends; their dwell then runs to the time they were last seen.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import ZoneConfig
from ..types import Event, Point, ZoneState


class Zone:
    def __init__(self, cfg: ZoneConfig, band: float) -> None:
        self.name = cfg.name
        self.contour = np.asarray(cfg.polygon, dtype=np.float32).reshape(-1, 1, 2)
        self.band = band
        self.entered = 0
        self.max_dwell_s = 0.0
        self._inside: dict[int, tuple[float, float]] = {}  # person id -> (entered at, last seen inside)

    def _distance(self, p: Point) -> float:
        """Signed distance to the border: positive inside."""
        return float(cv2.pointPolygonTest(self.contour, (float(p[0]), float(p[1])), True))

    def update(self, person_id: int, p: Point, now_s: float) -> Event | None:
        d = self._distance(p)
        if person_id in self._inside:
            if d < -self.band:
                return self.leave(person_id)
            self._inside[person_id] = (self._inside[person_id][0], now_s)
            self.max_dwell_s = max(self.max_dwell_s, now_s - self._inside[person_id][0])
            return None
        if d >= 0:
            self._inside[person_id] = (now_s, now_s)
            self.entered += 1
            return Event("zone_enter", now_s, {"track_id": person_id, "zone": self.name})
        return None

    def leave(self, person_id: int) -> Event | None:
        """Close the visit; it ends when the person was last seen inside."""
        visit = self._inside.pop(person_id, None)
        if visit is None:
            return None
        dwell = visit[1] - visit[0]
        self.max_dwell_s = max(self.max_dwell_s, dwell)
        return Event("zone_leave", visit[1], {"track_id": person_id, "zone": self.name, "dwell_s": round(dwell, 2)})

    def dwell(self, person_id: int) -> float | None:
        visit = self._inside.get(person_id)
        return None if visit is None else visit[1] - visit[0]

    def new_day(self) -> None:
        """Who is inside now counts as entered on the new day (as they count among its people)."""
        self.entered = len(self._inside)
        self.max_dwell_s = 0.0

    def state(self) -> ZoneState:
        return ZoneState(self.name, occupancy=len(self._inside), entered=self.entered, max_dwell_s=round(self.max_dwell_s, 2))


class ZoneWatcher:
    """All configured zones."""

    def __init__(self, zones: list[ZoneConfig], frame_size: tuple[int, int]) -> None:
        w, h = frame_size
        band = max(2.0, 0.01 * (w * w + h * h) ** 0.5)  # box jitter, same scale as the lines' band
        self.zones = [Zone(c, band) for c in zones]

    def update(self, points: dict[int, Point], now_s: float) -> list[Event]:
        """`points`: person id -> anchor point, for people detected in this frame."""
        events = []
        for zone in self.zones:
            for pid, p in points.items():
                ev = zone.update(pid, p, now_s)
                if ev is not None:
                    events.append(ev)
        return events

    def leave(self, person_id: int) -> list[Event]:
        """The person's track ended: close their visits."""
        return [ev for zone in self.zones if (ev := zone.leave(person_id)) is not None]

    def states(self) -> list[ZoneState]:
        return [z.state() for z in self.zones]

    def new_day(self) -> None:
        for z in self.zones:
            z.new_day()

    def snapshot(self) -> dict:
        return {z.name: {"entered": z.entered, "max_dwell_s": round(z.max_dwell_s, 2)} for z in self.zones}

    def restore(self, snap: dict) -> None:
        for z in self.zones:
            if z.name in snap:  # a zone added or renamed since the snapshot starts at zero
                z.entered = int(snap[z.name]["entered"])
                z.max_dwell_s = float(snap[z.name]["max_dwell_s"])
