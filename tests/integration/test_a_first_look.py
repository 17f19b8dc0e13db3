"""The demo as a newcomer first sees it after `docker compose up`: the overview with the two demo cameras,
their pictures and numbers, and nothing else. Runs first (by its name), before other tests add cameras of
their own; its screenshot is the README's (docs/images/overview.png, copied from the artifacts)."""

from __future__ import annotations

import time

from test_ui_browser import ARTIFACTS, _login, password  # noqa: F401 - fixtures


def test_the_demo_shows_its_two_cameras_with_pictures_and_numbers(stack, browser, password):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        _login(page, password, camera=None)
        for cam in ("cam1", "cam2"):
            page.wait_for_selector(f".tile[data-camera='{cam}'][data-worker='online'][data-still='ok']", timeout=90000)
        assert sorted(page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.camera)")) == ["cam1", "cam2"]
        # Somebody in cam1's picture (the course video loops every 139 s; the first walks in at 6 s).
        deadline = time.monotonic() + 160
        while page.text_content(".tile[data-camera='cam1'] .tile-in-frame").strip() in ("–", "0"):
            assert time.monotonic() < deadline, "nobody in cam1's frame within a pass of the course video"
            time.sleep(0.5)
        page.wait_for_timeout(1500)  # the next still, with the person drawn in it
        assert page.text_content(".tile[data-camera='cam2'] .tile-in-frame").strip() == "0"  # cars: nobody
        page.screenshot(path=str(ARTIFACTS / "readme-overview.png"))
    finally:
        page.close()
