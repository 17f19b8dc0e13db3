"""Annotated video out: a file, an FFmpeg stream towards the relay, or raw frames on stdout.

`open_sink` picks the sink from the output's form; `VideoGate` applies the always/on-event/off policy.
"""

from __future__ import annotations

import logging
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import cv2
import ffmpeg
import numpy as np

from ..config import VideoConfig
from ..errors import EdgewatchError
from ..sources.locate import IMAGE_EXTS, redact

log = logging.getLogger(__name__)

# Container format FFmpeg must write for each URL scheme.
# HTTP goes to the relay's ingest as FLV: FFmpeg's MPEG-TS demuxer holds each picture until the next one
# starts, 200 ms at 10 fps (measured, stream/README.md).
STREAM_FORMATS = {"rtsp": "rtsp", "rtmp": "flv", "srt": "mpegts", "udp": "mpegts", "tcp": "mpegts", "http": "flv"}
VIDEO_EXTS = {".mp4", ".mkv", ".avi", ".mov", ".ts"}


class VideoSink:
    bytes_sent = 0

    def write(self, image: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _encoder_args(fps: float, bitrate: str) -> dict:
    gop = max(1, round(fps))  # one key frame a second: players join and recover fast
    return {"vcodec": "libx264", "preset": "veryfast", "tune": "zerolatency", "pix_fmt": "yuv420p",
            "g": gop, "keyint_min": gop, "video_bitrate": bitrate}


def _half(bitrate: str) -> str:
    """'800k' -> '400k': a half-second rate-control buffer."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", bitrate.strip())
    if not m:
        raise EdgewatchError(f"video.bitrate: {bitrate!r} is not a bitrate like 800k or 2M")
    return f"{float(m.group(1)) / 2:g}{m.group(2)}"


def _ffmpeg_process(target: str, size: tuple[int, int], fps: float, out_args: dict) -> subprocess.Popen:
    w, h = size
    stream = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="bgr24", s=f"{w}x{h}", r=fps)
    stream = ffmpeg.output(stream, target, **out_args)
    stream = stream.global_args("-hide_banner", "-loglevel", "error", "-nostats", "-progress", "pipe:2", "-y")
    return stream.run_async(pipe_stdin=True, pipe_stderr=True, quiet=False)


class _FfmpegProgress:
    """Reads `-progress` lines from FFmpeg's stderr: bytes written, and the last error line."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.total_size = 0
        self.last_error = ""
        threading.Thread(target=self._read, args=(proc,), daemon=True, name="ffmpeg-progress").start()

    def _read(self, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            m = re.fullmatch(r"total_size=(\d+)", line)
            if m:
                self.total_size = int(m.group(1))
            elif line and "=" not in line:
                self.last_error = line


class FileSink(VideoSink):
    """An H.264 file through FFmpeg; OpenCV's own writer when FFmpeg is not installed."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, bitrate: str) -> None:
        self.path = path
        if not path.parent.exists():
            raise EdgewatchError(f"output folder does not exist: {path.parent}")
        self._proc = None
        self._writer = None
        if shutil.which("ffmpeg"):
            args = _encoder_args(fps, bitrate)
            if path.suffix.lower() == ".mp4":
                args["movflags"] = "+faststart"
            self._proc = _ffmpeg_process(str(path), size, fps, args)
            self._progress = _FfmpegProgress(self._proc)
        else:
            self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
            if not self._writer.isOpened():
                raise EdgewatchError(f"cannot write video file: {path}")

    def write(self, image: np.ndarray) -> None:
        if self._writer is not None:
            self._writer.write(image)
            return
        try:
            self._proc.stdin.write(image.tobytes())
        except BrokenPipeError:
            raise EdgewatchError(f"ffmpeg stopped writing {self.path}: {self._progress.last_error or 'broken pipe'}") from None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
        elif self._proc is not None:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
            self._proc.wait(timeout=60)
            self.bytes_sent = self._progress.total_size


class ImageSink(VideoSink):
    """For an image output: keep the last annotated frame, write it on close."""

    def __init__(self, path: Path) -> None:
        if not path.parent.exists():
            raise EdgewatchError(f"output folder does not exist: {path.parent}")
        self.path = path
        self._last: np.ndarray | None = None

    def write(self, image: np.ndarray) -> None:
        self._last = image

    def close(self) -> None:
        if self._last is not None and not cv2.imwrite(str(self.path), self._last):
            raise EdgewatchError(f"cannot write image: {self.path}")


class StdoutSink(VideoSink):
    """Raw BGR frames on stdout for `edgewatch ... -o - | ffmpeg -f rawvideo -pix_fmt bgr24 -s WxH -i - ...`."""

    def write(self, image: np.ndarray) -> None:
        data = image.tobytes()
        sys.stdout.buffer.write(data)
        self.bytes_sent += len(data)

    def close(self) -> None:
        try:
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            pass


class StreamSink(VideoSink):
    """FFmpeg pushing H.264 to the relay. Never blocks the worker: frames go through a 2-deep queue and the
    oldest is dropped when FFmpeg is slow; when the relay is down FFmpeg is restarted with back-off."""

    def __init__(self, url: str, size: tuple[int, int], fps: float, bitrate: str) -> None:
        if not shutil.which("ffmpeg"):
            raise EdgewatchError("ffmpeg is not installed: it is needed to stream video to " + redact(url))
        self.url, self.size, self.fps = url, size, fps
        # A capped rate and small buffer keep a constant, low bandwidth; packets are flushed as made.
        self.args = {**_encoder_args(fps, bitrate), "maxrate": bitrate, "bufsize": _half(bitrate), "bf": 0,
                     "flush_packets": 1, "format": STREAM_FORMATS[urlparse(url).scheme]}
        if self.args["format"] == "rtsp":
            self.args["rtsp_transport"] = "tcp"
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._bytes_done = 0  # bytes of FFmpeg processes that already ended
        self._progress: _FfmpegProgress | None = None
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="video-out")
        self._thread.start()

    @property
    def bytes_sent(self) -> int:  # type: ignore[override]
        return self._bytes_done + (self._progress.total_size if self._progress else 0)

    def write(self, image: np.ndarray) -> None:
        try:
            self._queue.put_nowait(image)
        except queue.Full:
            try:
                self._queue.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
            self._queue.put_nowait(image)

    def _run(self) -> None:
        delay, failing = 1.0, False
        while not self._stop.is_set():
            proc = _ffmpeg_process(self.url, self.size, self.fps, self.args)
            self._progress = _FfmpegProgress(proc)
            started = time.monotonic()
            try:
                while not self._stop.is_set():
                    try:
                        image = self._queue.get(timeout=0.5)
                    except queue.Empty:
                        if proc.poll() is not None:
                            break
                        continue
                    proc.stdin.write(image.tobytes())
                    proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                self._bytes_done += self._progress.total_size
                self._progress = None
            if self._stop.is_set():
                return
            if time.monotonic() - started > 10:
                delay, failing = 1.0, False
            if not failing:
                log.warning("video stream to %s stopped; retrying with back-off", redact(self.url))
                failing = True
            self._stop.wait(delay)
            # A short cap: a restarted relay must have video again within seconds; an FFmpeg that
            # fails at once on a refused connection costs little every 2 s.
            delay = min(delay * 2, 2.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def open_sink(cfg: VideoConfig, size: tuple[int, int], fps: float, single_image: bool) -> VideoSink | None:
    out = cfg.output
    if not out or cfg.policy == "off":
        return None
    if out == "-":
        return StdoutSink()
    if "://" in out:
        scheme = urlparse(out).scheme.lower()
        if scheme not in STREAM_FORMATS:
            raise EdgewatchError(f"unsupported video output scheme {scheme!r}: use one of {', '.join(sorted(STREAM_FORMATS))}")
        return StreamSink(out, size, fps, cfg.bitrate)
    path = Path(out).expanduser()
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTS:
        if not single_image:
            raise EdgewatchError(f"output {path} is an image but the input is a video: use .mp4")
        return ImageSink(path)
    if suffix not in VIDEO_EXTS:
        raise EdgewatchError(f"unsupported output file type {suffix or '(none)'!r}: use .mp4, .mkv, .avi or .jpg/.png")
    return FileSink(path, size, fps, cfg.bitrate)


class VideoGate:
    """Decides per frame whether video goes out: `on-event` streams while someone is in view, plus a tail."""

    def __init__(self, policy: str, tail_s: float) -> None:
        self.policy = policy
        self.tail_s = tail_s
        self._open_until = -1.0

    def allow(self, video_s: float, in_frame: int, had_events: bool) -> bool:
        if self.policy == "always":
            return True
        if self.policy == "off":
            return False
        if in_frame > 0 or had_events:
            self._open_until = video_s + self.tail_s
        return video_s <= self._open_until
