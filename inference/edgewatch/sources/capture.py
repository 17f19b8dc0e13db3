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


class FrameSource:
    """Iterate (or `poll()`) to get `Frame`s and `SourceStatus`es in order; `close()` releases everything.

    `prepare` makes the model's input from each decoded picture in the reader thread; `wake` is set
    whenever an item is queued, so one consumer can wait on many sources at once; `decode_threads`
    is FFmpeg's threads for this input (0: its own choice)."""

    def __init__(self, spec: InputSpec, cfg: SourceConfig, prepare: Prepare | None = None,
                 wake: threading.Event | None = None, decode_threads: int = 0) -> None:
        self.spec = spec
        self.cfg = cfg
        self.decode_threads = decode_threads
        self.prepare = prepare
        self._cap: cv2.VideoCapture | None = None
        self._first: np.ndarray | None = None
        self._stop = threading.Event()
        self._out = _Handoff(cfg.queue_size, self._stop, wake)
        self._thread: threading.Thread | None = None
        # Set before start() when no output needs every picture (detect.fps, no video out): frames between
        # two that are handed on are only grabbed (decoded, not converted to BGR nor queued) and counted.
        self.sample_fps: float | None = None
        self.sampled_out = 0
        self._kept_s: float | None = None
        self.ended_early: str | None = None  # set when a file stops before its announced length
        self.info = self._probe()

    @property
    def finished(self) -> bool:
        """The end (or a failure) has been handed to the consumer."""
        return self._out.finished

    @property
    def dropped(self) -> int:
        """Frames decoded but dropped to stay live (the consumer fell behind)."""
        return self._out.dropped

    @property
    def wake(self) -> threading.Event | None:
        return self._out.wake

    @wake.setter
    def wake(self, event: threading.Event | None) -> None:
        self._out.wake = event

    # -- opening -----------------------------------------------------------------------------
    def _probe(self) -> SourceInfo:
        spec = self.spec
        if spec.kind in ("image", "folder"):
            self._first = _read_image(str(spec.files[0]))
            h, w = self._first.shape[:2]
            return SourceInfo(spec.kind, spec.uri, w, h, 1.0, len(spec.files))
        cap = _open_capture(spec, self.decode_threads)
        if not cap.isOpened():
            cap.release()
            what = {"video": "cannot open video (corrupt, truncated or not a video)", "camera": "cannot open camera",
                    "stream": "cannot open stream"}[spec.kind]
            raise EdgewatchError(f"{what}: {redact(spec.uri)}")
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise EdgewatchError(f"no frame could be decoded from {redact(spec.uri)} (corrupt or unsupported)")
        self._cap, self._first = cap, first
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not (0 < fps < 1000):
            fps = 25.0 if spec.live else 10.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if spec.kind == "video" else None
        h, w = first.shape[:2]
        return SourceInfo(spec.kind, redact(spec.uri), w, h, float(fps), count if count and count > 0 else None)

    # -- reading -----------------------------------------------------------------------------
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

    def _frame(self, index: int, video_s: float, image: np.ndarray) -> Frame:
        return Frame(index, video_s, time.time(), image, self.prepare(image) if self.prepare is not None else None)

    def _put(self, item: object, droppable: bool) -> bool:
        return self._out.put(item, droppable)

    def _run(self) -> None:
        try:
            if self.spec.kind in ("image", "folder"):
                self._run_images()
            elif self.spec.live:
                self._run_live()
            else:
                self._run_file()
        except BaseException as err:  # hand the failure to the consuming thread
            self._put(err, droppable=False)
        finally:
            if self._cap is not None:
                self._cap.release()
            self._out.put_end()

    def _run_images(self) -> None:
        while True:
            for i, path in enumerate(self.spec.files):
                image = self._first if (i == 0 and self._first is not None) else None
                self._first = None
                if image is None:
                    try:
                        image = _read_image(str(path))
                    except EdgewatchError as err:
                        log.warning("%s: skipped", err)
                        continue
                if not self._put(self._frame(i, float(i), image), droppable=False):
                    return
            if not (self.cfg.loop and self.spec.kind == "folder"):
                return

    def _run_file(self) -> None:
        assert self._cap is not None
        fps = self.info.fps
        pace = self.cfg.realtime
        index, offset_s, start = 0, 0.0, time.monotonic()
        frame = self._first
        self._first = None
        while not self._stop.is_set():
            video_s = index / fps
            keep = frame is not None or not too_soon(self._kept_s, video_s, self.sample_fps)
            if frame is None:
                ok, frame = self._cap.read() if keep else (self._cap.grab(), None)
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
                    self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
            if pace:
                delay = start + video_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if not keep:
                self.sampled_out += 1
            elif self._put(self._frame(index, video_s, frame), droppable=pace):
                self._kept_s = video_s
            else:
                return
            index += 1
            frame = None

    def _run_live(self) -> None:
        cfg = self.cfg.reconnect
        start = time.monotonic()
        index = 0
        frame = self._first
        self._first = None
        lost_since: float | None = None
        delay = cfg.initial_s
        while not self._stop.is_set():
            if frame is None and self._cap is not None:
                if lost_since is None and too_soon(self._kept_s, time.monotonic() - start, self.sample_fps):
                    if self._cap.grab():
                        self.sampled_out += 1
                        index += 1
                        continue
                else:
                    ok, frame = self._cap.read()
                    if not ok:
                        frame = None
            if frame is not None:
                if lost_since is not None:
                    self._put(SourceStatus("restored", f"reopened after {time.monotonic() - lost_since:.1f} s",
                                           time.monotonic() - start), droppable=False)
                    lost_since, delay = None, cfg.initial_s
                self._kept_s = time.monotonic() - start
                self._put(self._frame(index, self._kept_s, frame), droppable=True)
                index += 1
                frame = None
                continue
            # The stream dropped: keep counting state, reopen with bounded exponential back-off.
            now = time.monotonic()
            if lost_since is None:
                lost_since = now
                self._put(SourceStatus("lost", f"no frames from {self.info.uri}", now - start), droppable=False)
            if cfg.give_up_s is not None and now - lost_since > cfg.give_up_s:
                raise EdgewatchError(f"source lost for more than {cfg.give_up_s:g} s: {self.info.uri}")
            if self._cap is not None:
                self._cap.release()
                self._cap = None
            log.warning("source lost; reopening %s in %.1f s", self.info.uri, delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, cfg.max_s)
            cap = _open_capture(self.spec, self.decode_threads)
            if cap.isOpened():
                self._cap = cap
            else:
                cap.release()

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
        elif self._cap is not None:
            self._cap.release()
            self._cap = None


def open_source(cfg: SourceConfig, prepare: Prepare | None = None, wake: threading.Event | None = None,
                decode_threads: int = 0) -> FrameSource:
    """Locate and open the input; raises EdgewatchError with a one-line cause."""
    return FrameSource(locate(cfg.input), cfg, prepare, wake, decode_threads)
