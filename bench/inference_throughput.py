#!/usr/bin/env python3
"""Worker inference throughput against OpenVINO's own benchmark_app, same model, device and time.

The worker's figure is its real inference path: frames of the course video (u8 BGR, 768x432, decoded
beforehand so decoding is not measured) through the graph with pre-processing built in, on the
AsyncInferQueue, results collected in frame order. benchmark_app runs the bare model with the
same throughput hint. Prints both figures and their ratio (target >= 0.95).

    python bench/inference_throughput.py [--model NAME] [--precision FP16] [--device CPU] [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(ROOT / "inference"))

from edgewatch.config import ModelConfig  # noqa: E402
from edgewatch.models import registry, runtime  # noqa: E402
from edgewatch.models.adapters import choose  # noqa: E402


def worker_fps(model: runtime.LoadedModel, frames: list, seconds: float) -> float:
    runner = runtime.OrderedAsyncRunner(model)

    def feed():
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            yield i, frames[i % len(frames)]
            i += 1

    start = time.perf_counter()
    done = sum(1 for _ in runner.run(feed()))
    return done / (time.perf_counter() - start)


def benchmark_app_fps(xml: Path, device: str, seconds: float) -> float:
    out = subprocess.run(["benchmark_app", "-m", str(xml), "-d", device, "-hint", "throughput", "-t", str(int(seconds))],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Throughput:\s+([\d.]+)\s+FPS", out).group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="person-detection-retail-0013")
    p.add_argument("--precision", default="FP16")
    p.add_argument("--device", default="CPU")
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--rounds", type=int, default=2, help="alternate the two this many times; best of each is kept")
    a = p.parse_args()

    files = registry.resolve(a.model, a.precision, SHARED / "models")
    cfg = ModelConfig(name=a.model)
    loaded = runtime.load(files, a.device, check=lambda s: choose(cfg, s, a.model, 0.1))
    cap = cv2.VideoCapture(str(SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"))
    frames = []
    while len(frames) < 200:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    ours, theirs = [], []
    for _ in range(a.rounds):  # alternate, so a noisy neighbour hurts both alike
        ours.append(worker_fps(loaded, frames, a.seconds))
        theirs.append(benchmark_app_fps(files.path, a.device, a.seconds))
    w, b = max(ours), max(theirs)
    print(f"model {a.model} {a.precision} on {a.device}, {loaded.requests} infer requests, {a.seconds:g} s x {a.rounds}")
    print(f"worker inference    {w:8.1f} fps   (runs: {', '.join(f'{x:.1f}' for x in ours)})")
    print(f"benchmark_app       {b:8.1f} fps   (runs: {', '.join(f'{x:.1f}' for x in theirs)})")
    print(f"ratio worker/benchmark_app  {w / b:.3f}   (target >= 0.95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
