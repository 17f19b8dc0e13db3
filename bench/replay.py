"""Try tracker and counting changes in seconds: the worker's analytics re-run on the detections a
`bench/accuracy.py` run saved, instead of running the detector again.

    .venv-eval/bin/python bench/replay.py --out DIR [--no-reid] [--clips crowd6 crowd10]
        [--tracker direction_weight=0.5 ...]

DIR is an `accuracy.py --out` folder (clips/<clip>/ and <clip>/detections-reid.txt). Each clip's
detections go frame by frame through the real `Analytics` (tracker, people, lines) and the real tracks
file writer; with re-id, every detection's embedding is computed once from the clip's video and kept in
DIR/<clip>/embeddings.npz, so later runs take a few seconds a clip. The figures match the worker's on the
same detections (a box's coordinates are rounded to 0.01 px in the file). Prints, per clip, the lines'
error as over/under counts (summed over lines and directions), IDF1, HOTA, ID switches and unique count.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from edgewatch import mot
from edgewatch.analytics import Analytics
from edgewatch.config import load_yaml, merge_tree, validate
from edgewatch.evaluation import score
from edgewatch.publishers.motfiles import TracksOutput
from edgewatch.types import Detection, Frame, ModelOutput

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crowd  # noqa: E402

REID = {"reentry": False}  # as accuracy.py's ew+reid


def _key(frame_no: int, box) -> tuple:
    return (frame_no, *(round(float(v), 2) for v in box))


def embeddings(video: Path, dets: mot.MotRows, cache: Path) -> dict[tuple, np.ndarray]:
    """Every detection's re-id embedding, computed once from the video and cached."""
    if cache.exists():
        with np.load(cache) as z:
            return {tuple(k): v for k, v in zip(z["keys"].tolist(), z["embs"], strict=True)}
    from edgewatch.models import registry, runtime
    from edgewatch.models.reid import ReidEmbedder, check_embedding

    files = registry.resolve("person-reidentification-retail-0287", "FP16")
    embedder = ReidEmbedder(runtime.load(files, "CPU", None, check=check_embedding, graph_resize=False))
    out: dict[tuple, np.ndarray] = {}
    cap = cv2.VideoCapture(str(video))
    n = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        n += 1
        boxes = [tuple(b) for b in dets.at(n).box]
        if boxes:
            frame = Frame(n - 1, (n - 1) / crowd.FPS, 0.0, image)
            for box, emb in zip(boxes, embedder.embed(frame, boxes), strict=True):
                out[_key(n, box)] = emb
    width = max(len(e) for e in out.values()) if out else 1
    keys = np.array(list(out), dtype=float).reshape(-1, 5)
    embs = np.stack([np.pad(e, (0, width - len(e))) for e in out.values()]) if out else np.zeros((0, 1))
    np.savez(cache, keys=keys, embs=embs)
    return out


def replay(out_dir: Path, clip: str, tracker: dict, reid: bool, tracks_file: Path) -> dict:
    """One clip's analytics on its saved detections; returns the summary."""
    folder = out_dir / "clips" / clip
    data = load_yaml(folder / "lines.yaml")
    if reid:
        data = merge_tree(data, {"model": {"reid": REID}})
    if tracker:
        data = merge_tree(data, {"tracker": tracker})
    cfg = validate(data, f"{clip} config")
    cam = next(iter(cfg.cameras.values()))
    dets = mot.read(out_dir / clip / "detections-reid.txt", "detections")
    frames = int(cv2.VideoCapture(str(folder / "video.mp4")).get(cv2.CAP_PROP_FRAME_COUNT))
    embed = None
    if reid:
        cache = embeddings(folder / "video.mp4", dets, out_dir / clip / "embeddings.npz")

        def embed(frame: Frame, boxes: list) -> list[np.ndarray]:
            vecs = [cache[_key(frame.index + 1, b)] for b in boxes]
            return [v if v.any() else v[:1] for v in vecs]  # a box too small to crop: one zero, as the worker

    analytics = Analytics(cam, cfg.model, (crowd.W, crowd.H), embed)
    writer = TracksOutput(str(tracks_file), cam.tracker.max_lost_s)
    for n in range(1, frames + 1):
        rows = dets.at(n)
        found = [Detection(tuple(float(v) for v in b), float(s)) for b, s in zip(rows.box, rows.conf, strict=True)]
        frame = Frame(n - 1, (n - 1) / crowd.FPS, 0.0, None)
        writer.frame(analytics.update(ModelOutput(frame, 0.0, detections=found)))
    analytics.finish((frames - 1) / crowd.FPS)
    writer.close()
    return analytics.summary()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="an accuracy.py --out folder")
    ap.add_argument("--clips", nargs="+", help="default: every clip in OUT/clips with saved detections")
    ap.add_argument("--no-reid", action="store_true")
    ap.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE", help="tracker setting (YAML value)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    import yaml

    tracker = {}
    for item in a.tracker:
        key, _, value = item.partition("=")
        tracker[key] = yaml.safe_load(value)
    saved = sorted(p.name for p in (a.out / "clips").iterdir() if (a.out / p.name / "detections-reid.txt").exists())
    clips = a.clips or saved
    over = under = 0
    results = []
    for clip in clips:
        tracks = a.out / clip / ("replay.txt" if a.no_reid else "replay-reid.txt")
        s = replay(a.out, clip, tracker, not a.no_reid, tracks)
        truth = json.loads((a.out / "clips" / clip / "truth.json").read_text())
        diffs = [s["lines"][k][d] - truth["lines"][k][d] for k in truth["lines"] for d in ("in", "out")]
        o, u = sum(x for x in diffs if x > 0), -sum(x for x in diffs if x < 0)
        over, under = over + o, under + u
        m = score.track_metrics(a.out / "clips" / clip / "gt" / "gt.txt", tracks, ["IDF1", "HOTA", "IDSW"])
        results.append({"clip": clip, "lines": s["lines"], "unique": s["total"], "over": o, "under": u,
                        **{k: float(v) for k, v in m.items()}})
        print(f"{clip:14} lines +{o} -{u}  IDF1 {m['IDF1']:.3f}  HOTA {m['HOTA']:.3f}  IDSW {int(m['IDSW']):4d}  "
              f"unique {s['total']} ({truth['people']})", flush=True)
    print(f"lines off {over + under} (+{over} -{under}) over {len(clips)} clips")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("EDGEWATCH_MODELS", str(crowd.SHARED / "models"))
    main()
