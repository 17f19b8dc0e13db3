"""Lines drawn in the UI's editor count in the running worker: Debian's Chromium on the real UI server,
a real Mosquitto and the real worker on the course video (paced, looped) — the whole path of a saved
line (page -> API -> broker -> worker -> counts on the page), without the compose stack. A stand-in
relay serves the still the editor draws on. Screenshots of the editor go to $EDGEWATCH_ARTIFACTS.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
from test_ui_overview_browser import ARTIFACTS, PASSWORD, _page, browser  # noqa: F401 - fixture
from editor_steps import charted_crossings, draw_line, drag_end_off_picture, frame_to_page, line_count, show_stage, wait_line_count
from ui_local import FakeRelay, UiServer, ui_missing


class Worker:
    """`edgewatch` on the course video as camera `shop`, paced and looped, with a state file."""

    def __init__(self, broker, videos: Path, env: dict, tmp: Path) -> None:
        cfg = tmp / "shop.yaml"
        cfg.write_text(f"camera: shop\nstate_file: {tmp / 'shop.json'}\nmqtt:\n  drain_timeout_s: 2\n"
                       f"  outbox: {tmp / 'outbox.sqlite'}\n")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgewatch", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "--realtime",
             "--loop", "-c", str(cfg), "--mqtt-host", broker.host, "--mqtt-port", str(broker.port),
             "-m", "person-detection-retail-0013", "--no-progress"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=60)[1]


@pytest.fixture
def site(mosquitto, videos, worker_env, tmp_path) -> Iterator[dict[str, Any]]:
    why = ui_missing()
    if why:
        pytest.skip(why)
    relay = FakeRelay({"shop"})
    ui = UiServer.for_site(mosquitto, relay, PASSWORD, tmp_path / "ui")
    state = {"worker": Worker(mosquitto, videos, worker_env, tmp_path)}
    try:
        yield {"base": ui.base, "state": state, "restart": lambda: Worker(mosquitto, videos, worker_env, tmp_path)}
    finally:
        state["worker"].stop()
        ui.stop()
        relay.close()


def test_a_line_drawn_in_the_editor_counts_and_survives_a_worker_restart(browser, site) -> None:  # noqa: F811
    base = site["base"]
    ctx, page, errors = _page(browser, base, "/?camera=shop")
    try:
        page.wait_for_selector("#geo-edit:not([hidden])", timeout=30000)
        assert page.get_attribute("#geo-stage", "data-frame") == "768x432"
        assert page.text_content("#geo-origin") == "from the config file"

        # Draw a line across the floor near the bottom, where everyone walks in, and name it.
        draw_line(page, "entry")
        page.select_option("#geo-anchor", "bottom_center")
        # And a zone round the table, corner by corner, with its own alert.
        page.click("#geo-add-zone")
        show_stage(page)
        for x, y in ((330, 200), (560, 200), (560, 380), (330, 380)):
            page.mouse.click(*frame_to_page(page, x, y))
        page.click("#geo-close-zone")
        page.fill("#geo-name", "table")
        page.fill("#geo-max-people", "3")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-editor.png"), full_page=True)
        page.click("#geo-save")
        page.wait_for_function("() => document.querySelector('#geo-status').textContent.startsWith('Saved')", timeout=10000)
        assert page.text_content("#geo-status") == "Saved: the worker counts on it now."
        assert page.text_content("#geo-origin") == "saved in the UI"
        saved = _api(page, base)
        [line] = saved["lines"]
        assert line["name"] == "entry" and abs(line["points"][0][1] - 400) < 3 and abs(line["points"][1][1] - 400) < 3
        [zone] = saved["zones"]
        assert zone["name"] == "table" and zone["max_people"] == 3 and len(zone["polygon"]) == 4
        assert all(abs(px - x) < 3 and abs(py - y) < 3 for (px, py), (x, y) in
                   zip(zone["polygon"], ((330, 200), (560, 200), (560, 380), (330, 380)), strict=True))
        assert page.text_content("#geo-svg g.geo-zone[data-name='table'] text") == "table (alert > 3 people)"
        assert page.locator("#geo-svg g.geo-line[data-name='entry']").count() == 1
        # The change is in the event list, with the session that made it.
        page.wait_for_selector("#events tr:has-text('lines and zones saved by session')", timeout=10000)

        # Within one pass of the video the line counts on the page (a person walks in every ~20 s).
        wait_line_count(page, "entry", 1, 150000)
        counted = line_count(page, "entry")

        # Today's history by hour shows the counts the worker published: the same as the events stored.
        charted = charted_crossings(page, "entry")
        stored = [e["direction"] for e in _api_get(page, base, "/api/events?camera=shop&limit=5000")["events"]
                  if e["type"] == "line_cross" and e["line"] == "entry"]
        assert charted == [stored.count("in"), stored.count("out")] and sum(charted) >= 1, (charted, stored)
        assert "times are the site's (UTC)" in page.text_content("#camera-history .hist-tz")
        unique = page.evaluate("""() => { const t = document.querySelector("#camera-history [data-chart='people'] table.hist-table");
            return [...t.rows].slice(1).reduce((a, r) => a + Number(r.cells[1].textContent), 0); }""")
        assert unique >= 1
        page.screenshot(path=str(ARTIFACTS / "ui-history.png"), full_page=True)

        # A point dragged off the picture: the error next to the shape, nothing saved.
        drag_end_off_picture(page, "entry")
        assert "lines.0.points" in page.text_content("#geo-status") and "outside the 768x432 frame" in page.text_content("#geo-status")
        assert page.locator("#geo-svg g.geo-line.bad text.geo-error").count() == 1
        assert "outside" in page.text_content("#geo-panel-error")
        page.screenshot(path=str(ARTIFACTS / "ui-editor-error.png"), full_page=True)
        assert _api(page, base) == saved, "a refused geometry was saved"
        page.click("#geo-cancel")

        # The worker restarts: the line is still drawn, and its count carries on.
        err = site["state"]["worker"].stop()
        assert site["state"]["worker"].proc.returncode == 0, err
        site["state"]["worker"] = site["restart"]()
        page.reload()
        page.wait_for_selector("#geo-svg g.geo-line[data-name='entry']", timeout=30000)
        assert page.text_content("#geo-origin") == "saved in the UI"
        wait_line_count(page, "entry", counted, 30000)
        assert not errors, errors
    finally:
        ctx.close()


def _api(page, base: str) -> dict:
    """What the camera counts on now, as the API gives it."""
    body = _api_get(page, base, "/api/cameras/shop/geometry")
    return {k: body[k] for k in ("lines", "zones", "config_id", "origin")}


def _api_get(page, base: str, path: str) -> dict:
    cookie = next(c for c in page.context.cookies() if c["name"] == "ew_session")
    req = urllib.request.Request(f"{base}{path}", headers={"Cookie": f"ew_session={cookie['value']}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())
