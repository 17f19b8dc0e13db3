"""Alert rules, each firing once per occurrence rather than on every frame.

- max_people: fires when the people in frame go above alerts.max_people; re-armed once they are back
  at or below the limit.
- max_dwell: fires once per person when their stay in the frame passes alerts.max_dwell_s. A zone
  visit never lasts longer than the stay in the frame, so this also covers zones.
"""

from __future__ import annotations

from ..config import AlertConfig
from ..types import Event, Track


class AlertRules:
    def __init__(self, cfg: AlertConfig) -> None:
        self.max_people = cfg.max_people
        self.max_dwell_s = cfg.max_dwell_s
        self._crowded = False
        self._dwell_fired: set[int] = set()

    def update(self, in_frame: int, tracks: list[Track], now_s: float) -> list[Event]:
        events = []
        if self.max_people is not None:
            crowded = in_frame > self.max_people
            if crowded and not self._crowded:
                events.append(Event("alert", now_s, {"rule": "max_people", "value": in_frame, "limit": self.max_people}))
            self._crowded = crowded
        if self.max_dwell_s is not None:
            for t in tracks:
                if t.id not in self._dwell_fired and t.duration_s > self.max_dwell_s:
                    self._dwell_fired.add(t.id)
                    events.append(Event("alert", now_s, {"rule": "max_dwell", "value": round(t.duration_s, 2),
                                                         "limit": self.max_dwell_s, "track_id": t.id}))
        return events
