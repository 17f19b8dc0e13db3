"""--detections and --tracks: MOTChallenge files (mot.py), so a run can be scored with standard tools
and its detections fed to another tracker."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TextIO

from .. import mot
from ..errors import EdgewatchError
from ..types import Box, FrameFacts
from .outputs import Output


def _open(path: str, what: str) -> TextIO:
    try:
        return open(path, "w", buffering=1 << 16)  # noqa: SIM115 - closed by the output's close()
    except OSError as err:
        raise EdgewatchError(f"{what} file {path}: cannot write ({err.strerror or err})") from None


class DetectionsOutput(Output):
    """The detections the tracker was given (tracker.low_threshold and up), id -1."""

    def __init__(self, path: str, low_threshold: float) -> None:
        self.file = _open(path, "detections")
        self.low = low_threshold

    def frame(self, facts: FrameFacts) -> None:
        out, n = facts.output, facts.frame.index + 1
        if out.detections and not out.held:
            for d in out.detections:
                if d.score >= self.low:
                    self.file.write(mot.row(n, -1, d.box, d.score))

    def close(self) -> list[str]:
        self.file.close()
        return []


@dataclass
class _Held:
    video_s: float
    number: int  # MOT frame number, from 1
    rows: dict[int, tuple[Box, float]] = field(default_factory=dict)  # person id -> box, score


class TracksOutput(Output):
    """Every frame's people, where the tracker holds them, in frame order.

    A frame is written a little late, so the file says what the tracker came to know:
    - a person counts once their track is confirmed (tracker.min_hits frames), but was there from
      their first frame, as lines and zones replay: a frame waits while a track seen in it may still be
      confirmed, and gets those first steps;
    - a person hidden for a moment (behind someone) and found again is still in the frame (they count
      in `in_frame` meanwhile): a frame waits up to tracker.max_lost_s, and a person found again gets
      the frames they were missed in, their box moved evenly from where they were last seen to where they
      were found (ByteTrack's interpolation of its MOT results, done as the frames go).
    A track is written where it was detected; on a frame the detector skipped (detect.fps, motion gate)
    where it is held, as drawn."""

    def __init__(self, path: str, fill_s: float) -> None:
        self.file = _open(path, "tracks")
        self.fill_s = fill_s
        self._held: deque[_Held] = deque()  # frames not written yet, oldest first (a few seconds' worth)
        self._last: dict[int, tuple[float, int, Box]] = {}  # person id -> video s, frame number, box of their last row

    def frame(self, facts: FrameFacts) -> None:
        out, now = facts.output, facts.frame.video_s
        if self._held and now < self._held[-1].video_s:
            self._write_until(None)  # the clock went back (a looped file): what came before is final
            self._last.clear()
        for pid, t, box, score in facts.first_steps:
            # Always found: frames wait from a pending track's first sighting.
            held = next((h for h in self._held if h.video_s == t), None)
            if held is not None:
                held.rows[pid] = (box, score)
        frame = _Held(now, facts.frame.index + 1)
        for t in facts.tracks:
            if out.held or t.last_seen_s >= now:
                self._fill(t.id, now, frame.number, t.box, t.score)
                frame.rows[t.id] = (t.box, t.score)
                self._last[t.id] = (now, frame.number, t.box)
        self._held.append(frame)
        until = now - self.fill_s
        self._write_until(until if facts.unsettled_since is None else min(until, facts.unsettled_since))

    def _fill(self, pid: int, now: float, number: int, box: Box, score: float) -> None:
        """Someone found again after a gap: their box in the waiting frames they were missed in."""
        last = self._last.get(pid)
        if last is None or last[1] >= number - 1 or not self._held or last[0] < self._held[0].video_s:
            return
        t0, _, b0 = last
        for held in self._held:
            if t0 < held.video_s and pid not in held.rows:
                w = (held.video_s - t0) / (now - t0)
                held.rows[pid] = (tuple((1 - w) * a + w * b for a, b in zip(b0, box, strict=True)), score)

    def _write_until(self, until_s: float | None) -> None:
        """Write the waiting frames before `until_s` (all of them for None)."""
        while self._held and (until_s is None or self._held[0].video_s < until_s):
            held = self._held.popleft()
            self.file.writelines(mot.row(held.number, pid, box, score) for pid, (box, score) in held.rows.items())

    def close(self) -> list[str]:
        self._write_until(None)
        self.file.close()
        return []
