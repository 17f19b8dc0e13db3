"""The evaluation's table (terminal), CSV, JSON and PNG plot of accuracy against speed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any


def rows_text(rows: list[dict[str, Any]]) -> str:
    """A plain aligned table, one variant a row."""
    cols = list(rows[0])
    cells = [[_fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths)))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def write(rows: list[dict[str, Any]], out: Path, accuracy: str) -> list[Path]:
    """results.csv, results.json and results.png (`accuracy` against fps, one labelled point a variant
    that ran; a scored tracks file has no speed and no point)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.csv", out / "results.json"]
    with paths[0].open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    paths[1].write_text(json.dumps(rows, indent=1))
    timed = [r for r in rows if r["fps"] is not None]
    if timed:
        paths.append(_plot(timed, out / "results.png", accuracy))
    return paths


def _plot(rows: list[dict[str, Any]], path: Path, accuracy: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for r in rows:
        ax.scatter(r["fps"], r[accuracy], s=40)
        ax.annotate(r["variant"], (r["fps"], r[accuracy]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xlabel("frames per second (decode to publish, this machine)")
    ax.set_ylabel(accuracy)
    ax.set_title("edgewatch evaluate: accuracy against speed")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
