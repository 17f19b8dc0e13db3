"""Tracking accuracy in a crowd: Edgewatch's tracker against the `trackers` package's ByteTrack on the
same detections, on generated crowded clips (bench/crowd.py), plus the course video's exact counts.

Runs in the evaluation venv (edgewatch[eval]: trackers pulls opencv-python beside the headless one):

    python3 -m venv .venv-eval && .venv-eval/bin/pip install -e 'inference[eval]'
    EDGEWATCH_MODELS=../shared/models .venv-eval/bin/python bench/accuracy.py [--people 3 6 10] [--seconds 90]
        [--seeds 2] [--out DIR] [--tracker KEY=VALUE,...]

Three worker runs per clip: the default (appearance from colour views, tracker.colour), with re-id
(model.reid, beside the colour views) and by motion alone (tracker.colour off, for reference); each
writes the detections it gave its tracker (--detections) and its tracks (--tracks); ByteTrack (defaults, the clip's frame rate) gets
the default run's detections file. Colour views are the bench's own feature space in part: the
generator gives each person clothes of their own by a hue and saturation shift (crowd.py), so read the
colour rows beside re-id's and the course video's (docs/performance.md). Targets (issue 10):
IDF1 and HOTA >= ByteTrack's + 0.05 on every clip, ID switches <= ByteTrack's, line counts exact, the
course video's 6 people each within 1.5 s, the tracker's own cost under 1 ms a frame with 10 people.
`--tracker` (as `edgewatch evaluate`'s) sets tracker settings for every Edgewatch run, the course video's
and the tracker-cost pass included, so a setting is judged on the whole bench before it becomes a default.
Beside the line counts it prints what a perfect tracker would count from the same detections, and each
tracker's errors crossing by crossing (true crossings missed, crossings counted without one; Edgewatch's
from the line_cross events of the worker's own --summary): totals can be right while crossings are not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crowd  # noqa: E402
from benchlib import tracker_settings  # noqa: E402

from edgewatch import mot  # noqa: E402
from edgewatch.config import LineConfig, ModelConfig, TrackerConfig, load_yaml, merge_tree  # noqa: E402
from edgewatch.evaluation import runs, score  # noqa: E402

METRICS = ["IDF1", "HOTA", "MOTA", "IDSW"]


def run_worker(video: Path, work: Path, cfg: dict, tag: str = "") -> tuple[Path, Path, dict]:
    """The worker on `video` with the config `cfg` (written beside its outputs as config{tag}.yaml)."""
    det, tracks, summary, cfg_file = (work / f"{name}{tag}.{ext}" for name, ext in
                                      (("detections", "txt"), ("tracks", "txt"), ("summary", "json"),
                                       ("config", "yaml")))
    cfg_file.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "edgewatch", "-i", str(video), "-m", "person-detection-retail-0013", "-c",
           str(cfg_file), "--detections", str(det), "--tracks", str(tracks), "--summary", str(summary),
           "--no-progress"]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    return det, tracks, json.loads(summary.read_text())


def bytetrack(det: Path, out: Path, fps: float) -> Path:
    import supervision as sv
    from trackers import ByteTrackTracker

    rows = mot.read(det, "detections")
    tracker = ByteTrackTracker(frame_rate=fps)
    last = int(rows.frame.max()) if len(rows) else 0
    with out.open("w") as f:
        for n in range(1, last + 1):
            at = rows.at(n)
            dets = sv.Detections(xyxy=at.box.reshape(-1, 4), confidence=at.conf, class_id=np.zeros(len(at), int))
            result = tracker.update(dets)
            for box, tid, conf in zip(result.xyxy, result.tracker_id, result.confidence, strict=True):
                if tid >= 0:
                    f.write(mot.row(n, int(tid), tuple(box), float(conf)))
    return out


def tracker_cost_ms(det: Path, video: Path, fps: float, knobs: dict, passes: int = 3) -> float:
    """Edgewatch's tracker alone on a clip's detections (with colour: and the colour views it takes, as
    the worker's analytics does without re-id): mean ms a frame, decoding left out; the best of `passes`
    runs, as timeit takes the best: the tracker's own cost, not the time other work on a shared machine
    (steal time up to 50 %) took from it."""
    return min(_tracker_pass_ms(det, video, fps, knobs) for _ in range(passes))


def _tracker_pass_ms(det: Path, video: Path, fps: float, knobs: dict) -> float:
    import cv2

    from edgewatch.analytics.appearance import Appearance, tracker_config
    from edgewatch.analytics.tracker import Tracker
    from edgewatch.types import Detection, Frame

    rows = mot.read(det, "detections")
    cfg = TrackerConfig(**knobs)
    look = Appearance.choose(ModelConfig(), cfg, None)
    tracker = Tracker(tracker_config(cfg, look), 0.5, (crowd.W, crowd.H))
    cap = cv2.VideoCapture(str(video))
    spent, last = 0.0, int(rows.frame.max())
    for n in range(1, last + 1):
        dets = [Detection(tuple(b), float(c)) for b, c in zip(rows.at(n).box, rows.at(n).conf, strict=True)]
        frame = Frame(n - 1, (n - 1) / fps, 0.0, cap.read()[1])
        t0 = time.perf_counter()
        step = tracker.update(dets, frame.video_s, look.of(frame) if look is not None else None)
        if look is not None:
            look.take_views(frame, step)
        spent += time.perf_counter() - t0
    return spent * 1000 / last


def lines_off(counted: dict, truth: dict) -> str:
    """'exact', or 'off by N': N the sum over lines and directions of |counted - true|."""
    off = sum(abs(counted.get(k, {}).get(d, 0) - truth[k][d]) for k in truth for d in ("in", "out"))
    return "exact" if off == 0 else f"off by {off}"


WINDOW = int(3 * crowd.FPS)  # a count stands for a true crossing on the same line and way this close


def per_crossing(clip: str, name: str, truth: list[score.Crossing], counted: list[score.Crossing] | None) -> None:
    if counted is None:  # the worker's summary did not keep them all (runs.crossings_of said so)
        print(f"{clip:9} {name:10} per crossing: -")
        return
    missed, wrong = score.pair_crossings(truth, counted, WINDOW)
    print(f"{clip:9} {name:10} per crossing: {len(missed)} true crossings missed, {len(wrong)} counted without one")


def course_check(work: Path, knobs: dict) -> tuple[int, float, bool]:
    truth = json.loads(crowd.TRUTH.read_text())
    work.mkdir(exist_ok=True)
    _, _, s = run_worker(crowd.COURSE, work, {"tracker": knobs} if knobs else {})
    tracks = s["tracks"]
    worst = max((max(abs(t["enter_s"] - p["enter_s"]), abs((t["exit_s"] or 0) - p["exit_s"]))
                 for t, p in zip(tracks, truth["people"], strict=False)), default=99.0)
    return s["total"], worst, s["total"] == truth["total"] and worst <= 1.5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, nargs="+", default=[3, 6, 10])
    ap.add_argument("--out", type=Path, default=crowd.ROOT / "artifacts" / "accuracy")
    # Two 90-s walks of each crowd by default: two walks of one crowd differ by up to 0.11 IDF1, more than
    # the margin the targets ask for, so one short clip cannot judge a change (docs/performance.md).
    ap.add_argument("--seconds", type=float, default=90.0, help="length of each generated clip")
    ap.add_argument("--seeds", type=int, default=2, help="clips a density (other walks of the same crowd)")
    ap.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE,...",
                    help="tracker settings for every Edgewatch run, e.g. unpaired_cost=1.2")
    a = ap.parse_args()
    knobs = tracker_settings(a.tracker, "accuracy")
    os.environ.setdefault("EDGEWATCH_MODELS", str(crowd.SHARED / "models"))
    a.out.mkdir(parents=True, exist_ok=True)
    met = {"edgewatch": True, "ew+reid": True}
    common = True  # the targets both share: tracker cost, the course video
    print(f"{'clip':8} {'tracker':10} " + " ".join(f"{m:>6}" for m in METRICS) + "  unique  lines (found/true)")
    for n, seed in ((n, k) for n in a.people for k in range(a.seeds)):
        clip = crowd.make_clip(n, a.out / "clips", a.seconds, None if seed == 0 else 2000 + 100 * n + seed)
        truth = json.loads((clip / "truth.json").read_text())
        work = a.out / clip.name
        work.mkdir(exist_ok=True)
        base = merge_tree(load_yaml(clip / "lines.yaml"), {"tracker": knobs} if knobs else {})
        det, ours, summary = run_worker(clip / "video.mp4", work, base)
        # The same with appearance in the association (re-entry off: the generated people are six
        # course-video people in other colours, whom a re-entry gallery rightly takes for one another).
        _, ours_reid, summary_reid = run_worker(clip / "video.mp4", work,
                                                merge_tree(base, {"model": {"reid": {"reentry": False}}}), tag="-reid")
        # And by motion alone (tracker.colour off): what the default's colour views add.
        _, ours_motion, summary_motion = run_worker(clip / "video.mp4", work,
                                                    merge_tree(base, {"tracker": {"colour": False}}), tag="-motion")
        theirs = bytetrack(det, work / "bytetrack.txt", crowd.FPS)
        gt = clip / "gt" / "gt.txt"
        lines = [LineConfig(**ln) for ln in crowd.LINES]
        figures = {}
        theirs_rows = mot.read(theirs, "bytetrack")
        crossings = {"edgewatch": runs.crossings_of(summary, "edgewatch", crowd.FPS),
                     "ew+reid": runs.crossings_of(summary_reid, "ew+reid", crowd.FPS),
                     "motion": runs.crossings_of(summary_motion, "motion", crowd.FPS),
                     "bytetrack": score.line_crossings(theirs_rows, lines, (crowd.W, crowd.H), crowd.FPS)}
        for name, path, s in (("edgewatch", ours, summary), ("ew+reid", ours_reid, summary_reid),
                              ("motion", ours_motion, summary_motion), ("bytetrack", theirs, None)):
            m = score.track_metrics(gt, path, METRICS)
            counted = s["lines"] if s else score.tally(crossings[name], lines)
            unique = s["total"] if s else len(theirs_rows.ids)
            figures[name] = (m, counted == truth["lines"])
            print(f"{clip.name:9} {name:10} " + " ".join(f"{m[k]:6.3f}" if k != "IDSW" else f"{int(m[k]):6d}" for k in METRICS)
                  + f"  {unique:3d}/{truth['people']:<3d} {lines_off(counted, truth['lines'])} "
                  f"{counted} / {truth['lines']}" + (f"  {s['fps']:.0f} fps" if s else ""))
        # Totals can be right while crossings are not (a miss here, a count for nobody there).
        truth_rows = mot.read(gt, "ground truth").where_considered()
        true_crossings = score.line_crossings(truth_rows, lines, (crowd.W, crowd.H), crowd.FPS)
        for name in ("edgewatch", "ew+reid", "motion", "bytetrack"):
            per_crossing(clip.name, name, true_crossings, crossings[name])
        perfect = score.perfect_tracks(mot.read(det, "detections"), truth_rows)
        crossings["perfect"] = score.line_crossings(perfect, lines, (crowd.W, crowd.H), crowd.FPS)
        ideal = score.tally(crossings["perfect"], lines)
        print(f"{clip.name:9} a perfect tracker on these detections: lines {lines_off(ideal, truth['lines'])} "
              f"{ideal}")
        per_crossing(clip.name, "perfect", true_crossings, crossings["perfect"])
        b = figures["bytetrack"][0]
        for name in ("edgewatch", "ew+reid"):
            e, exact = figures[name]
            ok = e["IDF1"] >= b["IDF1"] + 0.05 and e["HOTA"] >= b["HOTA"] + 0.05 and e["IDSW"] <= b["IDSW"] and exact
            met[name] &= ok
            print(f"{clip.name:9} {name:10} IDF1 {e['IDF1'] - b['IDF1']:+.3f}  HOTA {e['HOTA'] - b['HOTA']:+.3f}  "
                  f"IDSW {int(e['IDSW'] - b['IDSW']):+d} against ByteTrack, lines {'exact' if exact else 'OFF'}: "
                  f"{'targets met' if ok else 'targets NOT met'}")
        print(f"{clip.name:9} re-id costs {summary_motion['fps'] / summary_reid['fps']:.2f}x detection and tracking "
              f"by motion alone ({summary_motion['fps']:.0f} -> {summary_reid['fps']:.0f} fps, target <= 1.3x); "
              f"colour views {summary_motion['fps'] / summary['fps']:.2f}x ({summary['fps']:.0f} fps)")
        if n == max(a.people) and seed == 0:
            motion = tracker_cost_ms(det, clip / "video.mp4", crowd.FPS, {**knobs, "colour": False})
            cost = tracker_cost_ms(det, clip / "video.mp4", crowd.FPS, {**knobs, "colour": True})
            print(f"tracker cost on crowd{n}: {cost:.3f} ms a frame with its colour views, {motion:.3f} ms by motion "
                  "alone (best of 3 passes; target < 1 ms)")
            common &= cost < 1.0
    total, worst, exact = course_check(a.out / "course", knobs)
    print(f"course video: {total} people (truth 6), worst enter/exit error {worst:.2f} s (target <= 1.5): "
          f"{'exact' if exact else 'NOT exact'}")
    common = common and exact
    for name, ok in met.items():
        print(f"{name}: {'all targets met' if ok and common else 'some targets NOT met'}")


if __name__ == "__main__":
    main()
