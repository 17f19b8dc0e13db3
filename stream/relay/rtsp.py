"""Keeps the RTSP server process (rtsp_server.py) running next to the relay."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

log = logging.getLogger("relay")


class RtspSupervisor:
    def __init__(self, python: str, port: int, bind: str, source: str, cameras: str) -> None:
        self.port = port
        self._cmd = [python, str(Path(__file__).with_name("rtsp_server.py")),
                     "--port", str(port), "--bind", bind, "--source", source, "--cameras", cameras]
        self._proc: asyncio.subprocess.Process | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def run(self) -> None:
        delay = 1.0
        while not self._stopping:
            self._proc = await asyncio.create_subprocess_exec(*self._cmd)
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
