#!/usr/bin/env python3
"""Worker inference throughput against OpenVINO's own benchmark_app, same model, device and time.

The worker's figure is its real inference path: frames of the course video (u8 BGR, 768x432, decoded
beforehand so decoding is not measured) through the graph with pre-processing built in, on the
AsyncInferQueue, results collected in frame order; once with each `model.resize` (linear, the
default, and nearest). benchmark_app runs with the same throughput hint, twice: on the worker's own
graph (the model plus its pre-processing, saved as IR, fed frames of the same size), which isolates
what the worker's pipeline adds, and on the bare model, which also skips the frame resize the worker
has to do. Rounds alternate all four; prints each figure and the ratios. The target (>= 0.95) is
worker / benchmark_app on the same graph, median of the rounds' pairs; exit 1 when it is missed.

    python bench/inference_throughput.py [--model NAME] [--precision FP16] [--device CPU] [--seconds 6] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import openvino as ov

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


def benchmark_app_fps(xml: Path, device: str, seconds: float, shape: str | None = None) -> float:
    cmd = ["benchmark_app", "-m", str(xml), "-d", device, "-hint", "throughput", "-t", str(int(seconds))]
    if shape:
        cmd += ["-shape", shape]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Throughput:\s+([\d.]+)\s+FPS", out).group(1))


def worker_graph(files, resize: str, folder: Path) -> Path:
    """The graph the worker compiles (model + its in-graph pre-processing), saved as IR for benchmark_app."""
    core = ov.Core()
    model, _ = runtime.add_preprocessing(core.read_model(str(files.path)), resize)
    xml = folder / f"worker-{resize}.xml"
    ov.save_model(model, str(xml))
    return xml


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="person-detection-retail-0013")
    p.add_argument("--precision", default="FP16")
    p.add_argument("--device", default="CPU")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--rounds", type=int, default=7, help="alternate the runs this many times")
    a = p.parse_args()
    if shutil.which("benchmark_app") is None:
        print("inference_throughput: benchmark_app not on PATH (pip install openvino; run from the venv)", file=sys.stderr)
        return 2

    files = registry.resolve(a.model, a.precision, SHARED / "models")
    cap = cv2.VideoCapture(str(SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"))
    frames = []
    while len(frames) < 200:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    hw = frames[0].shape[:2]
    shape = f"[1,{hw[0]},{hw[1]},3]"
    loaded = {r: runtime.load(files, a.device, check=lambda s: choose(ModelConfig(name=a.model), s, a.model, 0.1), resize=r)
              for r in ("linear", "nearest")}
    runs: dict[str, list[float]] = {k: [] for k in ("worker linear", "worker nearest", "benchmark_app bare model",
                                                    "benchmark_app worker graph linear")}
    with tempfile.TemporaryDirectory() as tmp:
        graph = worker_graph(files, "linear", Path(tmp))
        for _ in range(a.rounds):  # alternate, so a noisy neighbour hurts all alike
            runs["worker linear"].append(worker_fps(loaded["linear"], frames, a.seconds))
            runs["benchmark_app worker graph linear"].append(benchmark_app_fps(graph, a.device, a.seconds, shape))
            runs["worker nearest"].append(worker_fps(loaded["nearest"], frames, a.seconds))
            runs["benchmark_app bare model"].append(benchmark_app_fps(files.path, a.device, a.seconds))
    print(f"model {a.model} {a.precision} on {a.device}, {loaded['linear'].requests} infer requests (the device's optimum; the worker queues one more), frames {hw[1]}x{hw[0]}, "
          f"{a.seconds:g} s x {a.rounds} rounds")
    for name, xs in runs.items():
        print(f"  {name:36s} best {max(xs):6.1f} fps   (runs: {', '.join(f'{x:.1f}' for x in xs)})")

    # On a shared VM (steal time of 50 % seen here) throughput swings by a third within a minute: runs
    # of one round ran under nearly the same conditions, so the median of their ratios is the steady figure.
    def median_pair(num: str, den: str) -> float:
        return statistics.median(x / y for x, y in zip(runs[num], runs[den]))

    def ratio(num: str, den: str) -> str:
        return f"median {median_pair(num, den):.3f}, best/best {max(runs[num]) / max(runs[den]):.3f}"

    # The target compares like with like: the graph the worker compiles (model + the in-graph resize
    # and layout change the worker's design requires) run by the worker and by benchmark_app. The
    # bare-model figure is printed beside it as what that pre-processing costs, not as the target.
    print("ratios:")
    print(f"  TARGET >= 0.95: worker / benchmark_app on the same graph       {ratio('worker linear', 'benchmark_app worker graph linear')}")
    print(f"  cost of the in-graph linear resize: benchmark_app worker graph / bare model  "
          f"{ratio('benchmark_app worker graph linear', 'benchmark_app bare model')}")
    print(f"  worker, resize nearest / benchmark_app on the bare model       {ratio('worker nearest', 'benchmark_app bare model')}")
    print(f"  worker, resize linear  / benchmark_app on the bare model       {ratio('worker linear', 'benchmark_app bare model')}")
    met = median_pair("worker linear", "benchmark_app worker graph linear") >= 0.95
    print(f"inference_throughput: target {'met' if met else 'NOT met'} (median of pairs, same graph)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
