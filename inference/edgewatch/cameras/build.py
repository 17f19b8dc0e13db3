"""Opening a site's cameras: every input first (bad input fails before any camera starts), then each
camera with its analytics, day and outputs. A camera whose input cannot be opened at start, beside
others that can, waits and retries with back-off while they run (fatal with --strict, and for a
single camera, whose run would have nothing to do)."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import cv2

from .. import media
from ..analytics import Analytics
from ..config import CameraConfig, Config, check_against_source
from ..errors import EdgewatchError
from ..publishers.motfiles import DetectionsOutput, TracksOutput
from ..publishers.mqtt import MqttPublisher
from ..publishers.outputs import (EventLog, MqttOutput, Output, ProgressOutput, SegmentationShares, StateFileOutput,
                                  VideoOutput, WindowOutput, drawing)
from ..publishers.video import VideoGate, open_sink
from ..sources import FrameSource, open_source
from ..sources.locate import redact
from .camera import Camera
from .day import DayBook
from .geometry import GeometryInbox
from .models import SharedModels

log = logging.getLogger(__name__)


class Opened:
    """A camera's input and its MQTT link, from before the camera runs: a camera still waiting for
    its input already says so on its status topic."""

    def __init__(self, camera: str, cfg: Config, mqtt: MqttPublisher | None, inbox: GeometryInbox,
                 decode_threads: int = 0) -> None:
        self.camera = camera
        self.decode_threads = decode_threads
        self.cfg: CameraConfig = cfg.cameras[camera]
        self.mqtt = mqtt
        self.inbox = inbox  # the UI's saved lines and zones, kept from the first connect on
        self.source: FrameSource | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None  # why the input is not open (yet)
        self.taken = False  # a Camera runs it now and closes its MQTT link

    def open(self) -> None:
        self.source = open_source(self.cfg.source, decode_threads=self.decode_threads)

    def _open_or_fetch(self) -> None:
        """Open the input; a missing demo video (media_catalog.json) is fetched into its folder first.
        The error then says what is missing, the URL tried and the folder to copy it into."""
        try:
            self.open()
            return
        except EdgewatchError as err:
            demo = demo_media(self.cfg.source.input)
            if demo is None:
                raise
            first = err
        folder = demo_folder(self.cfg.source.input)
        try:
            media.fetch([demo.name], folder)
        except EdgewatchError as err:
            raise EdgewatchError(f"{first}; fetching {demo.url} failed ({str(err).split(': ', 2)[-1]}); "
                                 f"copy {demo.name} into {folder}") from None
        self.open()

    def retry(self, wake: threading.Event) -> None:
        """Keep trying in the background, with the source's back-off; `wake` the worker when it opened."""
        print(f"edgewatch: camera {self.camera}: {self.error}; retrying with back-off while the other cameras run",
              file=sys.stderr)
        if self.mqtt is not None:
            self.mqtt.set_input("waiting", self.error or "")

        def run() -> None:
            delay = self.cfg.source.reconnect.initial_s
            while not self._stop.wait(delay):
                try:
                    self._open_or_fetch()
                except EdgewatchError as err:
                    if str(err) != self.error:  # said once, not at every try
                        log.warning("camera %s: waiting for input: %s (retrying)", self.camera, err)
                        self.error = str(err)
                        if self.mqtt is not None:
                            self.mqtt.set_input("waiting", str(err))
                    delay = min(delay * 2, self.cfg.source.reconnect.max_s)
                    continue
                wake.set()
                return

        self._thread = threading.Thread(target=run, name=f"open-{self.camera}", daemon=True)
        self._thread.start()

    def fail(self, message: str) -> None:
        """The input opened but cannot be used (e.g. its frame is smaller than the lines drawn on it)."""
        if self.source is not None:
            self.source.close()
        self.source = None
        self.error = message
        if self.mqtt is not None:
            self.mqtt.set_input("waiting", message)

    def request_stop(self) -> None:
        self._stop.set()
        if self.source is not None:
            self.source.request_stop()

    def close(self) -> None:
        self._stop.set()
        if self.source is not None:
            self.source.close()
        if self.mqtt is not None and not self.taken:  # a camera that never ran still says goodbye
            self.mqtt.close(0.0)


def demo_media(raw: str | None) -> media.MediaFile | None:
    """The catalogued demo video a local input path names (by its file name), if it is one."""
    if not raw or "://" in raw or raw.upper() == "CAM" or raw.isdigit():
        return None
    return media.entries().get(Path(raw).name)


def demo_folder(raw: str) -> Path:
    return Path(raw).expanduser().parent


def open_sources(cfg: Config, strict: bool, wait: bool = False) -> dict[str, Opened]:
    """Every camera's input, checked against its config; slots with `error` set for inputs that did not open
    (with several cameras, or `wait`: a service; a one-shot run of one camera fails at once)."""
    side_by_side = len(cfg.cameras) > 1
    several = side_by_side or wait
    if side_by_side:
        # Several cameras share the cores by running side by side: one FFmpeg thread a decoder and no
        # OpenCV pool inside a call, whose extra threads only fought the other cameras for the same
        # cores (bench/cameras.py: 49 gated cameras kept 85 % of their frames against 80 %).
        cv2.setNumThreads(1)
    opened: dict[str, Opened] = {}
    try:
        for cam_id in cfg.cameras:
            inbox = GeometryInbox()
            slot = Opened(cam_id, cfg, _mqtt(cfg, cam_id, inbox), inbox, 1 if side_by_side else 0)
            opened[cam_id] = slot
            try:
                slot.open()  # a missing demo video is fetched by the retries, in the background
            except EdgewatchError as err:
                if not several or strict:
                    raise EdgewatchError(f"camera {cam_id}: {err}" if len(cfg.cameras) > 1 else str(err)) from None
                slot.error = str(err)
                continue
            info = slot.source.info
            check_against_source(cfg, cam_id, info.width, info.height, info.fps)
    except BaseException:
        for slot in opened.values():
            slot.close()
        raise
    return opened


def build_camera(cam_id: str, cfg: Config, opened: Opened, models: SharedModels, wake: threading.Event,
                 stop: threading.Event, progress: bool, today) -> Camera:
    """The camera's analytics, day and outputs, once its input is open and checked (check_against_source;
    their sizes are the frame's)."""
    source = opened.source
    info = source.info
    cam_cfg = cfg.cameras[cam_id]
    if info.kind == "image":
        # One picture: a person seen once is a person (there are no further frames to confirm them).
        cam_cfg = cam_cfg.model_copy(update={"tracker": cam_cfg.tracker.model_copy(update={"min_hits": 1})})
    # Every frame of an ungated camera is detected: scale it in its decode thread, beside inference.
    # A gated camera (detect.fps, detect.motion) skips most frames: scale only those it detects.
    gated = cam_cfg.detect.fps is not None or cam_cfg.detect.motion
    source.prepare = None if gated else models.detector.prepare
    source.wake = wake
    analytics = Analytics(cam_cfg, cfg.model, (info.width, info.height),
                          embed=models.reid.embed if models.reid is not None else None)
    day = DayBook(cam_id, cam_cfg.state_file, analytics, rolls_over=info.live or cam_cfg.source.loop, today=today)
    outputs: list[Output] = [EventLog(cam_id, keep=100_000 if cfg.summary else 0), SegmentationShares()]
    opened.taken = True
    if opened.mqtt is not None:
        opened.mqtt.set_input("ok", info.uri)
        outputs.append(MqttOutput(opened.mqtt, cfg.mqtt.drain_timeout_s))
    sink = open_sink(cam_cfg.video, (info.width, info.height), info.fps, info.kind == "image")
    if sink is not None or cam_cfg.video.show:
        m = models.detector
        draw = drawing(cam_cfg, f"{m.name} {m.files.precision or '?'} {m.device}")
        if sink is not None:
            outputs.append(VideoOutput(sink, VideoGate(cam_cfg.video.policy, cam_cfg.video.tail_s), draw))
        if cam_cfg.video.show:
            outputs.append(WindowOutput(cam_id, draw, stop))
    if cam_cfg.state_file:
        outputs.append(StateFileOutput(day.save))
    if cam_cfg.tracks_file:
        outputs.append(TracksOutput(cam_cfg.tracks_file, cam_cfg.tracker.max_lost_s))
    if cam_cfg.detections_file:
        outputs.append(DetectionsOutput(cam_cfg.detections_file, cam_cfg.tracker.low_threshold))
    # Frames detect.fps skips need no picture unless one is drawn: the source only grabs those (no BGR
    # conversion, no trip through the loop), the cheapest way for many gated cameras.
    if cam_cfg.detect.fps is not None and not any(o.kind == "video" or isinstance(o, WindowOutput) for o in outputs):
        source.sample_fps = cam_cfg.detect.fps
    if progress and len(cfg.cameras) == 1 and not (info.live or cam_cfg.source.loop) and sys.stderr.isatty():
        outputs.append(ProgressOutput(info.frame_count))
    return Camera(cam_id, cfg, source, models, outputs, day, analytics, opened.inbox)


def _mqtt(cfg: Config, cam_id: str, inbox: GeometryInbox) -> MqttPublisher | None:
    if not cfg.mqtt.host:
        return None
    m = cfg.mqtt
    per_camera = {k: getattr(m, k).replace("{camera}", cam_id) for k in ("outbox", "client_id") if getattr(m, k)}
    pub = MqttPublisher(m.model_copy(update=per_camera), cam_id, _uri(cfg.cameras[cam_id]))
    pub.on_config = inbox.put  # before start(): the subscription is made at connect
    pub.start()
    return pub


def _uri(cam: CameraConfig) -> str:
    return redact(cam.source.input or "")
