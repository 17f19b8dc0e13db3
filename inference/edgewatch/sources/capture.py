"""Frame sources on top of OpenCV.

A reader thread decodes ahead of inference into a bounded queue, so decoding and inference overlap on
the two cores. Files are read in full (the queue blocks); live sources and files paced with --realtime
behave like a camera: when the consumer falls behind the oldest frame is dropped, so video stays live.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import SourceConfig
from ..errors import EdgewatchError
from ..types import Frame, SourceStatus
from .locate import InputSpec, locate, redact

log = logging.getLogger(__name__)
_END = object()


@dataclass(frozen=True)
class SourceInfo:
    kind: str
    uri: str  # passwords redacted
    width: int
    height: int
    fps: float
    frame_count: int | None  # None for live sources

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")


def too_soon(last_s: float | None, t: float, fps: float | None) -> bool:
    """Whether `t` comes less than 1/fps after `last_s`: at most `fps` a second, in the stream's own time.
    The first never does, nor one after time went back (a looped file started again)."""
    return fps is not None and last_s is not None and last_s <= t < last_s + 1.0 / fps - 1e-3


def _open_capture(spec: InputSpec, threads: int = 0) -> cv2.VideoCapture:
    """`threads`: FFmpeg's decoding threads for a file or stream (0: FFmpeg's own choice, one per core)."""
    if spec.camera_index is not None:
        return cv2.VideoCapture(spec.camera_index)
    params = [cv2.CAP_PROP_N_THREADS, threads] if threads > 0 else []
    if spec.kind == "stream":
        # Bounded open/read timeouts so a dead camera cannot hang the worker for minutes.
        params += [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10000]
    return cv2.VideoCapture(spec.uri, cv2.CAP_FFMPEG, params) if params else cv2.VideoCapture(spec.uri)


def _read_image(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise EdgewatchError(f"cannot decode image (corrupt or not an image): {path}")
    return image


Prepare = Callable[[np.ndarray], np.ndarray]


class _Handoff:
    """The bounded queue between the reader thread and the consumer: items in order, then the end marker
    or a failure to re-raise in the consumer. A live item may push out the oldest waiting (`dropped`);
    `wake` is set whenever an item is queued."""

    def __init__(self, size: int, stop: threading.Event, wake: threading.Event | None) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=size)
        self._stop = stop
        self.wake = wake
        self.dropped = 0
        self.finished = False  # the end (or a failure) has been handed to the consumer

    def put(self, item: object, droppable: bool) -> bool:
        """Queue an item; False when the source is stopping."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                if self.wake is not None:
                    self.wake.set()
                return True
            except queue.Full:
                if droppable:
                    try:
                        self._queue.get_nowait()
                        self.dropped += 1
                    except queue.Empty:
                        pass
        return False

    def put_end(self) -> None:
        try:
            self._queue.put(_END, timeout=1.0)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._queue.put_nowait(_END)
        if self.wake is not None:
            self.wake.set()

    def poll(self, timeout: float = 0.0) -> Frame | SourceStatus | None:
        """The next item, or None if none is ready (or the end has come); raises the reader's failure."""
        if self.finished:
            return None
        try:
            item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is _END:
            self.finished = True
            return None
        if isinstance(item, BaseException):
            self.finished = True
            raise item
        return item

    def discard(self, timeout: float) -> None:
        """Take one waiting item away unseen, so a reader blocked on a full queue can go on (closing)."""
        try:
            self._queue.get(timeout=timeout)
        except queue.Empty:
            pass


class _Feed:
    """The reader thread's side of the hand-off: frames made from decoded pictures and handed on, and
    which pictures are wanted at all."""

    def __init__(self, out: _Handoff, stop: threading.Event, prepare: Prepare | None) -> None:
        self.out = out
        self.stop = stop
        self.prepare = prepare  # the model's input from each picture, in the reader thread
        # Set before start() when no output needs every picture (detect.fps, no video out): pictures between
        # two that are handed on are only grabbed (decoded, not converted to BGR nor queued) and counted.
        self.sample_fps: float | None = None
        self.sampled_out = 0
        self.kept_s: float | None = None  # stream time of the last frame handed on

    def wanted(self, t: float) -> bool:
        return not too_soon(self.kept_s, t, self.sample_fps)

    def frame(self, index: int, video_s: float, image: np.ndarray) -> Frame:
        return Frame(index, video_s, time.time(), image, self.prepare(image) if self.prepare is not None else None)

    def put(self, item: object, droppable: bool) -> bool:
        """False when the source is stopping: the reader returns."""
        return self.out.put(item, droppable)


class _Images:
    """A still image, or a folder of them in name order (looped with source.loop)."""

    ended_early: str | None = None

    def __init__(self, spec: InputSpec, cfg: SourceConfig) -> None:
        self.files = spec.files
        self.loop = cfg.loop and spec.kind == "folder"
        self.first: np.ndarray | None = _read_image(str(spec.files[0]))  # a bad input fails at start
        h, w = self.first.shape[:2]
        self.info = SourceInfo(spec.kind, spec.uri, w, h, 1.0, len(spec.files))

    def run(self, feed: _Feed) -> None:
        while True:
            for i, path in enumerate(self.files):
                image, self.first = self.first if i == 0 else None, None
                if image is None:
                    try:
                        image = _read_image(str(path))
                    except EdgewatchError as err:
                        log.warning("%s: skipped", err)
                        continue
                if not feed.put(feed.frame(i, float(i), image), droppable=False):
                    return
            if not self.loop:
                return

    def release(self) -> None:
        pass


class _Capture:
    """A video file, camera or stream through OpenCV, opened and its first picture decoded at start, so a
    bad input fails before anything runs."""

    def __init__(self, spec: InputSpec, cfg: SourceConfig, threads: int) -> None:
        self.spec, self.cfg, self.threads = spec, cfg, threads
        self.ended_early: str | None = None  # set when a file stops before its announced length
        cap = _open_capture(spec, threads)
        if not cap.isOpened():
            cap.release()
            what = {"video": "cannot open video (corrupt, truncated or not a video)", "camera": "cannot open camera",
                    "stream": "cannot open stream"}[spec.kind]
            raise EdgewatchError(f"{what}: {redact(spec.uri)}")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise EdgewatchError(f"no frame could be decoded from {redact(spec.uri)} (corrupt or unsupported)")
        self.cap: cv2.VideoCapture | None = cap
        self.first: np.ndarray | None = first
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not (0 < fps < 1000):
            fps = 25.0 if spec.live else 10.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if spec.kind == "video" else None
        h, w = first.shape[:2]
        self.info = SourceInfo(spec.kind, redact(spec.uri), w, h, float(fps), count if count and count > 0 else None)

    def release(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class _File(_Capture):
    """A video file, read in full (or paced like a camera with source.realtime, dropping when behind)."""

    def run(self, feed: _Feed) -> None:
        assert self.cap is not None
        fps = self.info.fps
        pace = self.cfg.realtime
        index, offset_s, start = 0, 0.0, time.monotonic()
        frame, self.first = self.first, None
        while not feed.stop.is_set():
            video_s = index / fps
            keep = frame is not None or feed.wanted(video_s)
            if frame is None:
                ok, frame = self.cap.read() if keep else (self.cap.grab(), None)
                if not ok or (keep and frame is None):
                    frame = None
                    expected = self.info.frame_count
                    read_in_pass = index - round(offset_s * fps)
                    if expected and read_in_pass < expected - 1 and not self.cfg.loop:
                        self.ended_early = f"video ended after {read_in_pass} of {expected} frames (truncated?)"
                    if not self.cfg.loop or read_in_pass == 0:
                        return
                    # Loop: keep the clock running so tracks and durations stay continuous.
                    offset_s = index / fps
                    self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
            if pace:
                delay = start + video_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if not keep:
                feed.sampled_out += 1
            elif feed.put(feed.frame(index, video_s, frame), droppable=pace):
                feed.kept_s = video_s
            else:
                return
            index += 1
            frame = None


class _Live(_Capture):
    """A camera or stream: the oldest frames dropped when behind; reopened with back-off when it drops."""

    def run(self, feed: _Feed) -> None:
        cfg = self.cfg.reconnect
        start = time.monotonic()
        index = 0
        frame, self.first = self.first, None
        lost_since: float | None = None
        delay = cfg.initial_s
        while not feed.stop.is_set():
            if frame is None and self.cap is not None:
                if lost_since is None and not feed.wanted(time.monotonic() - start):
                    if self.cap.grab():
                        feed.sampled_out += 1
                        index += 1
                        continue
                else:
                    ok, frame = self.cap.read()
                    if not ok:
                        frame = None
            if frame is not None:
                if lost_since is not None:
                    feed.put(SourceStatus("restored", f"reopened after {time.monotonic() - lost_since:.1f} s",
                                          time.monotonic() - start), droppable=False)
                    lost_since, delay = None, cfg.initial_s
                feed.kept_s = time.monotonic() - start
                feed.put(feed.frame(index, feed.kept_s, frame), droppable=True)
                index += 1
                frame = None
                continue
            # The stream dropped: keep counting state, reopen with bounded exponential back-off.
            now = time.monotonic()
            if lost_since is None:
                lost_since = now
                feed.put(SourceStatus("lost", f"no frames from {self.info.uri}", now - start), droppable=False)
            if cfg.give_up_s is not None and now - lost_since > cfg.give_up_s:
                raise EdgewatchError(f"source lost for more than {cfg.give_up_s:g} s: {self.info.uri}")
            self.release()
            log.warning("source lost; reopening %s in %.1f s", self.info.uri, delay)
            if feed.stop.wait(delay):
                return
            delay = min(delay * 2, cfg.max_s)
            cap = _open_capture(self.spec, self.threads)
            if cap.isOpened():
                self.cap = cap
            else:
                cap.release()


def _reader(spec: InputSpec, cfg: SourceConfig, threads: int) -> _Images | _File | _Live:
    if spec.kind in ("image", "folder"):
        return _Images(spec, cfg)
    return _Live(spec, cfg, threads) if spec.live else _File(spec, cfg, threads)


class FrameSource:
    """Iterate (or `poll()`) to get `Frame`s and `SourceStatus`es in order; `close()` releases everything.

    `prepare` makes the model's input from each decoded picture in the reader thread; `wake` is set
    whenever an item is queued, so one consumer can wait on many sources at once; `decode_threads`
    is FFmpeg's threads for this input (0: its own choice). One reader per kind of input (_Images,
    _File, _Live) decodes in the reader thread."""

    def __init__(self, spec: InputSpec, cfg: SourceConfig, prepare: Prepare | None = None,
                 wake: threading.Event | None = None, decode_threads: int = 0) -> None:
        self.spec = spec
        self.decode_threads = decode_threads
        self._stop = threading.Event()
        self._out = _Handoff(cfg.queue_size, self._stop, wake)
        self.feed = _Feed(self._out, self._stop, prepare)
        self.reader = _reader(spec, cfg, decode_threads)
        self.info = self.reader.info
        self._thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        """The end (or a failure) has been handed to the consumer."""
        return self._out.finished

    @property
    def dropped(self) -> int:
        """Frames decoded but dropped to stay live (the consumer fell behind)."""
        return self._out.dropped

    @property
    def sampled_out(self) -> int:
        """Pictures only grabbed, not handed on (sample_fps)."""
        return self.feed.sampled_out

    @property
    def ended_early(self) -> str | None:
        """Why a file stopped before its announced length, if it did."""
        return self.reader.ended_early

    @property
    def wake(self) -> threading.Event | None:
        return self._out.wake

    @wake.setter
    def wake(self, event: threading.Event | None) -> None:
        self._out.wake = event

    @property
    def prepare(self) -> Prepare | None:
        return self.feed.prepare

    @prepare.setter
    def prepare(self, prepare: Prepare | None) -> None:
        self.feed.prepare = prepare

    @property
    def sample_fps(self) -> float | None:
        return self.feed.sample_fps

    @sample_fps.setter
    def sample_fps(self, fps: float | None) -> None:
        self.feed.sample_fps = fps

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"decode-{self.spec.kind}", daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[Frame | SourceStatus]:
        self.start()
        while not self.finished:
            item = self.poll(timeout=0.5)
            if item is not None:
                yield item
            elif self._stop.is_set():
                return

    def poll(self, timeout: float = 0.0) -> Frame | SourceStatus | None:
        """The next item, or None if none is ready (or the source has finished); raises the reader's failure."""
        return self._out.poll(timeout)

    def _run(self) -> None:
        try:
            self.reader.run(self.feed)
        except BaseException as err:  # hand the failure to the consuming thread
            self._out.put(err, droppable=False)
        finally:
            self.reader.release()
            self._out.put_end()

    def request_stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # Drain so the reader is not stuck on a full queue, then wait for it to release the capture.
            # Bounded: a reader blocked inside FFmpeg on a stalled stream must not keep a stopping
            # worker from ending (the thread is a daemon; its capture goes with the process).
            deadline = time.monotonic() + 15
            while self._thread.is_alive() and time.monotonic() < deadline:
                self._out.discard(0.1)
            self._thread.join(timeout=1)
            if self._thread.is_alive():
                log.warning("the reader of %s did not stop within 15 s; leaving it", self.info.uri)
        else:
            self.reader.release()


def open_source(cfg: SourceConfig, prepare: Prepare | None = None, wake: threading.Event | None = None,
                decode_threads: int = 0) -> FrameSource:
    """Locate and open the input; raises EdgewatchError with a one-line cause."""
    return FrameSource(locate(cfg.input), cfg, prepare, wake, decode_threads)
