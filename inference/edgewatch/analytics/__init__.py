"""Analytics stage: model outputs in, FrameFacts (people, counts, lines, zones, events) out.

Detection outputs go through the tracker and every rule; segmentation and classification outputs
carry no people (classification feeds model.watch_class). All times are video seconds.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ..config import CameraConfig, Geometry, ModelConfig
from ..errors import EdgewatchError
from ..types import Box, Event, FrameFacts, ModelOutput
from .alerts import AlertRules
from .appearance import Appearance, Embed, tracker_config
from .classwatch import ClassWatch
from .counting import PeopleCounter
from .places import Places
from .tracker import Tracker, TrackState, lost_near

__all__ = ["Analytics"]

SNAPSHOT_VERSION = 1
log = logging.getLogger(__name__)


class Analytics:
    """One camera's analytics: its own tracker, counts, lines, zones and alerts."""

    def __init__(self, cfg: CameraConfig, model: ModelConfig, frame_size: tuple[int, int],
                 embed: Embed | None = None) -> None:
        w, h = frame_size
        if w <= 0 or h <= 0:
            raise EdgewatchError(f"analytics: frame size must be positive, got {w}x{h}")
        self.cfg = cfg
        self.model = model
        self.frame_size = (int(w), int(h))
        # Keeps ids apart in a crowd where motion is ambiguous and, with reid.reentry, recognises
        # people who come back (appearance.py); None = motion alone.
        self.appearance = Appearance.choose(model, cfg.tracker, embed)
        gallery = self.appearance.gallery if self.appearance is not None else None
        self.tracker = Tracker(tracker_config(cfg.tracker, self.appearance), model.threshold, self.frame_size)
        self.people = PeopleCounter(cfg.tracker, self.frame_size, gallery)
        self.places = Places(cfg.lines, cfg.zones, self.frame_size)
        self.alerts = AlertRules(cfg.alerts.max_people, cfg.alerts.max_dwell_s)
        self.classwatch = ClassWatch(model.watch_class) if model.watch_class else None
        self._last_s: float | None = None

    @property
    def embed(self) -> Embed | None:
        """What this camera's people are viewed by (a re-id model's or colour views), if anything."""
        return self.appearance.embed if self.appearance is not None else None

    @property
    def geometry(self) -> dict[str, Any] | None:
        """The lines and zones the UI saved, with who and when (None: the config file's)."""
        return self.places.saved

    def standing_boxes(self) -> list[Box]:
        """Where the people standing still are (the motion gate may leave out what moves there)."""
        return [tr.box for tr in self.tracker.standing()]

    def hold(self, output: ModelOutput, still: bool = False, standing: bool = False) -> FrameFacts:
        """A frame the detector skipped: everyone stays where last seen. `still` (the motion gate saw
        nothing move): nobody can have left either, so the time since counts as seen and not as lost.
        `standing` (only people standing still moved, where they stand): they count as seen; the
        others age as usual."""
        if (still or standing) and self._last_s is not None and output.frame.video_s > self._last_s:
            self.tracker.pause(output.frame.video_s, self.tracker.standing() if standing else None)
            self._last_s = output.frame.video_s
        return self._facts(output, self.people.refresh(self.tracker.active()), [])

    def update(self, output: ModelOutput) -> FrameFacts:
        now = output.frame.video_s
        events: list[Event] = []
        if self._last_s is not None and now < self._last_s:
            # The clock went back (a looped file starts again): nobody can be matched across the
            # jump, so everyone present leaves at the last time seen; totals carry on.
            events += self._close_all()
            if self.appearance is not None and self.appearance.gallery is not None:
                self.appearance.gallery.clear()  # its times belong to the old clock
        self._last_s = now

        if output.detections is None:
            if output.classification is not None and self.classwatch is not None:
                events += self.classwatch.update(output.classification, now)
            return self._facts(output, [], events)

        dets = [d for d in output.detections if d.score >= self.cfg.tracker.low_threshold]
        frame = output.frame
        look = self.appearance
        step = self.tracker.update(dets, now, look.of(frame) if look is not None else None)
        if look is not None:
            look.take_views(frame, step)
        events += self._remove(step.removed)
        events += self.people.confirm(step.confirmed, now)
        first_steps = []
        for st in step.confirmed:  # lines and zones see a new person's steps from their first frame
            pid = self.people.person_id(st.key)
            lost = lost_near(st, step.active, self.frame_size, self.cfg.tracker.edge_margin,
                             self.cfg.tracker.appearance_min if look is not None else None, step.glimpses)
            if lost is not None:
                lost.succeeded_s = now
                if lost.confirmed:
                    self.places.hand_over(self.people.person_id(lost.key), pid)
                else:  # a glimpse: no person, no sides kept; where it was seen says the side
                    self.places.start_at(pid, lost.box)
            for t, box, score in st.history[:-1]:
                events += self.places.update({pid: box}, t)
                first_steps.append((pid, t, box, score))
            st.history.clear()
        tracks = self.people.refresh(step.active)
        seen = {self.people.person_id(st.key): st.box for st in step.active if st.visible}
        events += self.places.update(seen, now)
        events += self.alerts.update(self.people.in_frame, ((t.id, t.id, t.duration_s) for t in tracks), now)
        events += self.places.alerts(now)
        return self._facts(output, tracks, events, first_steps)

    def finish(self, video_s: float) -> list[Event]:
        """End of input: everyone still present leaves (at the time last seen), so durations are complete."""
        events = self._close_all()
        if self.classwatch is not None:
            events += self.classwatch.finish(video_s)
        return events

    def summary(self) -> dict[str, Any]:
        return {**self.day_totals(), "tracks": [t.to_summary() for t in self.people.all_tracks()]}

    def day_totals(self) -> dict[str, Any]:
        """The day so far in one flat record (the `day_end` event's data): what a report needs."""
        return {"total": self.people.total, "avg_duration_s": round(self.people.avg_duration_s, 2),
                **self.places.totals()}

    def new_day(self) -> dict[str, Any]:
        """Close the day: returns its totals and starts the next day's from the people in the frame now.
        Bounds memory too: the records of everyone who left are dropped with the day."""
        totals = self.day_totals()
        self.people.new_day()
        self.places.new_day()
        return totals

    def set_geometry(self, geometry: Geometry, video_s: float, origin: dict[str, Any]) -> list[Event]:
        """New lines and zones while running (the UI's editor): a `config_change` event naming what was
        added, removed and changed, with the final counts of what was removed, and `origin` (who, when).
        A geometry with a point outside the frame raises EdgewatchError and changes nothing."""
        events = self.places.replace(geometry, video_s, origin)
        # The camera's config names what it counts on now: what the UI shows, and a day restored from it.
        self.cfg = self.cfg.model_copy(update={"lines": geometry.lines, "zones": geometry.zones})
        return events

    def snapshot(self) -> dict[str, Any]:
        """The day's totals as plain JSON data (people still in the frame are not included), and the
        geometry the UI saved, if any (a restart counts on it before the broker hands it over again)."""
        snap = {"version": SNAPSHOT_VERSION, "people": self.people.snapshot(), **self.places.snapshot()}
        if self.geometry is not None:
            snap["geometry"] = self.geometry
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        """Carry on from a snapshot; call before the first update."""
        try:
            if snap.get("version") != SNAPSHOT_VERSION:
                raise EdgewatchError(f"analytics state: unsupported version {snap.get('version')!r}")
            saved = snap.get("geometry")
            if saved is not None:  # before the counts: they are restored by name onto these lines
                geometry = Geometry.model_validate(saved["geometry"])
                try:
                    self.set_geometry(geometry, 0.0, {k: v for k, v in saved.items() if k != "geometry"})
                except EdgewatchError as err:  # e.g. the camera's resolution changed: counting goes on
                    log.warning("the lines and zones saved in the UI do not fit this camera's frame (%s); "
                                "counting on the config file's until they are saved again", err)
            self.people.restore(snap["people"])
            self.places.restore(snap)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise EdgewatchError(f"analytics state: malformed snapshot ({type(err).__name__}: {err})") from None

    # -------------------------------------------------------------------------------------------

    def _remove(self, states: list[TrackState]) -> list[Event]:
        events = []
        for st in states:
            events += self.places.leave(self.people.person_id(st.key))
        return events + self.people.remove(states)

    def _close_all(self) -> list[Event]:
        return self._remove(self.tracker.reset())

    def _facts(self, output: ModelOutput, tracks: list, events: list[Event],
               first_steps: list | None = None) -> FrameFacts:
        lines, zones = self.places.counts()
        return FrameFacts(
            # Copies: publishers may read a frame's facts after the next frame has moved the tracks on.
            output=output, tracks=[replace(t) for t in tracks], in_frame=len(tracks), total=self.people.total,
            avg_duration_s=round(self.people.avg_duration_s, 2), lines=lines,
            zones=zones, events=events, first_steps=first_steps or [],
            unsettled_since=self.tracker.unsettled_since(),
        )

