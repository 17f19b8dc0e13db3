"""`edgewatch evaluate VIDEO --gt gt.txt [-m MODEL ...] [--precision P ...] [--tracker k=v,... ...]`"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config, mot
from ..config import LineConfig
from ..errors import EdgewatchError
from . import report, runs, score

EPILOG = """examples:
  edgewatch evaluate clip.mp4 --gt gt/gt.txt -c lines.yaml
  edgewatch evaluate clip.mp4 --gt gt/gt.txt -m person-detection-retail-0013 person-detection-0202 \\
      --precision FP16 FP16-INT8 --tracker min_hits=2 --tracker min_hits=4 --out results/
  edgewatch evaluate clip.mp4 --gt gt/gt.txt --tracks my-tracker.txt     # score a tracks file as it is
"""
# A run's config keeps only what changes what is counted: no broker, video, state or summary.
KEPT = ("model", "tracker", "detect", "lines", "zones")
WINDOW_S = 3.0  # a counted crossing stands for a true one on the same line and way this close in time


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edgewatch evaluate", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Measure accuracy (IDF1, HOTA, MOTA, ID switches, unique and line counts "
                                "against the truth) and speed of models, precisions and tracker settings on your scene.")
    p.add_argument("video", help="the scene's video file")
    p.add_argument("--gt", required=True, help="its ground truth, MOTChallenge gt.txt (frame,id,x,y,w,h[,consider,class,visibility])")
    p.add_argument("-m", "--model", nargs="+", default=["person-detection-retail-0013"], help="one or more detectors")
    p.add_argument("--precision", nargs="+", default=["FP16"], help="one or more precisions (FP16, FP32, FP16-INT8)")
    p.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE,...",
                   help="tracker settings to try (repeat for several), e.g. min_hits=2,match_iou=0.3")
    p.add_argument("-c", "--config", help="one camera's YAML (lines, zones, tracker, detect, model.threshold); "
                   "its lines are counted against the truth")
    p.add_argument("--tracks", help="score this MOT tracks file instead of running the worker")
    p.add_argument("--metrics", default=",".join(score.DEFAULT_METRICS),
                   help=f"comma-separated, of {', '.join(score.METRICS)} (default %(default)s)")
    p.add_argument("--out", default="evaluation", help="folder for results.csv, .json and .png (default %(default)s)")
    return p


def _video(path: str) -> tuple[int, tuple[int, int], float]:
    import cv2

    if not Path(path).is_file():
        raise EdgewatchError(f"evaluate: video not found: {path}")
    cap = cv2.VideoCapture(path)
    n, w, h = (int(cap.get(p)) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    ok = cap.read()[0]
    cap.release()
    if not ok or n <= 0:
        raise EdgewatchError(f"evaluate: {path}: not a video OpenCV can read")
    return n, (w, h), fps


def _base(path: str | None) -> dict[str, Any]:
    """The counting settings of one camera's config (either form)."""
    if not path:
        return {}
    data = config.load_yaml(path)
    cams = data.get("cameras")
    if isinstance(cams, dict):
        if len(cams) != 1:
            raise EdgewatchError(f"evaluate: {path}: has {len(cams)} cameras; give one camera's config")
        data = config.merge_tree({k: v for k, v in data.items() if k != "cameras"}, next(iter(cams.values())) or {})
    base = {k: data[k] for k in KEPT if k in data}
    base.get("model", {}).pop("name", None)  # -m / --precision choose the model
    base.get("model", {}).pop("precision", None)
    config.validate(config.merge(base, {"source.input": "x"}), origin=path)  # its errors, before any run
    return base


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    metrics = score.check_metrics([m.strip() for m in a.metrics.split(",") if m.strip()])
    frames, size, fps = _video(a.video)
    truth = mot.read(a.gt, "ground truth", max_frame=frames).where_considered()
    base = _base(a.config)
    lines = [LineConfig(**ln) for ln in base.get("lines", [])]
    true_crossings = score.line_crossings(truth, lines, size, fps)
    truth_lines = _Lines(lines, true_crossings, score.tally(true_crossings, lines), round(WINDOW_S * fps))
    out = Path(a.out)
    rows = []
    if a.tracks:
        given = mot.read(a.tracks, "tracks", max_frame=frames)
        counted = score.line_crossings(given, lines, size, fps)
        rows.append(_row(f"tracks {Path(a.tracks).name}", None, None, None, len(given.ids),
                         score.tally(counted, lines), counted, Path(a.tracks), a.gt, metrics, truth, truth_lines))
    else:
        todo = runs.variants(a.model, a.precision, a.tracker)
        sizes = [runs.check_detector(v) for v in todo]  # every model is checked before the first run starts
        for i, (v, size_mb) in enumerate(zip(todo, sizes, strict=True)):
            r = runs.run(Path(a.video), fps, v, size_mb, base, out / "runs", i)
            rows.append(_row(v.label, r.fps, r.infer_ms, r.model_mb, r.total, r.lines, r.crossings, r.tracks, a.gt,
                             metrics, truth, truth_lines))
    print(report.rows_text(rows))
    for p in report.write(rows, out, metrics[0]):
        print(f"wrote {p}")
    return 0


@dataclass(frozen=True)
class _Lines:
    """The truth on the config's lines: every crossing, and the totals."""

    configs: list[LineConfig]
    crossings: list[score.Crossing]
    totals: dict[str, dict[str, int]]
    window: int  # frames: a count within this of a true crossing on the same line and way stands for it


def _row(label, fps, infer_ms, model_mb, unique, lines, counted, tracks, gt, metrics, truth,
         true: _Lines) -> dict[str, Any]:
    row: dict[str, Any] = {"variant": label, "fps": fps, "infer_ms": infer_ms, "model_mb": model_mb}
    row.update({k: round(v, 4) if isinstance(v, float) and k != "IDSW" else int(v) if k in ("IDSW", "FP", "FN", "MT", "ML", "Frag") else v
                for k, v in score.track_metrics(Path(gt), tracks, metrics).items()})
    row["unique"], row["unique_true"] = unique, len(truth.ids)
    for name, c in lines.items():
        row[name] = f"{c['in']}/{c['out']}"
        row[f"{name}_true"] = f"{true.totals[name]['in']}/{true.totals[name]['out']}"
    if true.configs and counted is None:
        row["crossings_missed"] = row["crossings_extra"] = None
    elif true.configs:  # totals can be right while crossings are not: a miss here, a count for nobody there
        missed, extra = score.pair_crossings(true.crossings, counted, true.window)
        row["crossings_missed"], row["crossings_extra"] = len(missed), len(extra)
    return row
