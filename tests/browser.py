"""The browser the tests drive: Debian's chromium through Playwright (`playwright install` cannot fetch
one here), and what the tests read off a page's video."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

CHROMIUM = os.environ.get("EDGEWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium(missing: Callable[[str], NoReturn]) -> Iterator[Any]:
    """A headless chromium for a fixture to yield; `missing` (pytest.fail or pytest.skip) says what a
    missing Playwright or chromium means to the caller."""
    try:
        from playwright import sync_api
    except ImportError:
        missing("playwright is not installed: pip install playwright")
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} not found: apt-get install chromium (or set EDGEWATCH_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def video_time(page) -> float:
    return float(page.evaluate("document.getElementById('video').currentTime"))


def frame_hash(page) -> str | None:
    """The page's current video frame drawn on a small canvas, as a digest (None before the first frame)."""
    data = page.evaluate("""() => {
        const v = document.getElementById('video');
        if (!v.videoWidth) return null;
        const c = document.createElement('canvas');
        c.width = 160; c.height = 90;
        const g = c.getContext('2d');
        g.drawImage(v, 0, 0, c.width, c.height);
        return Array.from(g.getImageData(0, 0, c.width, c.height).data).join(',');
    }""")
    return None if data is None else hashlib.sha256(data.encode()).hexdigest()
