"""How well each appearance cue tells people apart: colour views (tracker.colour) and re-id embeddings
(model.reid), on the boxes a `bench/accuracy.py` run saved.

    .venv-eval/bin/python bench/appearance.py --out DIR [--clips crowd3 crowd6 ...]

For each generated clip, every detection that fits one true person well (IoU >= 0.7, nobody else's box
over it by 0.3) is viewed both ways. Printed per cue: the similarity of the same person 0.5, 2.5 and 6 s
apart (5th, 25th, 50th percentiles), of two people in the same frame (50th, 75th, 95th) and the AUC of
the two (1.0: every same-person pair more alike than every pair of two people). Then the course video
(real footage, DIR/course/tracks.txt from the same run): each person's views against their first ones,
and the six people's mean views against each other: the generated clips give their people clothes of
their own by a hue and saturation shift, the very thing colour views read, so the real video is the
check on how far that carries.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from edgewatch import mot
from edgewatch.analytics.association import iou_matrix
from edgewatch.analytics.colour import colour_embed
from edgewatch.types import Frame

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crowd  # noqa: E402
import replay  # noqa: E402

GAPS = (5, 25, 60)  # frames apart at 10 fps


def clean_people(dets: mot.MotRows, gt: mot.MotRows, n: int) -> list[tuple[int, tuple]]:
    """(true person, detection box) of frame n's detections that are one person's, clearly."""
    d, g = dets.at(n), gt.at(n)
    if not len(d) or not len(g):
        return []
    iou = iou_matrix([tuple(b) for b in d.box], [tuple(b) for b in g.box])
    out = []
    for i, box in enumerate(d.box):
        j = int(np.argmax(iou[i]))
        if iou[i, j] >= 0.7 and (iou[i] >= 0.3).sum() == 1:
            out.append((int(g.ident[j]), tuple(box)))
    return out


def pairs(views: dict[int, list[tuple[int, np.ndarray]]]) -> tuple[list[float], list[float]]:
    """Similarities of the same person GAPS apart, and of two people in the same frame."""
    same, other = [], []
    for n, here in views.items():
        for a in range(len(here)):
            for b in range(a + 1, len(here)):
                other.append(float(here[a][1] @ here[b][1]))
        for gap in GAPS:
            for p, e in here:
                same += [float(e @ f) for q, f in views.get(n + gap, []) if q == p]
    return same, other


def auc(same: list[float], other: list[float]) -> float:
    x = np.array(same + other)
    ranks = x.argsort().argsort() + 1
    return float((ranks[:len(same)].sum() - len(same) * (len(same) + 1) / 2) / (len(same) * len(other)))


def generated(out: Path, clips: list[str]) -> None:
    found: dict[str, tuple[list[float], list[float]]] = {"colour": ([], []), "re-id": ([], [])}
    for clip in clips:
        folder = out / "clips" / clip
        dets = mot.read(out / clip / "detections-reid.txt", "detections")
        gt = mot.read(folder / "gt" / "gt.txt").where_considered()
        reid = replay.embeddings(folder / "video.mp4", dets, out / clip / "embeddings.npz")
        views: dict[str, dict[int, list]] = {"colour": {}, "re-id": {}}
        for n, image in replay.video_frames(folder / "video.mp4"):
            people = clean_people(dets, gt, n)
            if not people:
                continue
            colour = colour_embed(Frame(n - 1, 0.0, 0.0, image), [box for _, box in people])
            for (p, box), c in zip(people, colour, strict=True):
                e = reid[replay._key(n, box)]
                if c.size > 1 and e.any():
                    views["colour"].setdefault(n, []).append((p, c))
                    views["re-id"].setdefault(n, []).append((p, e / np.linalg.norm(e)))
        for cue in views:
            same, other = pairs(views[cue])
            found[cue][0].extend(same)
            found[cue][1].extend(other)
    for cue, (same, other) in found.items():
        print(f"{cue:7} same person p5/p25/p50 {np.percentile(same, [5, 25, 50]).round(2)}  two people p50/p75/p95 "
              f"{np.percentile(other, [50, 75, 95]).round(2)}  AUC {auc(same, other):.3f}  ({len(same)} / {len(other)} pairs)")


def course(out: Path) -> None:
    tracks = mot.read(out / "course" / "tracks.txt")
    reid = replay.embeddings(crowd.COURSE, tracks, out / "course" / "embeddings.npz")
    views: dict[str, dict[int, list[np.ndarray]]] = {"colour": {}, "re-id": {}}
    for n, image in replay.video_frames(crowd.COURSE):
        rows = tracks.at(n)
        boxes = [tuple(b) for b in rows.box]
        for p, box, c in zip(rows.ident, boxes, colour_embed(Frame(n - 1, 0.0, 0.0, image), boxes), strict=True):
            e = reid[replay._key(n, box)]
            if c.size > 1 and e.any():
                views["colour"].setdefault(int(p), []).append(c)
                views["re-id"].setdefault(int(p), []).append(e / np.linalg.norm(e))
    print("course video: each person's views against the mean of their first five (median per person), and the "
          "six people's mean views against each other")
    for cue, people in views.items():
        medians, means = [], {}
        for p, vs in sorted(people.items()):
            first = np.mean(vs[:5], axis=0)
            medians.append(float(np.median(np.array(vs) @ (first / np.linalg.norm(first)))))
            mean = np.mean(vs, axis=0)
            means[p] = mean / np.linalg.norm(mean)
        ids = sorted(means)
        between = [float(means[a] @ means[b]) for i, a in enumerate(ids) for b in ids[i + 1:]]
        print(f"  {cue:7} same person {' '.join(f'{m:.2f}' for m in medians)};  two people min {min(between):.2f}, "
              f"median {np.median(between):.2f}, max {max(between):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="an accuracy.py --out folder")
    ap.add_argument("--clips", nargs="+", help="default: every clip in OUT/clips with saved detections")
    a = ap.parse_args()
    saved = sorted(p.name for p in (a.out / "clips").iterdir() if (a.out / p.name / "detections-reid.txt").exists())
    generated(a.out, a.clips or saved)
    if (a.out / "course" / "tracks.txt").exists():
        course(a.out)


if __name__ == "__main__":
    os.environ.setdefault("EDGEWATCH_MODELS", str(crowd.SHARED / "models"))
    main()
