"""Analytics stage: model outputs in, FrameFacts (people, counts, lines, zones, events) out.

Detection outputs go through the tracker and every rule; segmentation and classification outputs
carry no people (classification feeds model.watch_class). All times are video seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..config import CameraConfig, Geometry, ModelConfig, geometry_in_frame
from ..errors import EdgewatchError
from ..types import Box, Event, Frame, FrameFacts, ModelOutput
from .alerts import AlertRules
from .classwatch import ClassWatch
from .counting import PeopleCounter
from .lines import LineCounter
from .reid import ReidGallery
from .tracker import Tracker, TrackState, lost_near
from .zones import ZoneWatcher

__all__ = ["Analytics"]

SNAPSHOT_VERSION = 1
log = logging.getLogger(__name__)

# Re-identification embeddings for boxes of one frame, their crops inferred side by side (models/reid.py).
Embed = Callable[[Frame, list[Box]], list[np.ndarray]]


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
        # Re-id on: appearance keeps ids in a crowd (tracker) and, with reid.reentry, recognises people
        # who come back (gallery).
        self.embed = embed if model.reid is not None else None
        self.gallery = ReidGallery(model.reid) if self.embed is not None and model.reid.reentry else None
        self.tracker = Tracker(cfg.tracker, model.threshold, self.frame_size)
        self.people = PeopleCounter(cfg.tracker, self.frame_size, self.gallery)
        self.lines = LineCounter(cfg.lines, self.frame_size)
        self.zones = ZoneWatcher(cfg.zones, self.frame_size)
        self.alerts = AlertRules(cfg.alerts)
        self.classwatch = ClassWatch(model.watch_class) if model.watch_class else None
        self._last_s: float | None = None
        self.geometry: dict[str, Any] | None = None  # the lines and zones the UI saved, with who and when

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
            if self.gallery is not None:
                self.gallery.clear()  # its times belong to the old clock
        self._last_s = now

        if output.detections is None:
            if output.classification is not None and self.classwatch is not None:
                events += self.classwatch.update(output.classification, now)
            return self._facts(output, [], events)

        dets = [d for d in output.detections if d.score >= self.cfg.tracker.low_threshold]
        frame = output.frame
        step = self.tracker.update(dets, now, (lambda boxes: self.embed(frame, boxes)) if self.embed is not None else None)
        if self.embed is not None:
            self._views(output.frame, step)
        events += self._remove(step.removed)
        events += self.people.confirm(step.confirmed, now)
        first_steps = []
        for st in step.confirmed:  # lines and zones see a new person's steps from their first frame
            pid = self.people.person_id(st.key)
            lost = lost_near(st, step.active, self.frame_size, self.cfg.tracker.edge_margin)
            if lost is not None:
                self.lines.hand_over(self.people.person_id(lost.key), pid)
            for t, box, score in st.history[:-1]:
                events += self.lines.update({pid: box}, t)
                events += self.zones.update({pid: box}, t)
                first_steps.append((pid, t, box, score))
            st.history.clear()
        tracks = self.people.refresh(step.active)
        seen = {self.people.person_id(st.key): st.box for st in step.active if st.visible}
        events += self.lines.update(seen, now)
        events += self.zones.update(seen, now)
        events += self.alerts.update(self.people.in_frame, tracks, now)
        events += self.zones.alerts(now)
        return self._facts(output, tracks, events, first_steps)

    def _views(self, frame: Frame, step) -> None:
        """Re-id only where identity is in question: a track just confirmed (is it someone who left
        recently?), one seen again after a gap, and a fresh view of everyone in sight every
        reid.refresh_s (what the tracker compares in a crowd, and the gallery keeps when they leave),
        unless the tracker took a view this frame. One batch for the frame."""
        now, every = frame.video_s, self.model.reid.refresh_s
        need = {st.key: st for st in step.confirmed + step.refound}
        for st in step.active:
            if st.visible and (st.embedded_s is None or now - st.embedded_s >= every):
                need.setdefault(st.key, st)
        need = {k: st for k, st in need.items() if st.embedded_s != now}  # the tracker just took a view
        if need:
            states = list(need.values())
            for st, emb in zip(states, self.embed(frame, [st.box for st in states]), strict=True):
                st.add_view(emb, now)

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
        return {
            "total": self.people.total,
            "avg_duration_s": round(self.people.avg_duration_s, 2),
            "lines": {c.name: {"in": c.in_count, "out": c.out_count} for c in self.lines.counts()},
            "zones": {z.name: {"occupancy": z.occupancy, "entered": z.entered, "max_dwell_s": z.max_dwell_s}
                      for z in self.zones.states()},
        }

    def new_day(self) -> dict[str, Any]:
        """Close the day: returns its totals and starts the next day's from the people in the frame now.
        Bounds memory too: the records of everyone who left are dropped with the day."""
        totals = self.day_totals()
        self.people.new_day()
        self.lines.new_day()
        self.zones.new_day()
        return totals

    def set_geometry(self, geometry: Geometry, video_s: float, origin: dict[str, Any]) -> list[Event]:
        """New lines and zones while running (the UI's editor): a `config_change` event naming what was
        added, removed and changed, with the final counts of what was removed, and `origin` (who, when).
        A geometry with a point outside the frame raises EdgewatchError and changes nothing."""
        w, h = self.frame_size
        outside = geometry_in_frame(geometry.lines, geometry.zones, w, h)
        if outside is not None:
            raise EdgewatchError(outside)
        changes = {"lines": _diff(self.cfg.lines, geometry.lines), "zones": _diff(self.cfg.zones, geometry.zones)}
        gone_lines = self.lines.replace(geometry.lines)
        gone_zones, events = self.zones.replace(geometry.zones)
        self.cfg = self.cfg.model_copy(update={"lines": geometry.lines, "zones": geometry.zones})
        self.geometry = {"geometry": geometry.model_dump(mode="json"), **origin}
        return events + [Event("config_change", video_s, {**origin, **changes,
                                                         "final": {"lines": gone_lines, "zones": gone_zones}})]

    def snapshot(self) -> dict[str, Any]:
        """The day's totals as plain JSON data (people still in the frame are not included), and the
        geometry the UI saved, if any (a restart counts on it before the broker hands it over again)."""
        snap = {"version": SNAPSHOT_VERSION, "people": self.people.snapshot(),
                "lines": self.lines.snapshot(), "zones": self.zones.snapshot()}
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
            self.lines.restore(snap["lines"])
            self.zones.restore(snap["zones"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise EdgewatchError(f"analytics state: malformed snapshot ({type(err).__name__}: {err})") from None

    # -------------------------------------------------------------------------------------------

    def _remove(self, states: list[TrackState]) -> list[Event]:
        events = []
        for st in states:
            pid = self.people.person_id(st.key)
            events += self.zones.leave(pid)
            self.lines.forget(pid)
        return events + self.people.remove(states)

    def _close_all(self) -> list[Event]:
        return self._remove(self.tracker.reset())

    def _facts(self, output: ModelOutput, tracks: list, events: list[Event],
               first_steps: list | None = None) -> FrameFacts:
        return FrameFacts(
            # Copies: publishers may read a frame's facts after the next frame has moved the tracks on.
            output=output, tracks=[replace(t) for t in tracks], in_frame=len(tracks), total=self.people.total,
            avg_duration_s=round(self.people.avg_duration_s, 2), lines=self.lines.counts(),
            zones=self.zones.states(), events=events, first_steps=first_steps or [],
            unsettled_since=self.tracker.unsettled_since(),
        )


def _diff(before: list, after: list) -> dict[str, list[str]]:
    """Names added, removed and changed (same name, other settings) between two lists of lines or zones."""
    old, new = {c.name: c for c in before}, {c.name: c for c in after}
    return {"added": [n for n in new if n not in old], "removed": [n for n in old if n not in new],
            "changed": [n for n in new if n in old and new[n] != old[n]]}
