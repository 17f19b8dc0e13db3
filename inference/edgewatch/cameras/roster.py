"""The worker's cameras: built from their opened inputs (at start, or once a waiting input opens) and
served in fair turns on the shared model."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from ..config import Config, check_against_source
from ..errors import EdgewatchError
from ..models.runtime import SharedInference
from .build import Opened
from .camera import Camera

Build = Callable[[str, Opened], Camera]  # a camera from its id and its opened input


class Roster:
    def __init__(self, cfg: Config, sources: dict[str, Opened], build: Build, wake: threading.Event) -> None:
        self.cfg = cfg
        self.sources = sources
        self.build = build
        self.cameras: dict[str, Camera] = {}
        self._turn = 0  # where the next round robin pass starts (feed)
        for cam_id, opened in sources.items():
            if opened.source is not None:
                self.cameras[cam_id] = build(cam_id, opened)
            else:
                opened.retry(wake)

    def request_stop(self) -> None:
        """Every input's reader stops (safe from a signal handler: it only sets flags)."""
        for opened in self.sources.values():
            opened.request_stop()

    def start(self) -> None:
        for cam in self.cameras.values():
            cam.start()

    @property
    def waiting(self) -> bool:
        """An input has not opened yet."""
        return any(o.source is None for o in self.sources.values())

    @property
    def finished(self) -> bool:
        """Every camera running has come to its end (a camera still waiting for its input may join)."""
        return all(c.finished for c in self.cameras.values())

    def join(self) -> None:
        """A camera whose input could not be opened at start joins once its opener got it."""
        for cam_id, opened in self.sources.items():
            if cam_id in self.cameras or opened.source is None:
                continue
            try:
                info = opened.source.info  # checked here, as open_sources checks the inputs open at start
                check_against_source(self.cfg, cam_id, info.width, info.height, info.fps)
                cam = self.build(cam_id, opened)
            except EdgewatchError as err:
                print(f"edgewatch: camera {cam_id}: {err}", file=sys.stderr)
                opened.fail(str(err))
                continue
            cam.start()
            self.cameras[cam_id] = cam

    def feed(self, inference: SharedInference) -> int:
        """Each camera takes a step in turn, one per pass, until none has anything to do: no camera gets a
        second request before every other had its turn. Round robin across calls too: the next call starts
        after the last camera that took a step, so when one request frees, a camera whose frame waits is
        served before a flooding camera is served again. (Starting one camera further on every call, as
        before, handed a freed request to whichever camera that loop pass happened to start at: on a slower
        CPU a live camera's frame then waited past its source's queue and frames were dropped.)"""
        cams = [c for c in self.cameras.values() if not c.finished]
        if not cams:
            return 0
        taken = 0
        progress = True
        while progress:
            progress = False
            start = self._turn % len(cams)
            for k in range(len(cams)):
                i = (start + k) % len(cams)
                if cams[i].take(inference):
                    progress = True
                    taken += 1
                    self._turn = i + 1
        return taken

    def deliver(self) -> int:
        return sum(cam.deliver() for cam in self.cameras.values())

    def tick(self) -> None:
        for cam in self.cameras.values():
            cam.tick()

    def failures(self) -> list[EdgewatchError]:
        return [c.failure for c in self.cameras.values() if c.failure is not None]

    def finish(self) -> list[str]:
        """Close every input and camera; whatever was gathered is kept. Returns the warnings for the user."""
        for opened in self.sources.values():
            opened.close()
        return [m for cam in self.cameras.values() for m in cam.finish()]

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {cam_id: cam.summary() for cam_id, cam in self.cameras.items()}
