"""Performance figures: inference time, throughput, capture->publish latency and bandwidth, over a sliding window."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np


class PerfMeter:
    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        # (wall time done, infer ms or 0 = skipped, latency ms or NaN = skipped at the source, not published)
        self._samples: deque[tuple[float, float, float]] = deque()
        self._bytes: deque[tuple[float, int, int]] = deque()  # (wall time, mqtt bytes total, video bytes total)
        self.frames = 0
        self.skipped = 0  # frames the detector did not run on (detect.fps, detect.motion)
        self.started = time.monotonic()
        self.ended: float | None = None  # the camera's input ended: its figures stop here, not at the run's end
        self._all_infer: list[float] = []
        self._all_latency: list[float] = []

    def start(self) -> None:
        """The frames start to flow: wall time (fps) counts from here."""
        self.started = time.monotonic()

    def frame(self, infer_ms: float, captured_at: float, now: float | None = None) -> None:
        """One frame published; infer_ms 0 when the detector skipped it."""
        now = time.time() if now is None else now
        self.frames += 1
        latency = (now - captured_at) * 1000.0
        self._samples.append((now, infer_ms, latency))
        if infer_ms > 0:
            _keep(self._all_infer, infer_ms)
        else:
            self.skipped += 1
        _keep(self._all_latency, latency)
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def skipped_at_source(self, n: int, now: float | None = None) -> None:
        """`n` frames the source only grabbed (detect.fps with no video out): handled and not detected, with
        no latency of their own (nothing was published for them)."""
        now = time.time() if now is None else now
        self.frames += n
        self.skipped += n
        self._samples.extend([(now, 0.0, math.nan)] * n)

    def traffic(self, mqtt_bytes: int, video_bytes: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self._bytes.append((now, mqtt_bytes, video_bytes))
        while len(self._bytes) > 2 and now - self._bytes[0][0] > self.window_s:
            self._bytes.popleft()

    def report(self) -> dict[str, float]:
        s = self._samples
        fps = 0.0
        if len(s) > 1 and s[-1][0] > s[0][0]:
            fps = (len(s) - 1) / (s[-1][0] - s[0][0])
        infer = np.array([x[1] for x in s if x[1] > 0]) if s else np.zeros(0)
        lat = np.array([x[2] for x in s if not math.isnan(x[2])]) if s else np.zeros(0)
        mqtt_bps = video_bps = 0.0
        if len(self._bytes) > 1:
            (t0, m0, v0), (t1, m1, v1) = self._bytes[0], self._bytes[-1]
            if t1 > t0:
                mqtt_bps, video_bps = (m1 - m0) / (t1 - t0), (v1 - v0) / (t1 - t0)

        def pct(a: np.ndarray, q: float) -> float:
            return round(float(np.percentile(a, q)), 2) if a.size else 0.0

        detect_fps = fps * (infer.size / len(s)) if s else 0.0
        return {
            "fps": round(fps, 2),
            "detect_fps": round(detect_fps, 2),
            "skipped_share": round(1.0 - infer.size / len(s), 3) if s else 0.0,
            "infer_ms_p50": pct(infer, 50),
            "infer_ms_p95": pct(infer, 95),
            "latency_ms_p50": pct(lat, 50),
            "latency_ms_p95": pct(lat, 95),
            "mqtt_bps": round(mqtt_bps, 1),
            "video_bps": round(video_bps, 1),
            "frames": self.frames,
        }

    def overall(self) -> dict[str, float]:
        """Whole-run figures for the summary."""
        elapsed = (self.ended or time.monotonic()) - self.started
        a, lat = np.array(self._all_infer), np.array(self._all_latency)

        def pct(x: np.ndarray, q: float) -> float:
            return round(float(np.percentile(x, q)), 2) if x.size else 0.0

        return {
            "fps": round(self.frames / elapsed, 2) if elapsed > 0 else 0.0,
            "infer_ms_p50": pct(a, 50),
            "infer_ms_p95": pct(a, 95),
            "latency_ms_p50": pct(lat, 50),
            "latency_ms_p95": pct(lat, 95),
            "skipped_share": round(self.skipped / self.frames, 3) if self.frames else 0.0,
            "wall_s": round(elapsed, 2),
        }


def _keep(values: list[float], value: float) -> None:
    values.append(value)
    if len(values) > 100_000:  # bounded for month-long runs
        del values[:50_000]
