"""The counting knobs: the anchor point of lines and zones, a line's min_frames, a zone's inertia."""

from __future__ import annotations

from edgewatch.analytics.lines import CountingLine
from edgewatch.analytics.zones import Zone
from edgewatch.config import LineConfig, ZoneConfig

# A horizontal line at y=200 across the frame; a person's box 60x180.
LINE = {"name": "door", "points": [[0, 200], [768, 200]]}


def box(cx: float, bottom: float) -> tuple[float, float, float, float]:
    return (cx - 30, bottom - 180, cx + 30, bottom)


def walk(line: CountingLine, bottoms: list[float]) -> list[str]:
    return [ev.data["direction"] for i, b in enumerate(bottoms) if (ev := line.update(1, box(300, b), i / 10))]


def test_anchor_bottom_center_counts_the_feet_and_center_the_middle() -> None:
    # Feet go from y=150 to y=250 (they cross y=200); the box's centre stays above it (60..160).
    path = [150, 170, 190, 210, 230, 250]
    assert walk(CountingLine(LineConfig(**LINE), band=5), path) == ["out"]
    assert walk(CountingLine(LineConfig(**LINE, anchor="center"), band=5), path) == []
    # The same walk 100 px lower: the centre crosses too (an overhead camera sees the middle of people).
    assert walk(CountingLine(LineConfig(**LINE, anchor="center"), band=5), [b + 100 for b in path]) == ["out"]


def test_min_frames_needs_that_many_frames_on_the_new_side() -> None:
    # A box that swaps onto the other side for two frames and back (a neighbour's box in a crowd).
    blip = [150, 150, 260, 260, 150, 150]
    assert walk(CountingLine(LineConfig(**LINE), band=5), blip) == ["out", "in"]
    assert walk(CountingLine(LineConfig(**LINE, min_frames=3), band=5), blip) == []
    # A real crossing still counts, once it has been on the new side for three frames.
    line = CountingLine(LineConfig(**LINE, min_frames=3), band=5)
    events = [(i, ev.data["direction"]) for i, b in enumerate([150, 180, 230, 250, 270, 290])
              if (ev := line.update(1, box(300, b), i / 10))]
    assert events == [(4, "out")]


def test_zone_inertia_needs_frames_inside_to_enter_and_outside_to_leave() -> None:
    square = ZoneConfig(name="till", polygon=[[200, 200], [400, 200], [400, 400], [200, 400]])
    # Feet inside for one frame only (a flicker at the border), then a real visit of 5 frames.
    feet = [150, 250, 150, 150, 250, 260, 270, 280, 290, 150, 150, 150]
    for inertia, visits in ((1, 2), (3, 1)):
        zone = Zone(ZoneConfig(**{**square.model_dump(), "inertia": inertia}), band=5)
        events = [ev for i, b in enumerate(feet) if (ev := zone.update(1, box(300, b), i / 10))]
        assert [e.type for e in events] == ["zone_enter", "zone_leave"] * visits
        assert zone.entered == visits
    # With inertia the visit starts at its first frame inside, and ends when last seen inside.
    assert events[0].video_s == 0.4 and events[1].video_s == 0.8
    assert events[1].data["dwell_s"] == 0.4
