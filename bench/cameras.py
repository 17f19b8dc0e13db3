#!/usr/bin/env python3
"""How many cameras one box holds: one worker with N cameras against N separate one-camera workers.

Method: every camera is a copy of the course video paced at 10 fps and looped, as a camera would
deliver it, each starting at another point of the video (independent cameras are not in step); video
output off, MQTT to a private Mosquitto. A trial lets the worker start and settle (WARMUP_S after its
model is loaded: every camera's first frames are detected at once, the motion backgrounds are new),
then measures --seconds of steady running from the perf messages each camera publishes (the figures
the UI shows): a setup *holds* N cameras when every camera kept at least 95 % of its frames (frames
handled / 10 fps over the measured time: published, or with detect.fps and no video out only grabbed
in time by the source) and its p95 capture-to-publish latency (over each 10-s window inside the
measured time) stayed under 1 s. Each trial also prints the whole run's figures from the summaries,
start-up included. Cameras are added one at a time until a setup no longer holds. Printed beside each other, in one run:
  - one worker (this project's design), 768x432 and a 1080p copy made here with ffmpeg;
  - (a) N separate single-camera processes, measured the same way;
  - (b) the limit: benchmark_app's fps on the bare model / 10;
  - one worker with detect.fps 5 and the motion gate;
  - the worker's memory (RSS) with 8 cameras against 1.
Targets (exit 1 when one is missed): worker >= 0.9 x limit cameras at 768x432 with p95 < 500 ms;
with detect.fps 5 and motion >= 2.5 x limit; memory(8) <= 2 x memory(1).

    python bench/cameras.py [--seconds 30] [--only worker,separate,1080p,gated,memory]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib import COURSE, SHARED, benchmark_app_fps, start_broker

MODEL = "person-detection-retail-0013"
FPS = 10.0


WARMUP_S = 10.0  # after the model is loaded, before the measured time


@dataclass
class Trial:
    cameras: int
    kept: float  # worst camera's share of frames handled, measured time
    p95_ms: float  # worst camera's p95 capture-to-publish latency, measured time
    rss_mib: float
    run_kept: float  # the same over the whole run, start-up included (the summaries)
    run_p95_ms: float

    @property
    def holds(self) -> bool:
        return self.kept >= 0.95 and self.p95_ms < 1000

    def __str__(self) -> str:
        return (f"{self.cameras:3d} cameras: worst kept {self.kept:6.1%}, worst p95 {self.p95_ms:7.0f} ms, "
                f"RSS {self.rss_mib:6.0f} MiB  {'holds' if self.holds else 'does not hold'}  "
                f"(whole run with start-up: {self.run_kept:6.1%}, {self.run_p95_ms:5.0f} ms)")


class PerfWatch:
    """Every camera's perf messages (edgewatch/<camera>/perf) on the private broker, during a trial."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as paho

        self.messages: dict[str, list[dict]] = {}
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}")
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.subscribe("edgewatch/+/perf")
        self._client.loop_start()

    def _on_message(self, _client, _userdata, msg) -> None:
        perf = json.loads(msg.payload)
        self.messages.setdefault(perf["camera"], []).append(perf)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def judge(self, cameras: list[str], since: float, until: float) -> tuple[float, float]:
        """Worst camera's share of frames kept and p95 latency between `since` and `until` (wall clock);
        a camera that published no figures in that time kept nothing."""
        kept, p95 = [], [0.0]
        for cam in cameras:
            inside = [m for m in self.messages.get(cam, []) if since <= m["ts"] <= until]
            if len(inside) < 2 or inside[-1]["ts"] <= inside[0]["ts"]:
                kept.append(0.0)
                continue
            first, last = inside[0], inside[-1]
            kept.append((last["frames"] - first["frames"]) / ((last["ts"] - first["ts"]) * FPS))
            # Each message's p95 is over the 10 s before it: only windows wholly inside count.
            p95 += [m["latency_ms_p95"] or 0.0 for m in inside if m["ts"] >= since + 10.0]
        return min(1.0, min(kept, default=0.0)), max(p95)


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "EDGEWATCH_MODELS": str(SHARED / "models"), "XDG_CACHE_HOME": str(tmp / "cache"),
            "PYTHONUNBUFFERED": "1"}


def _duration_s(video: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def staggered(tmp: Path, video: Path, n: int) -> list[Path]:
    """N cameras of one video that are not in step: copy i starts i/N of the way through it (and plays
    the skipped start after its end), cut at key frames without re-encoding. Identical copies in step
    would make every motion-gated camera need the detector in the same instant, a peak that N
    independent cameras do not have."""
    length = _duration_s(video)
    out = []
    for i in range(n):
        at = int(i * length / n)  # whole seconds: the bench's videos have a key frame every second
        if at == 0:
            out.append(video)
            continue
        copy = tmp / f"{video.stem}-from-{at}s.mp4"
        if not copy.exists():
            listing = tmp / f"{copy.stem}.txt"
            listing.write_text(f"file '{video}'\ninpoint {at}\nfile '{video}'\noutpoint {at}\n")
            subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing),
                            "-c", "copy", str(copy)], check=True)
        out.append(copy)
    return out


def _site(tmp: Path, video: Path, n: int, port: int, extra: str) -> Path:
    cams = "".join(f"  cam{i}:\n    source: {{input: {path}}}\n" for i, path in enumerate(staggered(tmp, video, n)))
    cfg = tmp / f"site-{n}.yaml"
    cfg.write_text(f"model: {{name: {MODEL}}}\nmax_cameras: 256\n"
                   f"mqtt: {{host: 127.0.0.1, port: {port}, outbox: '{tmp}/outbox-{{camera}}.sqlite', drain_timeout_s: 2}}\n"
                   f"source: {{realtime: true, loop: true}}\n{extra}cameras:\n{cams}")
    return cfg


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _run(cmds: list[list[str]], env: dict[str, str], seconds: float, port: int) -> tuple[float, PerfWatch, float, float]:
    """Starts the processes, lets them load and settle, measures `seconds`, stops them with SIGTERM (each
    writes its summary); returns their total RSS just before the stop, their perf messages and the
    measured time's start and end."""
    watch = PerfWatch(port)
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in cmds]
    try:
        time.sleep(8 + WARMUP_S)  # model load / cache read before the first frame (a few seconds), then settling
        since = time.time()
        time.sleep(seconds)
        until = time.time()
        rss = sum(_rss_mib(p.pid) for p in procs)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            _, err = p.communicate(timeout=60)
            if p.returncode != 0:
                raise SystemExit(f"cameras: edgewatch failed ({p.returncode}): {err.strip()[-500:]}")
    finally:
        for p in procs:
            p.kill()
        watch.close()
    return rss, watch, since, until


def _judge(summaries: list[dict], n: int, run: tuple[float, PerfWatch, float, float]) -> Trial:
    rss, watch, since, until = run
    cams = [c for s in summaries for c in (s["cameras"].values() if "cameras" in s else [s])]
    assert len(cams) == n, (len(cams), n)
    run_kept = min(c["frames"] / max(1.0, c["wall_s"] * FPS) for c in cams)
    kept, p95 = watch.judge([c["camera"] for c in cams], since, until)
    return Trial(n, kept, p95, rss, min(1.0, run_kept), max(c["latency_ms_p95"] for c in cams))


def worker_trial(tmp: Path, video: Path, n: int, port: int, seconds: float, extra: str = "") -> Trial:
    cfg = _site(tmp, video, n, port, extra)
    summary = tmp / f"worker-{n}.json"
    run = _run([[sys.executable, "-m", "edgewatch", "-c", str(cfg), "--summary", str(summary), "--no-progress"]],
               _env(tmp), seconds, port)
    return _judge([json.loads(summary.read_text())], n, run)


def separate_trial(tmp: Path, video: Path, n: int, port: int, seconds: float) -> Trial:
    cmds, paths = [], []
    for i, copy in enumerate(staggered(tmp, video, n)):
        paths.append(tmp / f"sep-{n}-{i}.json")
        cmds.append([sys.executable, "-m", "edgewatch", "-i", str(copy), "-m", MODEL, "--realtime", "--loop",
                     "--camera", f"sep{i}", "--mqtt-host", "127.0.0.1", "--mqtt-port", str(port),
                     "--summary", str(paths[-1]), "--no-progress"])
    run = _run(cmds, {**_env(tmp), "EDGEWATCH_STATE_FILE": ""}, seconds, port)
    return _judge([json.loads(p.read_text()) for p in paths], n, run)


def most_held(name: str, trial, start: int, step: int = 1) -> tuple[int, list[Trial]]:
    """Adds `step` cameras while the setup holds; goes down from `start` when it does not hold there."""
    trials: list[Trial] = []

    def run(n: int) -> bool:
        trials.append(trial(n))
        print(f"  {name}: {trials[-1]}", flush=True)
        return trials[-1].holds

    n = start
    if run(n):
        while run(n + step):
            n += step
    else:
        while n > 1 and not run(max(1, n - step)):
            n = max(1, n - step)
    held = max((t.cameras for t in trials if t.holds), default=0)
    return held, trials


def hd_copy(tmp: Path) -> Path:
    out = tmp / "course-1080p.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(COURSE), "-vf", "scale=1920:1080", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "23", "-g", "10", str(out)], check=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="measured run per trial, after start-up")
    p.add_argument("--only", default="worker,separate,1080p,gated,memory", help="which parts to run")
    a = p.parse_args()
    parts = set(a.only.split(","))
    xml = SHARED / "models" / MODEL / "FP16" / f"{MODEL}.xml"
    results: dict[str, int] = {}
    ok = True
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker, port = start_broker(tmp)
        try:
            bare = benchmark_app_fps(xml, seconds=10)
            limit = bare / FPS
            print(f"(b) limit: benchmark_app on the bare model {bare:.1f} fps = {limit:.1f} cameras at {FPS:g} fps", flush=True)
            subprocess.run([sys.executable, "-m", "edgewatch", "-i", str(COURSE), "-m", MODEL, "--no-progress"],
                           env=_env(tmp), capture_output=True)  # fill the compiled-model cache
            start = max(1, int(limit) - 2)
            if "worker" in parts:
                results["worker"], trials = most_held("one worker 768x432", lambda n: worker_trial(
                    tmp, COURSE, n, port, a.seconds), start)
                at = next((t for t in trials if t.cameras == results["worker"]), None)
                good = results["worker"] >= 0.9 * limit and at is not None and at.p95_ms < 500
                ok &= good
                print(f"TARGET worker >= 0.9 x limit ({0.9 * limit:.1f}) with p95 < 500 ms: {results['worker']} cameras "
                      f"({results['worker'] / limit:.2f} x limit): {'met' if good else 'NOT met'}", flush=True)
            if "separate" in parts:
                results["separate"], _ = most_held("(a) separate processes 768x432", lambda n: separate_trial(
                    tmp, COURSE, n, port, a.seconds), max(1, start - 2))
            if "1080p" in parts:
                hd = hd_copy(tmp)
                results["worker 1080p"], _ = most_held("one worker 1080p", lambda n: worker_trial(
                    tmp, hd, n, port, a.seconds), max(1, start - 4))
                results["separate 1080p"], _ = most_held("(a) separate processes 1080p", lambda n: separate_trial(
                    tmp, hd, n, port, a.seconds), max(1, start - 6))
            if "gated" in parts:
                results["worker detect.fps 5 + motion"], _ = most_held(
                    "one worker, detect.fps 5 + motion", lambda n: worker_trial(
                        tmp, COURSE, n, port, a.seconds, "detect: {fps: 5, motion: true}\n"), int(2.5 * limit), step=2)
                good = results["worker detect.fps 5 + motion"] >= 2.5 * limit
                ok &= good
                print(f"TARGET detect.fps 5 + motion >= 2.5 x limit ({2.5 * limit:.1f}): "
                      f"{results['worker detect.fps 5 + motion']} cameras: {'met' if good else 'NOT met'}", flush=True)
            if "memory" in parts:
                one = worker_trial(tmp, COURSE, 1, port, a.seconds / 2)
                eight = worker_trial(tmp, COURSE, 8, port, a.seconds / 2)
                good = eight.rss_mib <= 2 * one.rss_mib
                ok &= good
                print(f"TARGET memory(8 cameras) <= 2 x memory(1): {eight.rss_mib:.0f} MiB / {one.rss_mib:.0f} MiB = "
                      f"{eight.rss_mib / one.rss_mib:.2f}: {'met' if good else 'NOT met'}", flush=True)
        finally:
            broker.terminate()
    print("cameras held (every camera >= 95 % of its frames, p95 capture-to-publish < 1 s):")
    for name, n in results.items():
        print(f"  {name:32s} {n:3d}   ({n / limit:.2f} x limit)")
    print(f"  {'(b) limit: benchmark_app / 10':32s} {limit:5.1f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
