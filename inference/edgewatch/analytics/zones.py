"""Polygon zones: who is inside now, how many went in, how long each stayed.

The person's point is the zone's anchor of their box (the feet by default). A person enters once their
point is inside the polygon (or on its edge) in `inertia` frames in a row, and leaves only once it is
more than `band` pixels outside in `inertia` frames in a row, so a box jittering on the border does not
count as many visits. The visit starts at the first of the frames inside. A person the tracker has lost stays in
the zone until the track ends; their dwell then runs to the time they were last seen.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..config import ZoneConfig
from ..types import Box, Event, Point, ZoneState
from .alerts import AlertRules
from .geometry import anchor, jitter_band


class Zone:
    def __init__(self, cfg: ZoneConfig, band: float) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.rules = AlertRules(cfg.max_people, cfg.max_dwell_s, zone=cfg.name)
        self._streak: dict[int, tuple[int, float]] = {}  # person id -> (frames on the other side, since)
        self.contour = np.asarray(cfg.polygon, dtype=np.float32).reshape(-1, 1, 2)
        self.band = band
        self.entered = 0
        self.max_dwell_s = 0.0
        self._inside: dict[int, tuple[float, float]] = {}  # person id -> (entered at, last seen inside)

    def _distance(self, p: Point) -> float:
        """Signed distance to the border: positive inside."""
        return float(cv2.pointPolygonTest(self.contour, (float(p[0]), float(p[1])), True))

    def update(self, person_id: int, box: Box, now_s: float) -> Event | None:
        d = self._distance(anchor(box, self.cfg.anchor))
        inside = person_id in self._inside
        crossing = d < -self.band if inside else d >= 0  # on the other side from where they are
        if not crossing:
            self._streak.pop(person_id, None)
            if inside:
                self._inside[person_id] = (self._inside[person_id][0], now_s)
                self.max_dwell_s = max(self.max_dwell_s, now_s - self._inside[person_id][0])
            return None
        frames, since = self._streak.get(person_id, (0, now_s))
        if frames + 1 < self.cfg.inertia:
            self._streak[person_id] = (frames + 1, since)
            return None
        self._streak.pop(person_id, None)
        if inside:
            return self.leave(person_id)
        self._inside[person_id] = (since, now_s)
        self.entered += 1
        return Event("zone_enter", since, {"track_id": person_id, "zone": self.name})

    def leave(self, person_id: int) -> Event | None:
        """Close the visit; it ends when the person was last seen inside."""
        self._streak.pop(person_id, None)
        visit = self._inside.pop(person_id, None)
        if visit is None:
            return None
        dwell = visit[1] - visit[0]
        self.max_dwell_s = max(self.max_dwell_s, dwell)
        return Event("zone_leave", visit[1], {"track_id": person_id, "zone": self.name, "dwell_s": round(dwell, 2)})

    def alerts(self, now_s: float) -> list[Event]:
        """The zone's own alert rules (analytics/alerts.py): its occupancy and each visit going on."""
        visits = (((pid, since), pid, last - since) for pid, (since, last) in self._inside.items())
        return self.rules.update(len(self._inside), visits, now_s)

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
        self.band = jitter_band(frame_size)
        self.zones = [Zone(c, self.band) for c in zones]

    def replace(self, zones: list[ZoneConfig]) -> tuple[dict[str, dict], list[Event]]:
        """New zones while running: one that keeps its name keeps its entries, longest stay and the
        visits going on (who is inside now leaves by the usual rule if the new shape excludes them); a
        new one starts at zero. Returns the final state of the zones that are gone and the leave events
        of the visits they end."""
        old = {z.name: z for z in self.zones}
        kept = []
        for cfg in zones:
            zone = Zone(cfg, self.band)
            was = old.pop(cfg.name, None)
            if was is not None:
                zone.entered, zone.max_dwell_s, zone._inside = was.entered, was.max_dwell_s, was._inside
                zone.rules.keep_state(was.rules)
            kept.append(zone)
        self.zones = kept
        events = [ev for z in old.values() for pid in list(z._inside) if (ev := z.leave(pid)) is not None]
        gone = {name: {"occupancy": 0, "entered": z.entered, "max_dwell_s": round(z.max_dwell_s, 2)} for name, z in old.items()}
        return gone, events

    def update(self, boxes: dict[int, Box], now_s: float) -> list[Event]:
        """`boxes`: person id -> box, for people detected in this frame."""
        events = []
        for zone in self.zones:
            for pid, box in boxes.items():
                ev = zone.update(pid, box, now_s)
                if ev is not None:
                    events.append(ev)
        return events

    def alerts(self, now_s: float) -> list[Event]:
        return [ev for z in self.zones for ev in z.alerts(now_s)]

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
