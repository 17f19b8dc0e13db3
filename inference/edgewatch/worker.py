"""The worker: every camera's frames through one shared model, fairly, each camera published in its own order.

One Python thread runs the loop; each camera decodes (and pre-processes) in its own thread, and
OpenVINO runs the requests on its own threads. Cameras queue frames in round robin, one each in turn
while requests are free, the next turn starting after the last camera served, so a camera with more
frames than its share cannot starve the others; a live camera that falls behind drops its own oldest frames
(sources/capture.py). The cameras and their turns: cameras/roster.py.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import statefile
from .cameras.build import Opened, build_camera, open_sources
from .cameras.camera import Camera
from .cameras.models import SharedModels, load_models
from .cameras.roster import Roster
from .config import Config
from .errors import EdgewatchError
from .models.runtime import SharedInference

log = logging.getLogger(__name__)
TICK_S = 0.05  # the loop's time-based work (outputs' tick) at least this often, frames or not


@dataclass
class RunResult:
    summary: dict[str, Any]
    exit_code: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class Stages:
    """Everything opened and checked before the first frame is processed."""

    models: SharedModels
    sources: dict[str, Opened]


def prepare(cfg: Config, strict: bool = False, wait: bool = False) -> Stages:
    """Open every input and the model; bad input fails here, before any camera starts. `wait` (a service):
    an input that cannot be opened yet waits and is retried, even a single camera's."""
    sources = open_sources(cfg, strict, wait)
    try:
        single = next(iter(sources.values())) if len(sources) == 1 else None
        paced = single is not None and single.source is not None and (single.source.info.live or single.cfg.source.realtime)
        models = load_models(cfg, paced_single=paced)
    except BaseException:
        for opened in sources.values():
            opened.close()
        raise
    return Stages(models, sources)


class _Heartbeat:
    """Touches a file while frames flow, for the container health check (`edgewatch healthcheck`)."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self._last = 0.0

    def beat(self) -> None:
        now = time.monotonic()
        if self.path is not None and now - self._last > 2.0:
            self._last = now
            try:
                self.path.touch()
            except OSError:
                pass


class Worker:
    def __init__(self, cfg: Config, stages: Stages, progress: bool = False,
                 today: Callable[[], str] = statefile.today) -> None:
        self.cfg = cfg
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.inference = SharedInference(stages.models.detector, wake=self.wake)

        def build(cam_id: str, opened: Opened) -> Camera:
            return build_camera(cam_id, cfg, opened, stages.models, self.wake, self.stop, progress, today)

        self.cameras = Roster(cfg, stages.sources, build, self.wake)
        if not cfg.mqtt.host:
            print("edgewatch: no MQTT broker configured (--mqtt-host); results are not published", file=sys.stderr)
        self.heartbeat = _Heartbeat(os.environ.get("EDGEWATCH_HEARTBEAT"))
        self.started = time.monotonic()
        self._ticked = 0.0

    def request_stop(self) -> None:
        """Safe from a signal handler: only sets flags that the loop and the readers check."""
        self.stop.set()
        self.cameras.request_stop()
        self.wake.set()

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        self.started = time.monotonic()  # the site's fps, like each camera's, from when frames can flow
        cams = self.cameras
        cams.start()
        while not self.stop.is_set():
            self.wake.clear()
            cams.join()
            if cams.cameras and cams.finished and not cams.waiting:
                break
            if cams.waiting and cams.finished:
                self.heartbeat.beat()  # alive, waiting for an input: healthy (the status says `waiting`)
            moved = cams.feed(self.inference) + self._collect() + self._deliver()
            now = time.monotonic()
            if now - self._ticked >= TICK_S:
                self._ticked = now
                cams.tick()
            if not moved:
                self.wake.wait(TICK_S)
        self.inference.wait_all()
        self._collect()
        self._deliver()
        failed = cams.failures()
        if failed and len(self.cfg.cameras) == 1:
            raise failed[0]

    def _collect(self) -> int:
        done = self.inference.take_done()
        for entry, outputs, ms in done:
            Camera.done(entry, outputs, ms)
        return len(done)

    def _deliver(self) -> int:
        n = self.cameras.deliver()
        if n:
            self.heartbeat.beat()
        return n

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> RunResult:
        """Close every camera; whatever was gathered is kept and reported, even after an error."""
        messages = self.cameras.finish()
        summary = self.summary()
        if self.cfg.summary:
            write_summary(self.cfg.summary, summary)
        return RunResult(summary, 0, messages)

    def summary(self) -> dict[str, Any]:
        per_camera = self.cameras.summaries()
        if len(self.cfg.cameras) == 1 and per_camera:
            return next(iter(per_camera.values()))
        frames = sum(s["frames"] for s in per_camera.values())
        wall = time.monotonic() - self.started
        return {"cameras": per_camera, "frames": frames, "fps": round(frames / wall, 2) if wall > 0 else 0.0,
                "waiting": sorted(set(self.cfg.cameras) - set(per_camera))}


def write_summary(path: str, summary: dict[str, Any]) -> None:
    if path == "-":  # for `docker compose run ... --summary -`
        print(json.dumps(summary), flush=True)
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    except OSError as err:
        raise EdgewatchError(f"cannot write summary {path}: {err.strerror}") from None
