"""Try tracker and counting changes in seconds: the worker's analytics re-run on the detections a
`bench/accuracy.py` run saved, instead of running the detector again.

    .venv-eval/bin/python bench/replay.py --out DIR [--no-reid] [--clips crowd6 crowd10]
        [--tracker direction_weight=0.5 ...] [--why] [--handovers] [--json FILE]

DIR is an `accuracy.py --out` folder (clips/<clip>/ and <clip>/detections-reid.txt). Each clip's
detections go frame by frame through the real `Analytics` (tracker, people, lines) and the real tracks
file writer; with re-id, every detection's embedding is computed once from the clip's video and kept in
DIR/<clip>/embeddings.npz, so later runs take a few seconds a clip. The figures match the worker's on the
same detections (a box's coordinates are rounded to 0.01 px in the file). The analytics take their colour
views (tracker.colour; with re-id beside its embeddings) from the clip's video frames, as the worker does. Prints, per
clip, the lines' error as over/under counts (summed over lines and directions), IDF1, HOTA, ID switches
and unique count.

--why lists, per clip, each true crossing no track counted (with the tracks that covered that person from
3 s before to 3 s after, as `frame:track`, and what went wrong: one box for them and someone else, a
track that went on to someone else or was lost, no track; marked out of reach where a perfect tracker on
the same detections misses it too) and each crossing counted that is not in the truth (with the true
person the track was on, or, for a track not seen then, last seen on): where the line counts go wrong,
to look at frame by frame. True and counted crossings are paired once, optimally (same line and way,
within 3 s, the track on that person first).

--handovers counts the line hand-overs (a new track taking a lost one's side of each line, or starting
from where someone was glimpsed: lines.py) that joined one true person (the one under the lost track's
last box, or under the glimpse in the 2 s before, is the one under the new track's first) and those that
joined two.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edgewatch import mot
from edgewatch.analytics import Analytics
from edgewatch.analytics.association import iou_matrix
from edgewatch.config import LineConfig, load_yaml, merge_tree, validate
from edgewatch.evaluation import score
from edgewatch.publishers.motfiles import TracksOutput
from edgewatch.types import Detection, Frame, ModelOutput

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crowd  # noqa: E402
from benchlib import tracker_settings  # noqa: E402

REID = {"reentry": False}  # as accuracy.py's ew+reid


def _key(frame_no: int, box) -> tuple:
    return (frame_no, *(round(float(v), 2) for v in box))


def video_frames(video: Path) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number from 1, as in MOT files, image) of every frame of a video."""
    cap = cv2.VideoCapture(str(video))
    n = 0
    while True:
        ok, image = cap.read()
        if not ok:
            return
        n += 1
        yield n, image


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
    for n, image in video_frames(video):
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


def replay(out_dir: Path, clip: str, tracker: dict, reid: bool, tracks_file: Path,
           crossings: list | None = None, handovers: list | None = None) -> dict:
    """One clip's analytics on its saved detections; returns the summary. `crossings` gets each line
    crossing counted: (frame, person id, line, direction); `handovers` each line hand-over (lines.py):
    (frame, person id lost or the box of a glimpse, new person id)."""
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
    # Colour views (tracker.colour) are taken from the frames themselves.
    video = cv2.VideoCapture(str(folder / "video.mp4")) if cam.tracker.colour else None
    writer = TracksOutput(str(tracks_file), cam.tracker.max_lost_s)
    n = 0
    if handovers is not None:  # this run's counter only, wrapped to see whose side goes to whom
        lines = analytics.places.lines
        hand_over, start_at = lines.hand_over, lines.start_at

        def noted(old: int, new: int) -> None:
            handovers.append((n, old, new))
            hand_over(old, new)

        def glimpsed(new: int, box: tuple) -> None:
            handovers.append((n, box, new))
            start_at(new, box)

        lines.hand_over, lines.start_at = noted, glimpsed
    for n in range(1, frames + 1):
        rows = dets.at(n)
        found = [Detection(tuple(float(v) for v in b), float(s)) for b, s in zip(rows.box, rows.conf, strict=True)]
        frame = Frame(n - 1, (n - 1) / crowd.FPS, 0.0, video.read()[1] if video is not None else None)
        facts = analytics.update(ModelOutput(frame, 0.0, detections=found))
        writer.frame(facts)
        if crossings is not None:
            crossings += [(round(e.video_s * crowd.FPS) + 1, e.data["track_id"], e.data["line"], e.data["direction"])
                          for e in facts.events if e.type == "line_cross"]
    analytics.finish((frames - 1) / crowd.FPS)
    writer.close()
    return analytics.summary()


def _on(rows: mot.MotRows, ident: int, other: mot.MotRows, frame_no: int) -> int | None:
    """The id in `other` whose box covers `ident`'s in `rows` at a frame (IoU >= 0.3), if any."""
    mine, theirs = rows.at(frame_no), other.at(frame_no)
    sel = mine.ident == ident
    if not sel.any() or len(theirs) == 0:
        return None
    iou = iou_matrix([tuple(mine.box[sel][0])], [tuple(b) for b in theirs.box])[0]
    j = int(np.argmax(iou))
    return int(theirs.ident[j]) if iou[j] >= 0.3 else None


def _last_on(tracks: mot.MotRows, pid: int, gt: mot.MotRows, f: int, span: int) -> str:
    """The true person a track was on at frame f, or, where it was not seen then (a count for someone
    hidden in a group's box), when it was last seen before."""
    for n in range(f, f - span - 1, -1):
        if (tracks.at(n).ident == pid).any():
            who = _on(tracks, pid, gt, n)
            return str(who) if n == f else f"{who} (last seen at frame {n})"
    return "None"


def _present(rows: mot.MotRows, ident: int, frames: range) -> bool:
    return any((rows.at(n).ident == ident).any() for n in frames)


def _why_missed(gt: mot.MotRows, tracks: mot.MotRows, person: int, f: int) -> str:
    """What went wrong at a missed crossing, from the tracks on that person in the 1.5 s before and after."""
    span = int(1.5 * crowd.FPS)
    before = next((t for n in range(f - 1, f - span - 1, -1) if (t := _on(gt, person, tracks, n)) is not None), None)
    after = next((t for n in range(f + 1, f + span + 1) if (t := _on(gt, person, tracks, n)) is not None), None)
    if before is None and after is None:
        return "untracked"
    if before is None or after is None:
        return f"no track on them {'before' if before is None else 'after'}"
    if before == after:
        if not _present(tracks, before, range(f - span, f - 2)):
            return f"track {before} began at the crossing, with no side to cross from"
        others = set()
        for n in range(f - 3, f + 4):
            mine, people = tracks.at(n), gt.at(n)
            sel = mine.ident == before
            if sel.any() and len(people):
                iou = iou_matrix([tuple(mine.box[sel][0])], [tuple(b) for b in people.box])[0]
                others |= {int(i) for i, v in zip(people.ident, iou, strict=True) if v >= 0.3 and i != person}
        return (f"one box for them and true person {', '.join(map(str, sorted(others)))} (track {before})" if others
                else f"track {before} on them throughout")
    went = "went on to someone else" if _present(tracks, before, range(f + 1, f + span + 1)) else "was lost"
    came = "came from someone else" if _present(tracks, after, range(f - 2 * span, f - 5)) else "was new"
    return f"track {before} {went}, track {after} {came}"


def crossing_errors(gt: mot.MotRows, tracks: mot.MotRows, counted: list,
                    reachable: list | None = None) -> tuple[list[str], list[str]]:
    """Crossing by crossing: (missed, wrong), a line for each true crossing no track counted (with the
    tracks that covered that person, `frame:track`) and for each counted crossing the truth has not (with
    the true person the track was on). `counted`: (frame, track id, line, direction) as replay() gives.
    `reachable`: the crossings a perfect tracker counts on the same detections (score.perfect_tracks); a
    missed crossing it misses too is marked out of reach."""
    truth = score.line_crossings(gt, [LineConfig(**ln) for ln in crowd.LINES], (crowd.W, crowd.H), crowd.FPS)
    # Matched within 3 s: a crossing made while a track was broken off counts when the new track is
    # confirmed and takes the lost one's side (lines.py), seconds later.
    window = int(3 * crowd.FPS)
    # A count by a track that was on that person is the likelier match than one by a track that was not.
    covering = [{_on(gt, person, tracks, n) for n in range(f - 5, f + 6)} for f, person, _, _ in truth]
    lost, extra = score.pair_crossings(truth, counted, window,
                                       lambda i, j: 0.0 if counted[j][1] in covering[i] else 1.0)
    missed = []
    for i in lost:
        f, person, line, way = truth[i]
        runs, last = [], object()
        for n in range(f - window, f + window + 1):
            on = _on(gt, person, tracks, n) if (gt.at(n).ident == person).any() else "gone"
            if on != last:
                runs.append(f"{n}:{'-' if on is None else on}")
                last = on
        reach = reachable is None or any(c[1:] == (person, line, way) and abs(c[0] - f) <= window for c in reachable)
        missed.append(f"frame {f}: true person {person} {line} {way}: {_why_missed(gt, tracks, person, f)}; "
                      f"covered by {' '.join(runs)}"
                      + ("" if reach else " (out of reach: a perfect tracker on these detections misses it too)"))
    wrong = [f"frame {f}: track {pid} {line} {way}, not in the truth; it was on true person "
             f"{_last_on(tracks, pid, gt, f, window)}" for f, pid, line, way in (counted[j] for j in extra)]
    return missed, wrong


def _under(gt: mot.MotRows, box: tuple, frames: range) -> int | None:
    """The true person `box` fits best (IoU >= 0.5) over `frames`: a glimpse's box, from when it was seen."""
    best, who = 0.5, None
    for n in frames:
        people = gt.at(n)
        if len(people):
            iou = iou_matrix([box], [tuple(b) for b in people.box])[0]
            j = int(np.argmax(iou))
            if iou[j] >= best:
                best, who = float(iou[j]), int(people.ident[j])
    return who


def handover_check(gt: mot.MotRows, tracks: mot.MotRows, handovers: list) -> tuple[int, int, int]:
    """Of the line hand-overs, how many joined the same true person (the one under the lost track's last
    box, or best under a glimpse's, and under the new track's first), how many two people, and how many
    could not be told."""
    right = wrong = unknown = 0
    for f, old, new in handovers:
        first = tracks.frame[tracks.ident == new]
        if isinstance(old, tuple):  # a glimpse: its box, seen at most 2 s before
            a = _under(gt, old, range(f, f - int(2 * crowd.FPS) - 1, -1))
        else:
            last = tracks.frame[(tracks.ident == old) & (tracks.frame <= f)]
            a = _on(tracks, old, gt, int(last.max())) if len(last) else None
        b = _on(tracks, new, gt, int(first.min())) if len(first) else None
        if a is None or b is None:
            unknown += 1
        elif a == b:
            right += 1
        else:
            wrong += 1
    return right, wrong, unknown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="an accuracy.py --out folder")
    ap.add_argument("--clips", nargs="+", help="default: every clip in OUT/clips with saved detections")
    ap.add_argument("--no-reid", action="store_true")
    ap.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE,...",
                    help="tracker settings (YAML values), as edgewatch evaluate's")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--why", action="store_true", help="list the crossings missed and counted wrongly")
    ap.add_argument("--handovers", action="store_true", help="count the line hand-overs that joined the same true "
                    "person and those that joined two")
    a = ap.parse_args()
    tracker = tracker_settings(a.tracker, "replay")
    saved = sorted(p.name for p in (a.out / "clips").iterdir() if (a.out / p.name / "detections-reid.txt").exists())
    clips = a.clips or saved
    over = under = 0
    results = []
    joined = np.zeros(3, dtype=int)
    for clip in clips:
        tracks = a.out / clip / ("replay.txt" if a.no_reid else "replay-reid.txt")
        counted: list = []
        handed: list = []
        s = replay(a.out, clip, tracker, not a.no_reid, tracks, counted, handed)
        truth = json.loads((a.out / "clips" / clip / "truth.json").read_text())
        diffs = [s["lines"][k][d] - truth["lines"][k][d] for k in truth["lines"] for d in ("in", "out")]
        o, u = sum(x for x in diffs if x > 0), -sum(x for x in diffs if x < 0)
        over, under = over + o, under + u
        m = score.track_metrics(a.out / "clips" / clip / "gt" / "gt.txt", tracks, ["IDF1", "HOTA", "IDSW"])
        results.append({"clip": clip, "lines": s["lines"], "unique": s["total"], "over": o, "under": u,
                        **{k: float(v) for k, v in m.items()}})
        print(f"{clip:14} lines +{o} -{u}  IDF1 {m['IDF1']:.3f}  HOTA {m['HOTA']:.3f}  IDSW {int(m['IDSW']):4d}  "
              f"unique {s['total']} ({truth['people']})", flush=True)
        if a.why or a.handovers:  # read once for both
            gt = mot.read(a.out / "clips" / clip / "gt" / "gt.txt").where_considered()
            replayed = mot.read(tracks)
        if a.why:
            ideal = score.perfect_tracks(mot.read(a.out / clip / "detections-reid.txt", "detections"), gt)
            reachable = score.line_crossings(ideal, [LineConfig(**ln) for ln in crowd.LINES], (crowd.W, crowd.H),
                                             crowd.FPS)
            missed, wrong = crossing_errors(gt, replayed, counted, reachable)
            print("".join(f"  missed  {m}\n" for m in missed) + "".join(f"  counted {w}\n" for w in wrong), end="")
        if a.handovers:
            check = handover_check(gt, replayed, handed)
            joined += check
            print(f"  hand-overs {len(handed)}: {check[0]} joined one true person, {check[1]} two, {check[2]} unknown")
    print(f"lines off {over + under} (+{over} -{under}) over {len(clips)} clips")
    if a.handovers:
        print(f"hand-overs {joined.sum()}: {joined[0]} joined one true person, {joined[1]} two, {joined[2]} unknown")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("EDGEWATCH_MODELS", str(crowd.SHARED / "models"))
    main()
