"""A still picture per camera (GET /<cam>/still.jpg), for overview tiles that refresh about once a second.

Cheap whatever the number of viewers: the JPEG is cached with its time and made again at most once
a second, and only from a newer keyframe. One long-running FFmpeg per camera decodes it: it gets the
session's init segment once, then one keyframe fragment per picture. Measured on 768x432: ~5 ms of
CPU a picture, against ~65 ms for a fresh FFmpeg per picture (nearly all of it FFmpeg starting).
The decoder stops after IDLE_S without a request. A picture is the newest keyframe, so it is at
most one GOP old (1 s with the worker's `-g <fps>`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from .mp4 import Fragment

if TYPE_CHECKING:
    from .channel import Session

log = logging.getLogger("relay")

MIN_INTERVAL_S = 1.0  # at most one decode a second per camera
IDLE_S = 30.0
DECODE_TIMEOUT_S = 5.0


def decoder_command(ffmpeg: str) -> list[str]:
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error",
        # One thread each side and a tiny probe: otherwise FFmpeg holds a picture back until more input
        # arrives (frame threads in the decoder and in the MJPEG encoder), and "-fflags nobuffer" would
        # drop the probed first picture, so it is not used.
        "-threads", "1", "-probesize", "32", "-analyzeduration", "0",
        "-f", "mp4", "-i", "pipe:0",
        "-threads", "1", "-fps_mode", "passthrough",  # one JPEG per keyframe, no frames made up for the gaps
        "-c:v", "mjpeg", "-q:v", "5", "-f", "image2pipe", "-flush_packets", "1", "pipe:1",
    ]


def jpeg_length(buf: bytes | bytearray) -> int | None:
    """Length of the whole JPEG at the start of `buf`, or None while it is incomplete.

    Walks the marker segments to the start of scan; in the entropy-coded data after it a 0xFF byte is
    always followed by 0x00 or a restart marker, so the first FF D9 there is the end of image
    (FFmpeg's MJPEG encoder writes baseline JPEG: one scan).
    """
    if len(buf) < 2:
        return None
    if buf[:2] != b"\xff\xd8":
        raise ValueError("decoder output is not a JPEG")
    pos = 2
    while True:
        if len(buf) < pos + 4:
            return None
        if buf[pos] != 0xFF:
            raise ValueError("corrupt JPEG header")
        marker = buf[pos + 1]
        pos += 2 + int.from_bytes(buf[pos + 2:pos + 4], "big")
        if marker == 0xDA:  # start of scan
            break
    end = buf.find(b"\xff\xd9", pos)
    return None if end < 0 else end + 2


class Still:
    """One camera's cached still and its decoder."""

    def __init__(self, name: str, ffmpeg: str) -> None:
        self.name = name
        self._ffmpeg = ffmpeg
        self._lock = asyncio.Lock()  # one decode at a time; waiters then find the fresh picture
        self._proc: asyncio.subprocess.Process | None = None
        self._proc_session = 0  # the session whose init segment the decoder got
        self._buf = bytearray()
        self._idle: asyncio.TimerHandle | None = None
        self._idle_stop: asyncio.Task | None = None
        self._jpeg: bytes | None = None
        self._session = 0  # session and keyframe the cached picture comes from
        self._key: Fragment | None = None
        self._made = 0.0
        self.decodes = 0

    async def get(self, s: Session) -> bytes | None:
        """The live session's latest picture, or None before its first keyframe."""
        async with self._lock:
            self._rearm_idle()
            cached = self._jpeg if self._session == s.id else None
            if cached is not None and time.monotonic() - self._made < MIN_INTERVAL_S:
                return cached
            key = s.gop[0] if s.gop and s.gop[0].key else None  # read under the lock: the newest GOP
            if key is None or s.init is None or (cached is not None and key is self._key):
                return cached  # no newer keyframe: the same picture again
            try:
                jpeg = await asyncio.wait_for(self._decode(s.id, s.init, key), DECODE_TIMEOUT_S)
            except (asyncio.TimeoutError, OSError, EOFError, ValueError) as err:
                log.warning("%s: still picture failed: %s", self.name, err or type(err).__name__)
                await self._stop_decoder()
                return cached
            self._jpeg, self._session, self._key, self._made = jpeg, s.id, key, time.monotonic()
            self.decodes += 1
            return jpeg

    async def _decode(self, session_id: int, init: bytes, key: Fragment) -> bytes:
        proc = self._proc
        if proc is None or proc.returncode is not None or self._proc_session != session_id:
            await self._stop_decoder()
            proc = self._proc = await asyncio.create_subprocess_exec(
                *decoder_command(self._ffmpeg), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self._proc_session = session_id
            self._buf.clear()
            assert proc.stdin is not None
            proc.stdin.write(init)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(key.data)
        await proc.stdin.drain()
        while (n := jpeg_length(self._buf)) is None:
            chunk = await proc.stdout.read(65536)
            if not chunk:
                raise EOFError(f"decoder ended (exit {await proc.wait()})")
            self._buf += chunk
        jpeg = bytes(self._buf[:n])
        del self._buf[:n]
        return jpeg

    def _rearm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._idle = asyncio.get_running_loop().call_later(IDLE_S, self._on_idle)

    def _on_idle(self) -> None:
        self._idle_stop = asyncio.create_task(self.close())  # kept: the loop holds tasks only weakly

    async def close(self) -> None:
        """Stop the decoder (idle, or shutting down); the next request starts it again."""
        if self._idle is not None:
            self._idle.cancel()
        async with self._lock:
            await self._stop_decoder()

    async def _stop_decoder(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # FFmpeg ends at end of input
        try:
            await asyncio.wait_for(proc.wait(), 2)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
