"""People counting: public person ids, who is in the frame, unique total, stay durations and sides.

A person is a confirmed tracker track. Times are video seconds: enter_s is when the track was first
detected (not when it was confirmed, min_hits frames later), exit_s is when it was last detected.
Sides are the frame border the first / last box touched (tracker.edge_margin), None if mid-frame.

The unique total counts people, not tracks: with tracker.unpaired_cost a track may refuse a box that
looks unlike it, and a track born on such a box (one the most-pairs rule would have given a confirmed
track) gets a person id of its own but is not counted again (TrackState.new_person).
"""

from __future__ import annotations

from dataclasses import replace

from ..config import TrackerConfig
from ..types import Event, Track
from .geometry import border_side
from .reid import ReidGallery
from .tracker import TrackState


class PeopleCounter:
    def __init__(self, cfg: TrackerConfig, frame_size: tuple[int, int], gallery: ReidGallery | None = None) -> None:
        self.margin = cfg.edge_margin
        self.frame_size = frame_size
        self.gallery = gallery
        self._next_id = 1
        self._ids: dict[int, int] = {}  # tracker key -> person id, for tracks alive now
        self._open: dict[int, Track] = {}  # person id -> Track, people in the frame
        self._finished: dict[int, Track] = {}  # person id -> Track, people who left
        self.total = 0

    # -- per-frame -------------------------------------------------------------------------------

    def confirm(self, states: list[TrackState], now_s: float) -> list[Event]:
        """Give newly confirmed tracks a person id - an old one if re-id recognises them."""
        events = []
        for st in states:
            side = border_side(st.first_box, self.frame_size, self.margin)
            old = self.gallery.match(st.embedding, now_s) if self.gallery is not None else None
            if old is not None and old in self._finished:
                track = self._finished.pop(old)
                track.exit_s, track.exit_side = None, None  # back in the frame: not counted again
                track.box, track.score, track.last_seen_s = st.box, st.score, st.last_seen_s
            else:
                track = Track(id=self._next_id, box=st.box, score=st.score, enter_s=st.first_s,
                              last_seen_s=st.last_seen_s, enter_side=side)
                self._next_id += 1
                self.total += 1 if st.new_person else 0
            self._ids[st.key] = track.id
            self._open[track.id] = track
            events.append(Event("person_enter", st.first_s, {"track_id": track.id, "side": side}))
        return events

    def refresh(self, states: list[TrackState]) -> list[Track]:
        """Copy the tracker's latest boxes into the people in frame; returns them."""
        out = []
        for st in states:
            track = self._open[self._ids[st.key]]
            track.box, track.score, track.last_seen_s = st.box, st.score, st.last_seen_s
            out.append(track)
        return out

    def remove(self, states: list[TrackState]) -> list[Event]:
        """Close people whose tracks ended: they left when last seen, by the border they last touched."""
        events = []
        for st in states:
            pid = self._ids.pop(st.key, None)
            if pid is None:
                continue
            track = self._open.pop(pid)
            track.exit_s = st.last_seen_s
            track.exit_side = border_side(st.box, self.frame_size, self.margin)
            self._finished[pid] = track
            if self.gallery is not None:
                self.gallery.add(pid, st.embedding, st.last_seen_s)
            events.append(Event("person_leave", track.exit_s,
                                {"track_id": pid, "duration_s": round(track.duration_s, 2), "side": track.exit_side}))
        return events

    def person_id(self, key: int) -> int:
        return self._ids[key]

    # -- totals ----------------------------------------------------------------------------------

    @property
    def in_frame(self) -> int:
        return len(self._open)

    @property
    def avg_duration_s(self) -> float:
        done = list(self._finished.values())
        return sum(t.duration_s for t in done) / len(done) if done else 0.0

    def new_day(self) -> None:
        """Start the next day's totals: those who left are done with; those in the frame now are
        the new day's first people (same ids, so their leave events still match their enter)."""
        self._finished.clear()
        self.total = len(self._open)
        if self.gallery is not None:
            self.gallery.clear()  # a person back after midnight is one of the new day's people

    def all_tracks(self) -> list[Track]:
        return sorted([*self._finished.values(), *self._open.values()], key=lambda t: t.id)

    def snapshot(self) -> dict:
        """People in the frame now are saved as if they left when last seen, so the saved total
        matches the saved people (after a restart the tracker cannot know them again anyway)."""
        closed = [replace(t, exit_s=t.last_seen_s) if t.exit_s is None else t for t in self.all_tracks()]
        return {"total": self.total, "next_id": self._next_id, "finished": [t.to_summary() for t in closed]}

    def restore(self, snap: dict) -> None:
        self.total = int(snap["total"])
        self._next_id = max(self._next_id, int(snap["next_id"]))
        for s in snap["finished"]:
            t = Track(id=int(s["id"]), box=(0.0, 0.0, 0.0, 0.0), score=0.0, enter_s=float(s["enter_s"]),
                      last_seen_s=float(s["exit_s"]), enter_side=s["enter_side"],
                      exit_s=float(s["exit_s"]), exit_side=s["exit_side"])
            self._finished[t.id] = t
