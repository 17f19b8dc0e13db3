"""Lines drawn in the UI count in the running stack's worker (docker compose up): Debian's Chromium signs
in, draws a line across the path people take in the course video (camera cam1), saves it; within one
pass of the video its counts rise on the page, and today's history chart shows the same crossings as
the events stored; a point dragged off the picture is refused beside the shape and nothing is saved;
the worker container restarts and the line is still drawn and counting, and so after the broker and
the UI restart. Runs last: it leaves cam1 with no lines again, as the demo config has them."""

from __future__ import annotations

import json
import time
import urllib.request

from editor_steps import charted_crossings, drag_end_off_picture, draw_line, line_count, wait_line_count
from test_ui_browser import ARTIFACTS, BASE, WAIT_S, _login, password  # noqa: F401 - fixtures


def _get(page, path: str) -> dict:
    cookie = next(c for c in page.context.cookies() if c["name"] == "ew_session")
    req = urllib.request.Request(f"{BASE}{path}", headers={"Cookie": f"ew_session={cookie['value']}"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())


def _wait_ui(timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{BASE}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"the UI did not come back within {timeout_s:.0f} s")


def _put(page, body: dict) -> int:
    cookie = next(c for c in page.context.cookies() if c["name"] == "ew_session")
    req = urllib.request.Request(f"{BASE}/api/cameras/cam1/geometry", data=json.dumps(body).encode(), method="PUT",
                                 headers={"Cookie": f"ew_session={cookie['value']}", "Origin": BASE,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=20) as r:
        return r.status


def test_a_line_drawn_in_the_browser_counts_in_the_stack(browser, password, stack):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1366, "height": 1000})
    page = ctx.new_page()
    try:
        _login(page, password)
        page.wait_for_selector("#geo-edit:not([hidden])", timeout=30000)
        assert page.get_attribute("#geo-stage", "data-frame") == "768x432"
        draw_line(page, "entry")
        page.click("#geo-save")
        page.wait_for_function("() => document.querySelector('#geo-status').textContent.startsWith('Saved')",
                               timeout=15000)
        # Applied by the worker (the UI answers only then), through the broker's ACL as the stack has it.
        assert page.text_content("#geo-status") == "Saved: the worker counts on it now."
        page.wait_for_selector("#events tr:has-text('lines and zones saved by session')", timeout=15000)
        wait_line_count(page, "entry", 1, WAIT_S * 1000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "stack-ui-editor.png"), full_page=True)
        counted = line_count(page, "entry")

        # Today's history by hour shows what the worker published: the same as the events stored.
        charted = charted_crossings(page, "entry")
        stored = [e["direction"] for e in _get(page, "/api/events?camera=cam1&limit=5000")["events"]
                  if e["type"] == "line_cross" and e["line"] == "entry"]
        assert charted == [stored.count("in"), stored.count("out")], (charted, stored)
        page.screenshot(path=str(ARTIFACTS / "stack-ui-history.png"), full_page=True)

        # A point dragged off the picture: the error beside the shape, nothing saved.
        before = _get(page, "/api/cameras/cam1/geometry")["config_id"]
        drag_end_off_picture(page, "entry")
        assert "outside the 768x432 frame" in page.text_content("#geo-panel-error")
        assert _get(page, "/api/cameras/cam1/geometry")["config_id"] == before
        page.click("#geo-cancel")

        # The worker restarts, then the broker and the UI: the line is still drawn and counting.
        stack.compose("restart", "inference", timeout=120)
        page.reload()
        page.wait_for_selector("#geo-svg g.geo-line[data-name='entry']", timeout=60000)
        assert page.text_content("#geo-origin") == "saved in the UI"
        wait_line_count(page, "entry", counted + 1, WAIT_S * 1000)  # still counting after it
        stack.compose("restart", "broker", "ui", timeout=180)
        _wait_ui()
        _login(page, password)
        page.wait_for_selector("#geo-svg g.geo-line[data-name='entry']", timeout=90000)
        assert page.text_content("#geo-origin") == "saved in the UI"
    finally:
        try:
            _put(page, {"lines": [], "zones": []})  # the demo's own: no lines
        except (OSError, StopIteration):
            pass  # best effort: the test's own failure, if any, is what counts
        finally:
            ctx.close()
