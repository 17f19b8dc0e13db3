"""Colour appearance (tracker.colour): the colours of people's clothes keep their ids apart where motion
cannot, alone or beside a re-id model's embeddings."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cfghelp import only
from edgewatch.analytics import Analytics
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


def look_alike(frame: Frame, boxes: list) -> list[np.ndarray]:
    """Stands in for a re-id model that cannot tell these people apart: everyone gets one embedding (the
    real model runs in tests/unit/test_worker_models.py)."""
    return [np.full(256, 1 / 16, np.float32) for _ in boxes]


def swap_places(colour: bool, reid: bool = False) -> tuple[list[dict[int, tuple]], tuple]:
    """A (red shirt) and B (blue) stand apart, step close, and then trade places in one step: by
    motion alone each box is nearer the other's track."""
    cfg = validate({"tracker": {"colour": colour}, **({"model": {"reid": {}}} if reid else {})})
    a = Analytics(only(cfg), cfg.model, (W, H), look_alike if reid else None)
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


def test_with_reid_colour_still_tells_apart_people_its_embeddings_do_not() -> None:
    """With model.reid, colour views sit beside its embeddings (tracker.colour): the same walk, with a re-id
    model that sees A and B alike, keeps their ids apart; with tracker.colour off, re-id alone swaps them."""
    seen, (box_a, _) = swap_places(colour=True, reid=True)
    id_a = next(k for k, box in seen[5].items() if box[0] == 300)
    assert all(s[id_a] == box_a for s in seen[19:]), "A's id left A when they traded places"
    alone, (_, box_b) = swap_places(colour=False, reid=True)
    assert alone[-1][id_a] == box_b


def test_a_view_with_reid_weighs_both_cues_and_keeps_the_embedding_for_re_entry() -> None:
    """Cosine of two views = (1 - COLOUR_SHARE) x the embeddings' + COLOUR_SHARE x the colour views'; the
    re-entry gallery compares the embeddings alone (its threshold is re-id's): someone back in another
    coat is still themself, someone else in the same clothes is not."""
    from edgewatch.analytics.appearance import COLOUR_SHARE, reid_part, with_colour
    from edgewatch.analytics.reid import ReidGallery
    from edgewatch.config import ReidConfig

    rng = np.random.default_rng(5)
    alice, bob = (v / np.linalg.norm(v) for v in rng.normal(size=(2, 256)).astype(np.float32))
    img = background()
    red, blue, tiny = (100, 100, 170, 320), (300, 100, 370, 320), (500, 10, 503, 40)
    person(img, red, RED, RED)
    person(img, blue, BLUE, BLUE)
    frame = Frame(0, 0.0, 0.0, img)
    who = {red: alice, blue: alice, tiny: alice}
    embed = with_colour(lambda f, boxes: [who[b] for b in boxes])
    a_red, a_blue, none = embed(frame, [red, blue, tiny])
    assert none.shape == (1,) and not none.any()  # too small for a colour view: no view at all
    assert np.linalg.norm(a_red) == pytest.approx(1.0, abs=1e-5)
    colours = float(view(img, red) @ view(img, blue))
    assert float(a_red @ a_blue) == pytest.approx((1 - COLOUR_SHARE) * 1.0 + COLOUR_SHARE * colours, abs=1e-5)
    np.testing.assert_allclose(reid_part(a_blue), alice, atol=1e-6)
    who[red] = bob
    (b_red,) = embed(frame, [red])
    gallery = ReidGallery(ReidConfig(threshold=0.6), reid_part)
    gallery.add(1, a_red, left_s=0.0)  # Alice left in red
    assert gallery.match(b_red, now_s=1.0) is None  # Bob in red is not her
    assert gallery.match(a_blue, now_s=1.0) == 1  # she came back in blue


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
