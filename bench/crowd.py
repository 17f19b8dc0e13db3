"""Crowded test clips with exact truth, made from the course video at test time (no video in git).

The course video shows one person at a time in a fixed scene. This cuts those real people out of its
frames (the pixels that differ from the empty scene, inside the detector's box) and pastes several at
once over the empty background: walking across each other's paths, occluding one another (nearer
people drawn last), entering and leaving by different sides, stopping, turning back and walking side
by side. Sizes follow the floor's perspective. Because the generator places every person, it writes
the MOTChallenge ground truth (`gt/gt.txt`) from where it pasted them, and the true line counts from
those true paths.

    python bench/crowd.py OUT_DIR [--people 3 6 10]      # writes OUT_DIR/crowd3/..., prints the folders

Each clip folder: `video.mp4` (768x432, 10 fps, H.264), `gt/gt.txt` (frame,id,x,y,w,h,1,1,visibility),
`lines.yaml` (an edgewatch config with the counting lines) and `truth.json` (people, most at once,
line counts). A clip is made once per seed and reused (its folder holds the parameters it was made with).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", ROOT.parent / "shared"))
COURSE = SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"
TRUTH = ROOT / "tests" / "fixtures" / "pedestrian_truth.json"
W, H, FPS = 768, 432, 10
VERSION = 8  # bump when the clips change, so cached ones are made again

# The floor's perspective, measured on the course video: a person whose feet are at y is about
# height(y) pixels tall (310 px at the bottom edge, ~190 px at the table).
FLOOR_TOP = 215.0


def height_at(y: float) -> float:
    return max(60.0, 310.0 * (y - 40.0) / (H - 40.0))


LINES = [  # counted on every clip; the truth is the same counter run on the true paths. Across the
    # paths people take (they come and go by the sides): a line people walk along has no true count.
    {"name": "middle", "points": [[384, 150], [384, 432]]},
    {"name": "left", "points": [[190, 150], [190, 432]]},
]
LINE_X = [ln["points"][0][0] for ln in LINES]


def companion_offset(lateral: float, y: float) -> float:
    """How far right of the leader a companion walks (Actor.lateral -1 / +1: on their left / right)."""
    return lateral * 0.4 * height_at(y)


def _clear_of_lines(rng: np.random.Generator, lo: float, hi: float, gap: float, also: float = 0.0) -> float:
    """An x where nobody turns or walks straight up along a line (their count would be undecided): the
    leader at x, nor a companion walking beside them at x + `also`. A turn a few pixels past a line is a
    crossing and a return in the truth, and within the detector's box jitter for any tracker."""
    while True:
        x = float(rng.uniform(lo, hi))
        if all(abs(px - lx) > gap for lx in LINE_X for px in {x, x + also}):
            return x


@dataclass
class Sprite:
    image: np.ndarray  # BGR crop
    alpha: np.ndarray  # float32 0..1, same size
    box: tuple[float, float, float, float]  # the person's box inside the crop


@dataclass
class Library:
    background: np.ndarray
    walking: list[list[Sprite]]  # per source person, frames in order
    standing: list[list[Sprite]]


def _source_boxes(work: Path) -> dict[int, tuple[float, float, float, float, float]]:
    """The best person box of every course-video frame, from edgewatch's own --detections file."""
    det = work / "course-detections.txt"
    if not det.exists():
        models = os.environ.get("EDGEWATCH_MODELS", str(SHARED / "models"))
        subprocess.run([sys.executable, "-m", "edgewatch", "-i", str(COURSE), "-m", "person-detection-retail-0013",
                        "--detections", str(det) + ".part", "--no-progress"],
                       check=True, env={**os.environ, "EDGEWATCH_MODELS": models}, stderr=subprocess.DEVNULL)
        os.replace(str(det) + ".part", det)
    best: dict[int, tuple[float, float, float, float, float]] = {}
    for line in det.read_text().splitlines():
        f, _, x, y, w, h, c = (float(v) for v in line.split(",")[:7])
        if c >= 0.7 and c > best.get(int(f) - 1, (0, 0, 0, 0, 0))[4]:
            best[int(f) - 1] = (x, y, x + w, y + h, c)
    return best


def build_library(work: Path) -> Library:
    truth = json.loads(TRUTH.read_text())
    cap = cv2.VideoCapture(str(COURSE))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    people = truth["people"]
    busy = np.zeros(len(frames), bool)
    for p in people:
        busy[max(0, p["enter_frame"] - 5):p["exit_frame"] + 6] = True
    empty = [frames[i] for i in range(0, len(frames), 3) if not busy[i]]
    background = np.median(np.stack(empty), axis=0).astype(np.uint8)
    boxes = _source_boxes(work)
    walking, standing = [], []
    for p in people:
        walk, stand = [], []
        for i in range(p["enter_frame"], p["exit_frame"] + 1):
            if i not in boxes:
                continue
            x1, y1, x2, y2, _ = boxes[i]
            if x1 < 4 or y1 < 4 or x2 > W - 4 or y2 > H - 4:
                continue  # touching the border: not a whole person
            sprite = _cut(frames[i], background, (x1, y1, x2, y2))
            if sprite is not None:
                (stand if p["standing_s"][0] <= i / FPS <= p["standing_s"][1] else walk).append(sprite)
        if len(walk) >= 8 and len(stand) >= 8:
            walking.append(walk)
            standing.append(stand)
    return Library(background, walking, standing)


def _cut(frame: np.ndarray, background: np.ndarray, box) -> Sprite | None:
    pad = 6
    x1, y1 = int(max(0, box[0] - pad)), int(max(0, box[1] - pad))
    x2, y2 = int(min(W, box[2] + pad)), int(min(H, box[3] + pad))
    crop, bg = frame[y1:y2, x1:x2], background[y1:y2, x1:x2]
    diff = cv2.absdiff(crop, bg).max(axis=2)
    mask = (diff > 24).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    if mask.mean() < 0.15:
        return None
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (5, 5), 0)
    return Sprite(crop.copy(), alpha, (box[0] - x1, box[1] - y1, box[2] - x1, box[3] - y1))


# -- scenarios ---------------------------------------------------------------------------------------

@dataclass
class Actor:
    ident: int
    source: int  # which course-video person
    start_f: int
    waypoints: list[tuple[float, float, float]]  # (x, y, seconds to stand there on arrival)
    speed: float  # body heights a second
    lateral: float = 0.0  # -1 / +1: a companion walking beside the leader, on their left / right
    # Clothes of their own (hue shift, saturation and brightness scale): the course video has six people,
    # a crowd made of them would otherwise hold identical twins, which no camera sees.
    tint: tuple[float, float, float] = (0.0, 1.0, 1.0)
    track: dict[int, tuple[float, float, bool, bool]] = field(default_factory=dict)  # frame -> x, y, standing, facing left

    def plan(self) -> None:
        f = self.start_f
        x, y, _ = self.waypoints[0]
        for wx, wy, stand in self.waypoints[1:]:
            left = wx < x
            while True:
                step = self.speed * height_at(y) / FPS
                dx, dy = wx - x, wy - y
                dist = (dx * dx + dy * dy) ** 0.5
                if dist <= step:
                    x, y = wx, wy
                    self.track[f] = (x, y, False, left)
                    f += 1
                    break
                x, y = x + dx / dist * step, y + dy / dist * step
                self.track[f] = (x, y, False, left)
                f += 1
            for _ in range(int(stand * FPS)):
                self.track[f] = (x, y, True, left)
                f += 1
        if self.lateral:  # beside the leader, a shoulder's width apart (and a step nearer or further), both seen
            self.track = {k: (px + companion_offset(self.lateral, py), py + 10 * np.sign(self.lateral), s, lf)
                          for k, (px, py, s, lf) in self.track.items()}

    @property
    def frames(self) -> range:
        return range(min(self.track), max(self.track) + 1)


def _side_point(rng: np.random.Generator, side: str, lateral: float) -> tuple[float, float]:
    if side == "left":
        return -70.0, float(rng.uniform(FLOOR_TOP + 20, 420))
    if side == "right":
        return W + 70.0, float(rng.uniform(FLOOR_TOP + 20, 420))
    return _clear_of_lines(rng, 120, W - 120, 60, companion_offset(lateral, H + 60.0)), H + 60.0


def _tint(rng: np.random.Generator) -> tuple[float, float, float]:
    return float(rng.uniform(-45, 45)), float(rng.uniform(0.7, 1.8)), float(rng.uniform(0.75, 1.15))


def tinted(sprite: Sprite, tint: tuple[float, float, float]) -> Sprite:
    hue, sat, val = tint
    hsv = cv2.cvtColor(sprite.image, cv2.COLOR_BGR2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + hue) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * sat, 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * val, 0, 255)
    return Sprite(cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR), sprite.alpha, sprite.box)


def scenario(people: int, seconds: float, seed: int, sources: int) -> list[Actor]:
    """Actors spawned so that at most `people` are in the frame at once, and about that many most of
    the time: crossers from every side, some who stop, some who turn back, some pairs side by side."""
    rng = np.random.default_rng(seed)
    actors: list[Actor] = []
    n_frames = int(seconds * FPS)
    present = np.zeros(n_frames + 2000, int)
    f = 0
    while f < n_frames - 40:
        room = people - present[f]
        if room <= 0 or rng.random() > min(0.9, 0.2 * room):  # the emptier, the sooner someone comes
            f += 5
            continue
        kind = rng.choice(["cross", "cross", "stop", "back", "pair"] if room >= 2 else ["cross", "stop", "back"])
        lateral = float(rng.choice([-1.0, 1.0])) if kind == "pair" else 0.0
        a_side, b_side = rng.choice(["left", "right", "bottom"], size=2, replace=False)
        a, b = _side_point(rng, a_side, lateral), _side_point(rng, b_side, lateral)
        mid_y = float(rng.uniform(FLOOR_TOP + 30, 400))
        mid = (_clear_of_lines(rng, 150, W - 150, 40, companion_offset(lateral, mid_y)), mid_y)
        speed = float(rng.uniform(0.55, 0.85))
        if kind == "stop":
            way = [(*a, 0.0), (*mid, float(rng.uniform(2, 6))), (*b, 0.0)]
        elif kind == "back":
            way = [(*a, 0.0), (*mid, float(rng.uniform(0, 1))), (*a, 0.0)]
        else:
            way = [(*a, 0.0), (*mid, 0.0), (*b, 0.0)]
        group = [Actor(0, int(rng.integers(sources)), f, way, speed, tint=_tint(rng))]
        if kind == "pair":
            group.append(Actor(0, int(rng.integers(sources)), f, way, speed, lateral=lateral,
                               tint=_tint(rng)))
        for actor in group:
            actor.plan()
        span = [k for actor in group for k in actor.frames if 0 <= k < len(present)]
        # Only whole paths that keep within the limit (another's overlap decides the crowding).
        if all(present[k] + sum(1 for actor in group if k in actor.track) <= people for k in span):
            for actor in group:
                actor.ident = len(actors) + 1
                actors.append(actor)
                for k in actor.frames:
                    if k < len(present):
                        present[k] += 1
        f += 5
    return actors


# -- rendering ---------------------------------------------------------------------------------------

def _paste(canvas: np.ndarray, sprite: Sprite, foot: tuple[float, float],
           flip: bool, ident: int, owner: np.ndarray):
    """Paste a sprite with its box's bottom-centre at `foot`, scaled to the floor's perspective.
    Returns the person's box in the frame (unclipped) and its pixel mask's footprint."""
    bx1, by1, bx2, by2 = sprite.box
    scale = height_at(foot[1]) / (by2 - by1)
    img = cv2.resize(sprite.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(sprite.alpha, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    bx1, by1, bx2, by2 = bx1 * scale, by1 * scale, bx2 * scale, by2 * scale
    if flip:
        img, alpha = img[:, ::-1], alpha[:, ::-1]
        bx1, bx2 = img.shape[1] - bx2, img.shape[1] - bx1
    ox = foot[0] - (bx1 + bx2) / 2  # crop origin in the frame
    oy = foot[1] - by2
    box = (ox + bx1, oy + by1, ox + bx2, oy + by2)
    x0, y0 = int(round(ox)), int(round(oy))
    cx1, cy1 = max(0, x0), max(0, y0)
    cx2, cy2 = min(W, x0 + img.shape[1]), min(H, y0 + img.shape[0])
    if cx1 >= cx2 or cy1 >= cy2:
        return box, 0
    sub = (slice(cy1 - y0, cy2 - y0), slice(cx1 - x0, cx2 - x0))
    a = alpha[sub][..., None]
    region = canvas[cy1:cy2, cx1:cx2]
    region[:] = (a * img[sub] + (1 - a) * region).astype(np.uint8)
    solid = alpha[sub] > 0.5
    owner[cy1:cy2, cx1:cx2][solid] = ident
    return box, int((alpha > 0.5).sum())


def render(lib: Library, actors: list[Actor], seconds: float, out: Path) -> tuple[list[str], int]:
    n_frames = int(seconds * FPS)
    out.parent.mkdir(parents=True, exist_ok=True)
    ff = subprocess.Popen(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}",
                           "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                           "-pix_fmt", "yuv420p", "-g", "20", str(out)], stdin=subprocess.PIPE)
    gt: list[str] = []
    most = 0
    for f in range(n_frames):
        canvas = lib.background.copy()
        owner = np.zeros((H, W), np.int32)
        here = sorted((a for a in actors if f in a.track), key=lambda a: a.track[f][1])  # far ones first
        placed = []
        for a in here:
            x, y, still, left = a.track[f]
            step = f - a.start_f
            frames = (lib.standing if still else lib.walking)[a.source % len(lib.walking)]
            sprite = tinted(frames[step % len(frames)], a.tint)
            box, pixels = _paste(canvas, sprite, (x, y), left, a.ident, owner)
            placed.append((a.ident, box, pixels))
        in_frame = 0
        for ident, box, pixels in placed:
            x1, y1, x2, y2 = box
            cx1, cy1, cx2, cy2 = max(0, x1), max(0, y1), min(W, x2), min(H, y2)
            full = (x2 - x1) * (y2 - y1)
            if cx2 <= cx1 or cy2 <= cy1 or (cx2 - cx1) * (cy2 - cy1) < 0.25 * full:
                continue  # not yet (or no longer) a quarter in the frame: nobody's to see
            visible = float((owner == ident).sum()) / max(pixels, 1)
            in_frame += 1
            gt.append(f"{f + 1},{ident},{cx1:.1f},{cy1:.1f},{cx2 - cx1:.1f},{cy2 - cy1:.1f},1,1,{min(1.0, visible):.2f}\n")
        most = max(most, in_frame)
        ff.stdin.write(canvas.tobytes())
    ff.stdin.close()
    if ff.wait() != 0:
        raise SystemExit(f"crowd: ffmpeg failed writing {out}")
    return gt, most


def make_clip(people: int, out_dir: Path, seconds: float = 45.0, seed: int | None = None) -> Path:
    """The clip for `people` at once, made in out_dir/crowd<people> unless already there."""
    folder = out_dir / (f"crowd{people}" if seed is None else f"crowd{people}-s{seed}")
    seed = 1000 + people if seed is None else seed
    params = {"version": VERSION, "people": people, "seconds": seconds, "seed": seed}
    made = folder / "truth.json"
    if made.exists() and json.loads(made.read_text()).get("params") == params:
        return folder
    work = out_dir / ".work"
    work.mkdir(parents=True, exist_ok=True)
    lib = build_library(work)
    actors = scenario(people, seconds, seed, len(lib.walking))
    tmp = out_dir / f".{folder.name}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    gt, most = render(lib, actors, seconds, tmp / "video.mp4")
    (tmp / "gt").mkdir()
    (tmp / "gt" / "gt.txt").write_text("".join(gt))
    # The true line counts: the worker's own line counter on the true paths (what a perfect tracker gives).
    from edgewatch import mot
    from edgewatch.config import LineConfig
    from edgewatch.evaluation.score import true_line_counts

    true_lines = true_line_counts(mot.read(tmp / "gt" / "gt.txt"), [LineConfig(**ln) for ln in LINES], (W, H), FPS)
    (tmp / "lines.yaml").write_text("# counting lines of the generated clip (bench/crowd.py)\nlines:\n" + "".join(
        f"  - name: {ln['name']}\n    points: {ln['points']}\n" for ln in LINES))
    ids = {int(r.split(",")[1]) for r in gt}
    truth = {"params": params, "frames": int(seconds * FPS), "fps": FPS, "people": len(ids), "max_simultaneous": most,
             "lines": true_lines,
             "kinds": {"stop": sum(1 for a in actors if any(w[2] >= 2 for w in a.waypoints)),
                       "turn_back": sum(1 for a in actors if a.waypoints[0][:2] == a.waypoints[-1][:2]),
                       "side_by_side": sum(1 for a in actors if a.lateral)}}
    (tmp / "truth.json").write_text(json.dumps(truth, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--people", type=int, nargs="+", default=[3, 6, 10])
    ap.add_argument("--seconds", type=float, default=45.0)
    a = ap.parse_args()
    for n in a.people:
        folder = make_clip(n, a.out_dir, a.seconds)
        t = json.loads((folder / "truth.json").read_text())
        print(f"{folder}: {t['people']} people, at most {t['max_simultaneous']} at once, lines {t['lines']}, {t['kinds']}")


if __name__ == "__main__":
    main()
