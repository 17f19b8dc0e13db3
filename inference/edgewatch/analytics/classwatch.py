"""Classification watch: class_begin / class_end when model.watch_class becomes / stops being the top class.

Debounced: the change must hold for `hold_frames` frames in a row, so one odd frame does not produce
a begin/end pair. The event is dated at the first frame of the run that made the change.
"""

from __future__ import annotations

from ..types import Classification, Event

HOLD_FRAMES = 3  # at 10 fps, 0.3 s: longer than a flicker, shorter than anything worth reporting


class ClassWatch:
    def __init__(self, watch_class: str, hold_frames: int = HOLD_FRAMES) -> None:
        self.watch_class = watch_class
        self.hold = max(1, hold_frames)
        self.active = False
        self._run = 0  # frames in a row that disagree with `active`
        self._run_start: tuple[float, float] = (0.0, 0.0)  # (video_s, score) at the run's first frame
        self._last_score = 0.0

    def _score(self, cls: Classification) -> float:
        return next((p for name, p in cls.top if name == self.watch_class), 0.0)

    def update(self, cls: Classification, now_s: float) -> list[Event]:
        on_top = bool(cls.top) and cls.top[0][0] == self.watch_class
        self._last_score = self._score(cls)
        if on_top == self.active:
            self._run = 0
            return []
        if self._run == 0:
            self._run_start = (now_s, self._score(cls))
        self._run += 1
        if self._run < self.hold:
            return []
        self.active, self._run = on_top, 0
        at, score = self._run_start
        kind = "class_begin" if on_top else "class_end"
        return [Event(kind, at, {"class": self.watch_class, "score": round(score, 4)})]

    def finish(self, now_s: float) -> list[Event]:
        """End of input: an open run of the class ends here (score: its last frame's)."""
        if not self.active:
            return []
        self.active, self._run = False, 0
        return [Event("class_end", now_s, {"class": self.watch_class, "score": round(self._last_score, 4)})]
