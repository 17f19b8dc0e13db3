"""Alert rules, each firing once per occurrence rather than on every frame. One rule set watches one
place: the camera's frame (alerts.*) or a zone (zones[].max_people, max_dwell_s; its alerts name it).

- max_people: fires when the people in the place go above the limit; re-armed once they are back at or
  below it.
- max_dwell: fires once per stay when someone's stay in the place passes the limit (a stay in frame
  ends when the person's track does; a zone visit when they leave the zone).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from ..types import Event


class AlertRules:
    def __init__(self, max_people: int | None, max_dwell_s: float | None, zone: str | None = None) -> None:
        self.max_people = max_people
        self.max_dwell_s = max_dwell_s
        self._where: dict[str, Any] = {} if zone is None else {"zone": zone}
        self._crowded = False
        self._dwell_fired: set[Hashable] = set()  # the stays alerted for, while they last

    def keep_state(self, old: AlertRules) -> None:
        """The place's rules changed while running (the UI's editor): what fired stays fired."""
        self._crowded, self._dwell_fired = old._crowded, old._dwell_fired

    def update(self, people: int, stays: Iterable[tuple[Hashable, int, float]], now_s: float) -> list[Event]:
        """`people` in the place now; `stays`: each stay going on as (a key that is the same through the
        stay, person id, seconds so far), read only if max_dwell is set: pass a generator, so a place
        without the rule does not list its stays every frame."""
        events = []
        if self.max_people is not None:
            crowded = people > self.max_people
            if crowded and not self._crowded:
                events.append(Event("alert", now_s, {"rule": "max_people", "value": people,
                                                     "limit": self.max_people, **self._where}))
            self._crowded = crowded
        if self.max_dwell_s is not None:
            going_on = set()
            for key, pid, seconds in stays:
                going_on.add(key)
                if key not in self._dwell_fired and seconds > self.max_dwell_s:
                    self._dwell_fired.add(key)
                    events.append(Event("alert", now_s, {"rule": "max_dwell", "value": round(seconds, 2),
                                                         "limit": self.max_dwell_s, "track_id": pid, **self._where}))
            self._dwell_fired &= going_on
        return events
