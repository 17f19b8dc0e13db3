"""The UI's overview of many cameras in Debian's Chromium, against a real Mosquitto and the real UI
server on 127.0.0.1 (no compose stack): the retained messages of two cameras, as a worker running
both publishes them, must give two tiles with their own numbers, the lost input on its tile only,
the site's sums, live stills, and a click through to each camera's page.

Needs /usr/bin/chromium (or EDGEWATCH_CHROMIUM), pip `playwright` (no `playwright install`), node
and the UI's npm packages; skips with the reason when one is missing. The overview's screenshot goes
to $EDGEWATCH_ARTIFACTS (default artifacts/).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from browser import chromium
from ui_local import REPO, FakeRelay, UiServer, Worker, ui_missing

ARTIFACTS = Path(os.environ.get("EDGEWATCH_ARTIFACTS", REPO / "artifacts"))
PASSWORD = "overview-test-pw"
LOST_DETAIL = "rtsp://10.0.0.12/stream: connection refused; reopening in 8 s"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium(pytest.skip)


@pytest.fixture
def site(mosquitto, tmp_path) -> Iterator[dict[str, Any]]:
    """Broker, relay (stills of cam-a only), UI; two cameras published as one worker process would."""
    why = ui_missing()
    if why:
        pytest.skip(why)
    relay = FakeRelay({"cam-a"})
    ui = UiServer.for_site(mosquitto, relay, PASSWORD, tmp_path / "ui")
    worker = Worker(mosquitto.host, mosquitto.port)
    worker.publish("cam-a", "status", {"state": "online", "source": "rtsp://10.0.0.11/stream",
                                        "input": {"state": "ok", "detail": "1920x1080 at 25 fps"}})
    worker.publish("cam-a", "state", {"in_frame": 2, "total": 7, "avg_duration_s": 12.5, "tracks": []})
    worker.publish("cam-a", "perf", {"fps": 10.0, "frames": 1200, "skipped_share": 0.625, "detect_fps": 4.0})
    worker.publish("cam-b", "status", {"state": "online", "source": "rtsp://10.0.0.12/stream",
                                        "input": {"state": "lost", "detail": LOST_DETAIL}})
    worker.publish("cam-b", "state", {"in_frame": 1, "total": 3, "tracks": []})
    worker.beat()
    try:
        yield {"ui": ui, "relay": relay, "worker": worker, "base": ui.base}
    finally:
        worker.close()
        ui.stop()
        relay.close()


def _page(browser, base: str, path: str = "/", width: int = 1366):
    """A new signed-in page at `path` (through the login form, as a visitor), and its list of errors."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The stand-in relay refuses cam-b's still and all video (404): the browser logs those; nothing else may be.
    network = ("Failed to load resource", "WebSocket connection to")
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith(network) else None)
    page.goto(f"{base}{path}")
    assert page.url.startswith(f"{base}/login"), page.url
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{path}")
    return ctx, page, errors


def _tile(page, camera: str, sel: str) -> str:
    return (page.text_content(f".tile[data-camera='{camera}'] {sel}") or "").strip()


def _wait_text(page, sel: str, text: str, timeout_ms: int = 10000) -> None:
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.textContent.trim() === t; }",
                           arg=[sel, text], timeout=timeout_ms)


def test_overview_tiles_totals_stills_and_camera_pages(browser, site) -> None:
    base, relay = site["base"], site["relay"]
    ctx, page, errors = _page(browser, base)
    try:
        page.wait_for_function("() => document.querySelectorAll('.tile').length === 2", timeout=10000)
        assert page.is_visible("#overview") and page.is_hidden("#camera-page")
        assert [page.get_attribute(f".tile >> nth={i}", "data-camera") for i in range(2)] == ["cam-a", "cam-b"]
        a, b = (page.locator(f".tile[data-camera='{c}']").bounding_box() for c in ("cam-a", "cam-b"))
        assert a and b and a["y"] == b["y"] and b["x"] > a["x"] + a["width"], f"tiles not side by side: {a} {b}"

        # Each tile its own numbers; the lost input on cam-b's tile only; the site's sums.
        _wait_text(page, ".tile[data-camera='cam-a'] .tile-in-frame", "2")
        _wait_text(page, ".tile[data-camera='cam-b'] .tile-in-frame", "1")
        assert _tile(page, "cam-a", ".tile-total") == "7" and _tile(page, "cam-b", ".tile-total") == "3"
        assert _tile(page, "cam-a", ".tile-worker b") == "online" and _tile(page, "cam-b", ".tile-worker b") == "online"
        assert page.is_hidden(".tile[data-camera='cam-a'] .tile-input")
        assert page.is_visible(".tile[data-camera='cam-b'] .tile-input")
        assert _tile(page, "cam-b", ".tile-input-state") == "source lost"
        assert _tile(page, "cam-b", ".tile-input-detail") == LOST_DETAIL
        assert "source lost" not in (page.text_content(".tile[data-camera='cam-a']") or "")
        assert page.text_content("#site-in-frame") == "3"
        assert page.text_content("#site-total") == "10"
        assert page.text_content("#site-online") == "2 / 2"

        # Stills: cam-a's picture is refreshed about once a second with a new query each time;
        # cam-b has none and says so, without breaking its tile.
        page.wait_for_selector(".tile[data-camera='cam-a'][data-still='ok'] img.still-img", timeout=10000)
        first = page.get_attribute(".tile[data-camera='cam-a'] img.still-img", "src")
        page.wait_for_function("(s) => document.querySelector(\".tile[data-camera='cam-a'] img.still-img\").src.endsWith(s) === false",
                               arg=first, timeout=5000)
        assert page.evaluate("document.querySelector(\".tile[data-camera='cam-a'] img.still-img\").naturalWidth") == 320
        page.wait_for_selector(".tile[data-camera='cam-b'][data-still='none']", timeout=10000)
        assert page.is_visible(".tile[data-camera='cam-b'] .no-pic")
        assert page.text_content(".tile[data-camera='cam-b'] .no-pic") == "no picture"
        asked = relay.stills["cam-a"]
        assert len(asked) >= 2 and len(set(asked)) == len(asked), f"stills not cache-busted: {asked}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-overview.png"), full_page=True)

        # A hidden tab asks for no stills; visible again, it does at once.
        page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'hidden'});
                                 document.dispatchEvent(new Event('visibilitychange')); }""")
        page.wait_for_timeout(300)  # a still already on its way may still land
        n_hidden = relay.count("cam-a")
        page.wait_for_timeout(2500)
        assert relay.count("cam-a") == n_hidden, "stills were fetched while the page was hidden"
        page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => 'visible'});
                                 document.dispatchEvent(new Event('visibilitychange')); }""")
        page.wait_for_timeout(500)
        assert relay.count("cam-a") > n_hidden, "stills did not resume when the page became visible"

        # A click on a tile opens that camera's page, at a linkable URL.
        page.click(".tile[data-camera='cam-b'] .tile-link")
        page.wait_for_url(f"{base}/?camera=cam-b")
        assert page.is_visible("#camera-page") and page.is_hidden("#overview")
        _wait_text(page, "#in-frame", "1")
        assert page.text_content("#total") == "3"
        assert page.input_value("#camera") == "cam-b"
        assert (page.text_content("#health-worker b") or "") == "online"
        assert page.is_visible("#input-state") and "source lost" in (page.text_content("#input-state") or "")
        assert page.is_hidden("#perf-skipped"), "cam-b's worker reports no skipped frames"

        # Back to the overview, and through the browser's history to the camera page again.
        page.click("#back")
        page.wait_for_url(f"{base}/")
        page.wait_for_selector("#overview:not([hidden]) .tile[data-camera='cam-a']")
        page.go_back()
        page.wait_for_url(f"{base}/?camera=cam-b")
        _wait_text(page, "#total", "3")

        # The header's select (as the stack's tests use it) switches cameras; cam-a's detector skips frames.
        page.select_option("#camera", "cam-a")
        page.wait_for_url(f"{base}/?camera=cam-a")
        _wait_text(page, "#in-frame", "2")
        assert page.text_content("#total") == "7"
        assert page.is_hidden("#input-state")
        assert page.is_visible("#perf-skipped")
        assert page.text_content("#perf-skipped") == "62.5 % · detector 4.0 fps"
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1, "camera page wider than a phone"
        page.set_viewport_size({"width": 1366, "height": 900})
        page.select_option("#camera", "")
        page.wait_for_url(f"{base}/")
        page.wait_for_selector("#overview:not([hidden])")

        # The overview fits a phone.
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)
        assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 1
        assert not errors, f"page errors: {errors}"
    finally:
        ctx.close()


def test_bookmarked_camera_page_survives_sign_in(browser, site) -> None:
    ctx, page, errors = _page(browser, site["base"], "/?camera=cam-b")
    try:
        # The page's script shows it once it has read the URL, a moment after the load on a busy machine.
        page.wait_for_selector("#camera-page:not([hidden])", timeout=10000)
        _wait_text(page, "#total", "3")
        assert not errors, f"page errors: {errors}"
    finally:
        ctx.close()


def test_cameras_follow_what_workers_publish(browser, site) -> None:
    """A camera appears with its first message (offline ones stay listed); source events are a fallback."""
    worker = site["worker"]
    ctx, page, errors = _page(browser, site["base"])
    try:
        page.wait_for_function("() => document.querySelectorAll('.tile').length === 2", timeout=10000)
        worker.publish("cam-c", "state", {"in_frame": 4, "total": 5, "tracks": []})
        worker.publish("cam-c", "status", {"state": "offline", "source": "rtsp://10.0.0.13/stream", "reason": "lost"})
        page.wait_for_selector(".tile[data-camera='cam-c'][data-worker='offline']", timeout=10000)
        assert [page.get_attribute(f".tile >> nth={i}", "data-camera") for i in range(3)] == ["cam-a", "cam-b", "cam-c"]
        # An offline worker's last state says nothing about now: its people are not counted as in frame.
        assert _tile(page, "cam-c", ".tile-in-frame") == "–" and _tile(page, "cam-c", ".tile-total") == "5"
        assert page.text_content("#site-in-frame") == "3"
        assert page.text_content("#site-total") == "15"
        assert page.text_content("#site-online") == "2 / 3"

        # A worker whose status says nothing of its input: the last source event tells it.
        worker.publish("cam-a", "status", {"state": "online", "source": "rtsp://10.0.0.11/stream"})
        worker.publish("cam-a", "events", {"id": "ev-lost-1", "seq": 1, "type": "source_lost", "detail": "EOF"}, retain=False)
        page.wait_for_selector(".tile[data-camera='cam-a'][data-input='lost']", timeout=10000)
        assert _tile(page, "cam-a", ".tile-input-detail") == "EOF"
        worker.publish("cam-a", "events", {"id": "ev-back-1", "seq": 2, "type": "source_restored", "detail": "reopened"},
                       retain=False)
        page.wait_for_selector(".tile[data-camera='cam-a'][data-input='ok']", timeout=10000)
        assert page.is_hidden(".tile[data-camera='cam-a'] .tile-input")

        # From the overview, the header's select opens a camera's page, as the stack's tests use it.
        page.select_option("#camera", "cam-c")
        page.wait_for_url(f"{site['base']}/?camera=cam-c")
        _wait_text(page, "#health-worker b", "offline")
        assert page.text_content("#total") == "5"
        assert not errors, f"page errors: {errors}"
    finally:
        ctx.close()
