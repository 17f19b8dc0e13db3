#!/usr/bin/env python3
"""Worker inference throughput against OpenVINO's own benchmark_app, same model, device and time.

The worker's figure is its real inference path: frames of the course video (u8 BGR, 768x432, decoded
beforehand so decoding is not measured) prepared as the worker prepares them, on the shared
AsyncInferQueue (SharedInference), results taken as they finish. Two ways to scale a frame to the
network's input are measured: `cv2` (the default: cv2.resize in each camera's decode thread, then a
graph that only converts type and layout) and `graph` (OpenVINO's PrePostProcessor resizes inside the
compiled model). The cv2.resize itself runs in the camera's decode thread, beside inference, so it is
timed on its own and printed, not charged to the inference loop. benchmark_app runs on the bare model
with the same throughput hint. Rounds alternate all three; prints each figure and the ratios. The
target (>= 0.95) is worker (cv2) / benchmark_app on the bare model, median of the rounds' pairs;
exit 1 when it is missed.

    python bench/inference_throughput.py [--model NAME] [--precision FP16] [--device CPU] [--seconds 6] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import cv2

from benchlib import ROOT, SHARED, benchmark_app_fps, median_ratio  # noqa: E402

sys.path.insert(0, str(ROOT / "inference"))

from edgewatch.config import ModelConfig  # noqa: E402
from edgewatch.models import registry, runtime  # noqa: E402
from edgewatch.models.adapters import choose  # noqa: E402


def worker_fps(model: runtime.LoadedModel, tensors: list, seconds: float) -> float:
    shared = runtime.SharedInference(model)
    done = 0
    start = time.perf_counter()
    end = start + seconds
    i = 0
    while time.perf_counter() < end:
        while shared.free > 0:
            shared.submit(i, tensors[i % len(tensors)])
            i += 1
        got = shared.take_done()
        done += len(got)
        if not got:
            shared.wake.wait(0.05)
            shared.wake.clear()
    shared.wait_all()
    done += len(shared.take_done())
    return done / (time.perf_counter() - start)


def resize_ms(model: runtime.LoadedModel, frames: list) -> float:
    """What the cv2 path costs per frame in the decode thread (median of 200)."""
    times = []
    for f in frames:
        t0 = time.perf_counter()
        model.prepare(f)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="person-detection-retail-0013")
    p.add_argument("--precision", default="FP16")
    p.add_argument("--device", default="CPU")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--rounds", type=int, default=7, help="alternate the runs this many times")
    a = p.parse_args()
    files = registry.resolve(a.model, a.precision, SHARED / "models")
    cap = cv2.VideoCapture(str(SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"))
    frames = []
    while len(frames) < 200:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    hw = frames[0].shape[:2]

    def check(shapes):
        choose(ModelConfig(name=a.model), shapes, a.model, 0.1)

    loaded = {p: runtime.load(files, a.device, check=check, graph_resize=p == "graph") for p in ("cv2", "graph")}
    tensors = {p: [m.prepare(f) for f in frames] for p, m in loaded.items()}
    runs: dict[str, list[float]] = {k: [] for k in ("worker cv2", "worker graph", "benchmark_app bare model")}
    for _ in range(a.rounds):  # alternate, so a noisy neighbour hurts all alike
        runs["worker cv2"].append(worker_fps(loaded["cv2"], tensors["cv2"], a.seconds))
        runs["benchmark_app bare model"].append(benchmark_app_fps(files.path, a.device, a.seconds))
        runs["worker graph"].append(worker_fps(loaded["graph"], tensors["graph"], a.seconds))
    print(f"model {a.model} {a.precision} on {a.device}, {loaded['cv2'].requests} infer requests (the device's optimum; "
          f"the worker queues one more), frames {hw[1]}x{hw[0]}, {a.seconds:g} s x {a.rounds} rounds")
    for name, xs in runs.items():
        print(f"  {name:28s} best {max(xs):6.1f} fps   (runs: {', '.join(f'{x:.1f}' for x in xs)})")
    print(f"  cv2.resize {hw[1]}x{hw[0]} -> {loaded['cv2'].input_hw[1]}x{loaded['cv2'].input_hw[0]} linear: "
          f"{resize_ms(loaded['cv2'], frames):.2f} ms a frame, in the camera's decode thread")

    def median_pair(num: str, den: str) -> float:
        return median_ratio(runs[num], runs[den])

    def ratio(num: str, den: str) -> str:
        return f"median {median_pair(num, den):.3f}, best/best {max(runs[num]) / max(runs[den]):.3f}"

    print("ratios:")
    print(f"  TARGET >= 0.95: worker (cv2) / benchmark_app on the bare model   {ratio('worker cv2', 'benchmark_app bare model')}")
    print(f"  worker (in-graph resize) / benchmark_app on the bare model      {ratio('worker graph', 'benchmark_app bare model')}")
    print(f"  worker cv2 / worker in-graph resize                             {ratio('worker cv2', 'worker graph')}")
    met = median_pair("worker cv2", "benchmark_app bare model") >= 0.95
    print(f"inference_throughput: target {'met' if met else 'NOT met'} (median of pairs)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
