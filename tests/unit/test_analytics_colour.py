"""Colour appearance (tracker.colour): without a re-id model, the colours of people's clothes keep their
ids apart where motion cannot."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cfghelp import analytics
from edgewatch.analytics.colour import colour_embed
from edgewatch.config import validate
from edgewatch.types import Detection, Frame, ModelOutput

W, H = 768, 432
RED, BLUE, GREEN = (40, 40, 200), (200, 90, 30), (60, 170, 60)  # BGR
RNG = np.random.default_rng(3)


def person(img: np.ndarray, box: tuple[float, ...], torso: tuple, legs: tuple) -> None:
    """Draw someone: a shirt over trousers, with some texture (cloth is never one flat colour)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    mid = (y1 + y2) // 2
    for (a, b), bgr in (((y1, mid), torso), ((mid, y2), legs)):
        patch = np.clip(np.array(bgr, float) + RNG.normal(0, 12, (b - a, x2 - x1, 3)), 0, 255)
        img[a:b, x1:x2] = patch.astype(np.uint8)


def background() -> np.ndarray:
    return np.clip(RNG.normal(110, 20, (H, W, 3)), 0, 255).astype(np.uint8)


def view(img: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    return colour_embed(Frame(0, 0.0, 0.0, img), [box])[0]


def test_the_same_clothes_look_alike_and_other_clothes_do_not() -> None:
    img = background()
    a, b, c = (100, 100, 170, 320), (300, 140, 350, 300), (500, 100, 570, 320)
    person(img, a, RED, BLUE)
    person(img, b, RED, BLUE)  # the same clothes, smaller (further away) and elsewhere
    person(img, c, BLUE, RED)  # the same colours the other way round: shirt and trousers are told apart
    va, vb, vc = view(img, a), view(img, b), view(img, c)
    assert va.shape == (128,) and np.linalg.norm(va) == pytest.approx(1.0, abs=1e-5)
    assert float(va @ vb) > 0.9
    assert float(va @ vc) < 0.4


def test_a_shadow_changes_little() -> None:
    """Hue and saturation, not brightness: the same person in a shadow still looks like themself."""
    img = background()
    box = (100, 100, 170, 320)
    person(img, box, GREEN, BLUE)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    hsv[..., 2] = (hsv[..., 2] * 0.6).astype(np.uint8)
    shade = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    assert float(view(img, box) @ view(shade, box)) > 0.85


def test_a_box_too_small_or_outside_the_frame_gives_no_view() -> None:
    """One zero, as the re-id embedder gives for a box too small to crop: the tracker then has no view."""
    img = background()
    for box in ((10, 10, 13, 40), (-80, -80, -10, -10), (W + 5, 100, W + 60, 300)):
        v = view(img, box)
        assert v.shape == (1,) and not v.any()
    assert view(img, (-30, 100, 40, 320)).shape == (128,)  # partly outside: what is inside


def swap_places(colour: bool) -> tuple[list[dict[int, tuple]], tuple]:
    """A (red shirt) and B (blue) stand apart, step close, and then trade places in one step: by
    motion alone each box is nearer the other's track."""
    a = analytics(validate({"tracker": {"colour": colour}}), (W, H))
    ax = [300] * 10 + [315, 330, 345, 360] + [360] * 5 + [400] * 10
    bx = [480] * 10 + [460, 440, 420, 400] + [400] * 5 + [360] * 10
    bg = background()
    seen = []
    for i, (xa, xb) in enumerate(zip(ax, bx, strict=True)):
        box_a, box_b = (xa, 100, xa + 80, 330), (xb, 100, xb + 80, 330)
        img = bg.copy()
        person(img, box_b, BLUE, BLUE)
        person(img, box_a, RED, RED)  # A in front
        facts = a.update(ModelOutput(Frame(i, i / 10, 0.0, img), 1.0,
                                     detections=[Detection(box_a, 0.9), Detection(box_b, 0.9)]))
        seen.append({t.id: t.box for t in facts.tracks})
    return seen, (box_a, box_b)


def test_colour_keeps_two_people_who_trade_places_apart_where_motion_alone_swaps_them() -> None:
    seen, (box_a, box_b) = swap_places(colour=True)
    first = seen[5]
    id_a = next(k for k, box in first.items() if box[0] == 300)
    assert all(s[id_a] == box_a for s in seen[19:]), "A's id left A when they traded places"
    motion, _ = swap_places(colour=False)
    assert motion[-1][id_a] == box_b  # the same walk by motion alone: A's id went to B


def test_each_cue_weighs_as_measured_unless_set() -> None:
    """tracker.appearance_weight null: 3 for colour views, 2 for re-id (docs/performance.md); a value set wins."""
    from edgewatch.analytics.appearance import Appearance, tracker_config

    def weight(data: dict) -> float | None:
        cfg = validate(data)
        cam = next(iter(cfg.cameras.values()))
        look = Appearance.choose(cfg.model, cam.tracker, lambda frame, boxes: [])
        return tracker_config(cam.tracker, look).appearance_weight

    assert weight({}) == 3.0
    assert weight({"model": {"reid": {}}}) == 2.0
    assert weight({"tracker": {"appearance_weight": 1.5}}) == 1.5
    assert weight({"model": {"reid": {}}, "tracker": {"appearance_weight": 1.5}}) == 1.5
    assert weight({"tracker": {"colour": False}}) is None  # motion alone: no weight needed
