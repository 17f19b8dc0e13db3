"""Metrics of a tracks file against ground truth, line crossings matched one by one, and the counts a perfect
tracker would give."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from .. import mot
from ..analytics.association import iou_matrix
from ..analytics.lines import LineCounter
from ..config import LineConfig
from ..errors import EdgewatchError

# Metric name -> (trackers.eval family, attribute). The table's columns; `--metrics` picks among them.
METRICS = {
    "IDF1": ("Identity", "IDF1"), "IDP": ("Identity", "IDP"), "IDR": ("Identity", "IDR"),
    "HOTA": ("HOTA", "HOTA"), "DetA": ("HOTA", "DetA"), "AssA": ("HOTA", "AssA"),
    "MOTA": ("CLEAR", "MOTA"), "MOTP": ("CLEAR", "MOTP"), "IDSW": ("CLEAR", "IDSW"),
    "FP": ("CLEAR", "CLR_FP"), "FN": ("CLEAR", "CLR_FN"), "MT": ("CLEAR", "MT"), "ML": ("CLEAR", "ML"),
    "Frag": ("CLEAR", "Frag"),
}
DEFAULT_METRICS = ["IDF1", "HOTA", "MOTA", "IDSW"]
EXTRA_HINT = "pip install 'edgewatch[eval]' (it brings opencv-python beside the worker's headless OpenCV: " \
             "give it its own venv, see the README)"


def check_metrics(names: list[str]) -> list[str]:
    for n in names:
        if n not in METRICS:
            raise EdgewatchError(f"evaluate: --metrics: unknown metric {n!r} (known: {', '.join(METRICS)})")
    return names


def track_metrics(gt: Path, tracks: Path, names: list[str]) -> dict[str, float]:
    """The chosen metrics of `tracks` against `gt` (IoU 0.5 for CLEAR and Identity; HOTA over all IoUs)."""
    try:
        from trackers.eval import evaluate_mot_sequence
    except ImportError:
        raise EdgewatchError(f"evaluate: the metrics library is not installed: {EXTRA_HINT}") from None
    families = sorted({METRICS[n][0] for n in names})
    result = evaluate_mot_sequence(gt_path=gt, tracker_path=tracks, metrics=families)
    return {n: float(getattr(getattr(result, METRICS[n][0]), METRICS[n][1])) for n in names}


Crossing = tuple[int, int, str, str]  # (frame, id, line, "in" | "out")


def line_crossings(rows: mot.MotRows, lines: list[LineConfig], frame_size: tuple[int, int],
                   fps: float) -> list[Crossing]:
    """Every crossing on these paths, as the worker's line counter sees it."""
    counter, crossings = LineCounter(lines, frame_size), []
    for f in sorted(set(rows.frame.tolist())):
        now = rows.at(f)
        for ev in counter.update({int(i): tuple(b) for i, b in zip(now.ident, now.box, strict=True)}, f / fps):
            crossings.append((f, ev.data["track_id"], ev.data["line"], ev.data["direction"]))
    return crossings


def tally(crossings: list[Crossing], lines: list[LineConfig] | list[str]) -> dict[str, dict[str, int]]:
    """Line counts from crossings (`lines`: the lines or their names): the line counter counts exactly the
    crossings it reports."""
    counts = {getattr(ln, "name", ln): {"in": 0, "out": 0} for ln in lines}
    for _, _, line, way in crossings:
        counts[line][way] += 1
    return counts


def true_line_counts(truth: mot.MotRows, lines: list[LineConfig], frame_size: tuple[int, int],
                     fps: float) -> dict[str, dict[str, int]]:
    """The line counts a perfect tracker gives: the worker's own line counter on the true paths."""
    return tally(line_crossings(truth, lines, frame_size, fps), lines)


def pair_crossings(truth: list[Crossing], counted: list[Crossing], window: int,
                   penalty: Callable[[int, int], float] | None = None) -> tuple[list[int], list[int]]:
    """Crossing by crossing: the indices of the true crossings no count stands for (missed) and of the counts
    no true crossing stands for (extra). One optimal pairing (scipy's assignment solver) of a true crossing
    with a count on the same line and way at most `window` frames apart, nearer first; `penalty(i, j)`
    (0 to 1) makes a pair dearer. Totals can be right while crossings are not; this tells them apart."""
    cost = np.full((len(truth), len(counted)), np.inf)
    for i, (f, _, line, way) in enumerate(truth):
        for j, (g, _, cline, cway) in enumerate(counted):
            if (cline, cway) == (line, way) and abs(g - f) <= window:
                cost[i, j] = abs(g - f) / max(window, 1) + (penalty(i, j) if penalty else 0.0)
    paired_t, paired_c = set(), set()
    if np.isfinite(cost).any():
        big = np.where(np.isfinite(cost), cost, 1e6)
        for i, j in zip(*linear_sum_assignment(big), strict=True):
            if np.isfinite(cost[i, j]):
                paired_t.add(int(i))
                paired_c.add(int(j))
    return ([i for i in range(len(truth)) if i not in paired_t],
            [j for j in range(len(counted)) if j not in paired_c])


def perfect_tracks(detections: mot.MotRows, truth: mot.MotRows, min_iou: float = 0.5) -> mot.MotRows:
    """What a perfect tracker makes of these detections: each detection given the identity of the true
    person it covers (IoU >= `min_iou`, one to one in each frame, by scipy's assignment solver); a
    detection that covers nobody is dropped. Its counts are the best any tracker can do with this
    detector: a crossing it misses is out of reach."""
    frames, idents, boxes = [], [], []
    for n in sorted(set(detections.frame.tolist()) & set(truth.frame.tolist())):
        dn, gn = detections.at(n), truth.at(n)
        iou = iou_matrix([tuple(b) for b in gn.box], [tuple(b) for b in dn.box])
        for i, j in zip(*linear_sum_assignment(-iou), strict=True):
            if iou[i, j] >= min_iou:
                frames.append(n), idents.append(int(gn.ident[i])), boxes.append(dn.box[j])
    return mot.MotRows(np.array(frames, int), np.array(idents, int), np.array(boxes, float).reshape(-1, 4),
                       np.ones(len(frames)))
