"""One camera's channel: the current publisher's FFmpeg fan-out and the viewers it feeds.

A publisher (the worker's FFmpeg) POSTs a live stream; the relay pipes it into one
FFmpeg that copies (never re-encodes) the H.264 into two outputs: fragmented MP4 on
stdout, split here and handed to live viewers, and HLS files on disk. A new publisher
replaces the old one at once (newest wins), so a restarted worker never waits for a
half-open connection of its crashed predecessor to time out.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from .mp4 import Fragment, Mp4Splitter
from .still import Still

log = logging.getLogger("relay")

_session_ids = itertools.count(1)
MAX_GOP = 300  # fragments kept for late joiners: 10 s at 30 fps


@dataclass(frozen=True)
class FanoutOptions:
    ffmpeg: str = "ffmpeg"
    hls_time: float = 1.0  # seconds per HLS segment; the publisher's GOP should divide it
    hls_list_size: int = 6
    viewer_queue: int = 30  # fragments a slow viewer may lag before it skips to the next keyframe


def fanout_command(opts: FanoutOptions, hls_dir: Path, session: int) -> list[str]:
    """FFmpeg arguments: stream from stdin -> fMP4 (one fragment per frame) on stdout + HLS in hls_dir."""
    return [
        opts.ffmpeg, "-hide_banner", "-loglevel", "error",
        # Small probe: the publisher sends SPS/PPS with its first keyframe, so 64 kB is plenty.
        "-fflags", "+nobuffer+genpts", "-probesize", "65536", "-analyzeduration", "500000",
        "-i", "pipe:0",
        "-map", "0:v:0", "-c", "copy", "-f", "mp4",
        # One fragment per frame: a viewer gets each picture as soon as it exists.
        "-movflags", "empty_moov+default_base_moof+frag_every_frame", "-flush_packets", "1",
        "pipe:1",
        "-map", "0:v:0", "-c", "copy", "-f", "hls",
        "-hls_time", f"{opts.hls_time:g}", "-hls_list_size", str(opts.hls_list_size),
        # omit_endlist: a publisher restart must not tell players the stream is over;
        # epoch numbering keeps media sequence numbers rising across publishers.
        "-hls_flags", "delete_segments+independent_segments+omit_endlist+discont_start",
        "-hls_start_number_source", "epoch",
        "-hls_segment_filename", str(hls_dir / f"s{session}_%d.ts"),
        str(hls_dir / "index.m3u8"),
    ]


class Viewer:
    """A live viewer's queue: init segment, then fragments from a keyframe on; None = session over."""

    def __init__(self, limit: int) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._limit = limit
        self._need_key = True

    def offer(self, frag: Fragment) -> None:
        if self.queue.qsize() >= self._limit:
            # A slow link: drop what is queued and rejoin at the next keyframe rather than fall behind.
            while not self.queue.empty():
                self.queue.get_nowait()
            self._need_key = True
        if self._need_key and not frag.key:
            return
        self._need_key = False
        self.queue.put_nowait(frag.data)


@dataclass
class Counters:
    bytes_in: int = 0
    bytes_live: int = 0  # fMP4 sent to live viewers (WebSocket + HTTP)
    bytes_hls: int = 0
    publishers: int = 0


@dataclass
class Session:
    """One publisher's pipeline."""

    id: int
    proc: asyncio.subprocess.Process
    started: float = field(default_factory=time.time)
    init: bytes | None = None
    gop: list[Fragment] = field(default_factory=list)  # fragments since the last keyframe, for instant start
    viewers: set[Viewer] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)  # init segment known
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def end(self) -> None:
        if not self.ended.is_set():
            self.ended.set()
            self.ready.set()  # wake waiters so they see the end
            for v in self.viewers:
                v.queue.put_nowait(None)


class Channel:
    def __init__(self, name: str, hls_dir: Path, opts: FanoutOptions,
                 on_live: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.hls_dir = hls_dir
        self.opts = opts
        self.on_live = on_live  # called with the camera id each time a publisher's video starts
        self.session: Session | None = None
        self.counters = Counters()
        self.still = Still(name, opts.ffmpeg)
        self._changed = asyncio.Condition()

    @property
    def live(self) -> bool:
        s = self.session
        return s is not None and s.init is not None and not s.ended.is_set()

    async def publish(self, chunks: AsyncIterator[bytes]) -> None:
        """Run one publisher until its stream ends or a newer publisher replaces it."""
        old = self.session
        if old is not None:
            log.info("%s: new publisher replaces session %d", self.name, old.id)
            await _stop(old.proc)
            old.end()
        shutil.rmtree(self.hls_dir, ignore_errors=True)
        self.hls_dir.mkdir(parents=True, exist_ok=True)
        sid = next(_session_ids)
        proc = await asyncio.create_subprocess_exec(
            *fanout_command(self.opts, self.hls_dir, sid),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        session = Session(sid, proc)
        self.session = session
        self.counters.publishers += 1
        async with self._changed:
            self._changed.notify_all()
        log.info("%s: session %d started", self.name, sid)
        reader = asyncio.create_task(self._read_fragments(session))
        pump = asyncio.create_task(self._pump(chunks, proc))
        ended = asyncio.create_task(session.ended.wait())
        try:
            # Until the publisher stops, or our FFmpeg ends (replaced by a newer publisher, shutdown):
            # the upload may stall without data, so do not wait on it alone.
            await asyncio.wait({pump, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            pump.cancel()
            ended.cancel()
            if proc.stdin is not None and not proc.stdin.is_closing():
                proc.stdin.close()
            # Let FFmpeg flush the last fragments to viewers, but not forever.
            done, _ = await asyncio.wait({reader}, timeout=5)
            await _stop(proc)
            if not done:
                await reader
            session.end()
            log.info("%s: session %d ended (ffmpeg exit %s)", self.name, sid, proc.returncode)

    async def _pump(self, chunks: AsyncIterator[bytes], proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None
        try:
            async for chunk in chunks:
                self.counters.bytes_in += len(chunk)
                proc.stdin.write(chunk)
                await proc.stdin.drain()
        except Exception as err:  # a killed publisher leaves a truncated upload: expected, not a bug
            log.info("%s: publisher upload ended: %s", self.name, err or type(err).__name__)

    async def _read_fragments(self, s: Session) -> None:
        assert s.proc.stdout is not None
        splitter = Mp4Splitter()
        while True:
            chunk = await s.proc.stdout.read(65536)
            if not chunk:
                break
            try:
                frags = splitter.feed(chunk)
            except ValueError as err:  # FFmpeg wrote something that is not MP4: end this session
                log.error("%s: session %d: %s", self.name, s.id, err)
                await _stop(s.proc)
                break
            for frag in frags:
                if s.init is None:  # moov arrived in this same read
                    s.init = splitter.init
                if frag.key or len(s.gop) >= MAX_GOP:  # bounded even if the publisher never sends a keyframe
                    s.gop = []
                s.gop.append(frag)
                for v in s.viewers:
                    v.offer(frag)
            if s.init is None and splitter.init is not None:
                s.init = splitter.init
            if s.init is not None and not s.ready.is_set():
                s.ready.set()
                if self.on_live is not None:
                    self.on_live(self.name)
        s.end()

    async def wait_session(self, timeout: float) -> Session | None:
        """The live session, waiting up to `timeout` s for a publisher to appear."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.session
            if s is not None and not s.ended.is_set():
                if not s.ready.is_set():
                    try:
                        await asyncio.wait_for(s.ready.wait(), max(0.0, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        return None
                if s.init is not None and not s.ended.is_set():
                    return s
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except asyncio.TimeoutError:
                    return None

    async def watch(self, s: Session, cached: bool = True) -> AsyncIterator[bytes]:
        """Init segment, the current GOP (unless not `cached`), then each new fragment, until the session ends."""
        assert s.init is not None
        v = Viewer(self.opts.viewer_queue)
        if cached:
            for frag in s.gop:
                v.offer(frag)
        s.viewers.add(v)
        try:
            yield s.init
            while True:
                data = await v.queue.get()
                if data is None:
                    return
                self.counters.bytes_live += len(data)
                yield data
        finally:
            s.viewers.discard(v)

    async def picture(self) -> bytes | None:
        """The latest still picture (JPEG), or None while nobody publishes."""
        s = self.session
        if s is None or s.init is None or s.ended.is_set():
            return None
        return await self.still.get(s)

    async def close(self) -> None:
        s = self.session
        if s is not None:
            await _stop(s.proc)
            s.end()
        await self.still.close()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 3)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
