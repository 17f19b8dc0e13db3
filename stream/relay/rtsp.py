"""Keeps the RTSP server process (rtsp_server.py) running next to the relay, and tells it the cameras to mount."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

log = logging.getLogger("relay")


class RtspSupervisor:
    def __init__(self, python: str, port: int, bind: str, source: str) -> None:
        self.port = port
        self._cmd = [python, str(Path(__file__).with_name("rtsp_server.py")),
                     "--port", str(port), "--bind", bind, "--source", source]
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = False
        self.cameras: dict[str, None] = {}  # every camera that has pushed since the relay started, in order

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def mount(self, cam: str) -> None:
        """Serve rtsp://…/<cam> from now on (a camera that has pushed); idempotent."""
        if cam not in self.cameras:
            self.cameras[cam] = None
            self._send([cam])

    def _send(self, cams: list[str]) -> None:
        p = self._proc
        if cams and p is not None and p.returncode is None and p.stdin is not None and not p.stdin.is_closing():
            p.stdin.write("".join(c + "\n" for c in cams).encode())

    async def run(self) -> None:
        delay = 1.0
        while not self._stopping:
            self._proc = await asyncio.create_subprocess_exec(*self._cmd, stdin=asyncio.subprocess.PIPE)
            self._send(list(self.cameras))  # a restarted server mounts every camera seen so far
            code = await self._proc.wait()
            if self._stopping:
                return
            log.warning("rtsp server exited with %s; restarting in %.0f s", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        self._stopping = True
        p = self._proc
        if p is not None and p.returncode is None:
            p.terminate()
            try:
                await asyncio.wait_for(p.wait(), 3)
            except asyncio.TimeoutError:
                p.kill()
                await p.wait()
