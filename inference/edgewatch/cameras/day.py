"""A camera's day: its totals end at local midnight, and are kept in its state file across restarts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .. import statefile
from ..analytics import Analytics
from ..errors import EdgewatchError
from ..types import Event

log = logging.getLogger(__name__)


class DayBook:
    """`today` is the clock (injected by tests); `rolls_over` is False for one input file, counted whole."""

    def __init__(self, camera: str, path: str | None, analytics: Analytics, rolls_over: bool,
                 today: Callable[[], str] = statefile.today) -> None:
        self.camera = camera
        self.path = path
        self.analytics = analytics
        self.rolls_over = rolls_over
        self.today = today
        self.day = today()
        # A saved earlier day (the worker was down at midnight) is reported as ended, once.
        self.pending: list[Event] = self._restore(statefile.load(path, camera))

    def _restore(self, saved: statefile.SavedDay | None) -> list[Event]:
        """Carry on with today's saved totals; a saved earlier day is reported as ended."""
        if saved is None:
            return []
        if saved.date >= self.day:  # later = the clock is behind (a box without RTC before NTP): still today's
            self.analytics.restore(saved.analytics)
            self.day = saved.date
            log.info("%s: restored the totals of %s from %s", self.camera, saved.date, self.path)
            return []
        ended = Analytics(self.analytics.cfg, self.analytics.model, self.analytics.frame_size, self.analytics.embed)
        try:
            ended.restore(saved.analytics)
        except EdgewatchError as err:  # not today's: no reason to stop the camera for it
            log.warning("%s: cannot report the day %s from %s (kept as %s): %s", self.camera, saved.date, self.path,
                        statefile.set_aside(self.path), err)
            return []
        totals = ended.new_day()
        self.analytics.restore(ended.snapshot())  # today from zero, person ids carrying on
        return [day_end(saved.date, totals, 0.0, at=saved.saved_at)]

    def take_pending(self) -> list[Event]:
        pending, self.pending = self.pending, []
        return pending

    def roll(self, video_s: float, emit: Callable[[list[Event]], None]) -> None:
        """At local midnight: emit the day that ended, start the next one and save it at once (a kill
        right after must not report the same day twice on restart). ISO dates sort; a clock set back waits."""
        if not self.rolls_over or (day := self.today()) <= self.day:
            return
        emit([day_end(self.day, self.analytics.new_day(), video_s, time.time())])
        self.day = day
        self.save()

    def save(self) -> None:
        statefile.save(self.path, self.camera, self.analytics.snapshot(), self.day)


def day_end(date: str, totals: dict[str, Any], video_s: float, at: float) -> Event:
    return Event("day_end", video_s, {"date": date, **totals}, at=at)
