"""Steps on the UI's lines and zones editor and history, shared by the browser tests with a local UI
(tests/unit/test_ui_editor_browser.py) and against the compose stack (tests/integration/test_ui_editor.py)."""

from __future__ import annotations

FRAME = (768, 432)  # the course video's frame: the editor's coordinates


def show_stage(page) -> None:
    """The picture whole in the viewport: the mouse works in viewport coordinates."""
    page.evaluate("document.querySelector('#geo-stage').scrollIntoView({block: 'center'})")


def frame_to_page(page, x: float, y: float) -> tuple[float, float]:
    box = page.locator("#geo-stage").bounding_box()
    return box["x"] + x / FRAME[0] * box["width"], box["y"] + y / FRAME[1] * box["height"]


def draw_line(page, name: str, y: float = 400) -> None:
    """Edit, Add line, drag across the floor at `y` (where everyone in the course video walks in), name it."""
    page.click("#geo-edit")
    page.click("#geo-add-line")
    show_stage(page)
    page.mouse.move(*frame_to_page(page, 20, y))
    page.mouse.down()
    page.mouse.move(*frame_to_page(page, 400, y), steps=5)
    page.mouse.move(*frame_to_page(page, 748, y), steps=5)
    page.mouse.up()
    page.fill("#geo-name", name)


def line_count(page, name: str) -> int:
    """In + out of a line in the camera page's table, -1 if it is not there."""
    return page.evaluate("""(n) => { const row = [...document.querySelectorAll('#lines tr')]
        .find((r) => r.firstChild && r.firstChild.textContent === n);
        return row ? Number(row.children[1].textContent) + Number(row.children[2].textContent) : -1; }""", name)


def wait_line_count(page, name: str, at_least: int, timeout_ms: float) -> None:
    page.wait_for_function("""([n, k]) => { const r = [...document.querySelectorAll('#lines tr')].find((x) =>
        x.firstChild && x.firstChild.textContent === n); return r &&
        Number(r.children[1].textContent) + Number(r.children[2].textContent) >= k; }""", arg=[name, at_least],
                           timeout=timeout_ms)


def charted_crossings(page, line: str) -> list[int]:
    """Today's history by hour, reloaded: [in, out] of `line` summed over the chart's table."""
    page.select_option("#camera-history .hist-range", "week")
    page.select_option("#camera-history .hist-range", "day")
    page.wait_for_selector("#camera-history [data-chart='lines'] table.hist-table", state="attached", timeout=15000)
    return page.evaluate("""(line) => {
        const t = document.querySelector("#camera-history [data-chart='lines'] table.hist-table");
        const head = [...t.rows[0].cells].map((c) => c.textContent);
        const sum = (name) => [...t.rows].slice(1).reduce((a, r) => a + Number(r.cells[head.indexOf(name)].textContent), 0);
        return [sum(`${line} in`), sum(`${line} out`)]; }""", line)


def drag_end_off_picture(page, line: str) -> None:
    """Edit, drag the line's second end 60 px past the picture's right edge, Save; waits for the refusal."""
    page.click("#geo-edit")
    show_stage(page)
    end = page.locator(f"#geo-svg g.geo-line[data-name='{line}'] circle >> nth=1").bounding_box()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2)
    page.mouse.down()
    stage = page.locator("#geo-stage").bounding_box()
    page.mouse.move(stage["x"] + stage["width"] + 60, end["y"] + end["height"] / 2, steps=5)
    page.mouse.up()
    page.click("#geo-save")
    page.wait_for_function("() => document.querySelector('#geo-status').textContent.startsWith('Not saved')", timeout=15000)
