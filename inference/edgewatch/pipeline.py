"""Wires the stages together: source -> model -> analytics -> publishers, and ends every run cleanly."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import statefile
from .analytics import Analytics
from .config import Config, check_geometry
from .errors import EdgewatchError
from .models import registry, runtime
from .models.adapters import Adapter, choose
from .models.reid import ReidEmbedder, check_embedding
from .perf import PerfMeter
from .publishers.annotate import Annotator
from .publishers.video import VideoGate, VideoSink, open_sink
from .sources import FrameSource, open_source
from .types import Event, Frame, FrameFacts, SourceStatus

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    summary: dict[str, Any]
    exit_code: int = 0
    messages: list[str] = field(default_factory=list)


@dataclass
class Stages:
    """Everything opened and checked before the first frame is processed."""

    source: FrameSource
    model: runtime.LoadedModel
    adapter: Adapter
    reid: ReidEmbedder | None


def prepare(cfg: Config) -> Stages:
    """Open the input and the model(s); any bad input fails here, before work starts."""
    models_root = registry.models_dir()
    files = registry.resolve(cfg.model.name, cfg.model.precision, models_root)
    min_score = min(cfg.model.threshold, cfg.tracker.low_threshold)
    holder: dict[str, Adapter] = {}

    def check(shapes: list[tuple[int, ...]]) -> None:
        holder["adapter"] = choose(cfg.model, shapes, files.name, min_score)

    source = open_source(cfg.source)
    try:
        # A camera (or a file paced like one) needs each frame fast, not the most frames a second.
        paced = source.info.live or cfg.source.realtime
        loaded = runtime.load(files, cfg.model.device, cfg.model.cache_dir, check=check,
                              hint="LATENCY" if paced else "THROUGHPUT", resize=cfg.model.resize)
        reid = None
        if cfg.model.reid is not None:
            reid_files = registry.resolve(cfg.model.reid.model, cfg.model.precision, models_root)
            reid = ReidEmbedder(runtime.load(reid_files, cfg.model.device, cfg.model.cache_dir,
                                             check=check_embedding, hint="LATENCY"))
        check_geometry(cfg, source.info.width, source.info.height)
    except BaseException:
        source.close()
        raise
    return Stages(source, loaded, holder["adapter"], reid)


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
        self.stages = stages
        info = stages.source.info
        if info.kind == "image":
            # One picture: a person seen once is a person (there are no further frames to confirm them).
            cfg = cfg.model_copy(deep=True)
            cfg.tracker.min_hits = 1
            self.cfg = cfg
        self.analytics = Analytics(cfg, (info.width, info.height))
        self.class_shares: dict[str, float] = {}  # running sum of segmentation shares, for the summary
        self.seg_frames = 0
        # Totals are the day's: a camera that runs on (live, or a looped file) starts the next day's
        # at local midnight. A single file is counted whole, whatever the clock says.
        self.today = today
        self.day = today()
        self.rolls_over = info.live or cfg.source.loop
        self.pending: list[Event] = self._restore(statefile.load(cfg.state_file, cfg.camera))
        self.perf = PerfMeter()
        # Kept for the run's --summary only: a camera that runs for months without one keeps none.
        self.events: deque[Event] = deque(maxlen=100_000 if cfg.summary else 0)
        self.stop = threading.Event()
        self.sink: VideoSink | None = open_sink(cfg.video, (info.width, info.height), info.fps, info.kind == "image")
        self.gate = VideoGate(cfg.video.policy, cfg.video.tail_s)
        precision = stages.model.files.precision or "?"
        self.model_label = f"{stages.model.name} {precision} {stages.model.device}"
        self.annotator = Annotator(cfg, self.model_label) if (self.sink or cfg.video.show) else None
        self.mqtt = self._open_mqtt()
        self.heartbeat = _Heartbeat(os.environ.get("EDGEWATCH_HEARTBEAT"))
        self.progress = self._progress_bar() if progress else None
        self.last_video_s = 0.0

    def _restore(self, saved: statefile.SavedDay | None) -> list[Event]:
        """Carry on with today's saved totals; a saved earlier day (down at midnight) is reported as ended."""
        if saved is None:
            return []
        if saved.date >= self.day:  # later = the clock is behind (a box without RTC before NTP): still today's
            self.analytics.restore(saved.analytics)
            self.day = saved.date
            log.info("restored the totals of %s from %s", saved.date, self.cfg.state_file)
            return []
        ended = Analytics(self.cfg, self.analytics.frame_size)
        try:
            ended.restore(saved.analytics)
        except EdgewatchError as err:  # not today's: no reason to stop the camera for it
            log.warning("cannot report the day %s from %s (kept as %s): %s", saved.date, self.cfg.state_file,
                        statefile.set_aside(self.cfg.state_file), err)
            return []
        totals = ended.new_day()
        self.analytics.restore(ended.snapshot())  # today from zero, person ids carrying on
        return [self._day_end(saved.date, totals, 0.0, at=saved.saved_at)]

    @staticmethod
    def _day_end(date: str, totals: dict[str, Any], video_s: float, at: float) -> Event:
        return Event("day_end", video_s, {"date": date, **totals}, at=at)

    def _new_day(self, day: str, video_s: float) -> None:
        """Midnight: publish the day that ended, start the next one and save that at once (a kill
        right after must not report the same day twice on restart)."""
        self._emit([self._day_end(self.day, self.analytics.new_day(), video_s, time.time())])
        self.day = day
        self._save_state()

    def _save_state(self) -> None:
        statefile.save(self.cfg.state_file, self.cfg.camera, self.analytics.snapshot(), self.day)

    def _emit_pending(self) -> bool:
        """Publishes the saved earlier day's end once; True if there was one."""
        pending, self.pending = self.pending, []
        self._emit(pending)
        return bool(pending)

    def _open_mqtt(self):
        if not self.cfg.mqtt.host:
            print("edgewatch: no MQTT broker configured (--mqtt-host); results are not published", file=sys.stderr)
            return None
        from .publishers.mqtt import MqttPublisher

        pub = MqttPublisher(self.cfg.mqtt, self.cfg.camera, self.stages.source.info.uri)
        pub.start()
        return pub

    def _progress_bar(self):
        info = self.stages.source.info
        if info.live or self.cfg.source.loop or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=info.frame_count, unit="frame", desc="edgewatch", file=sys.stderr, leave=False)

    def request_stop(self) -> None:
        """Safe from a signal handler: only sets flags that the loop and the reader check."""
        self.stop.set()
        self.stages.source.request_stop()

    # -- the loop ----------------------------------------------------------------------------
    def _inputs(self) -> Iterator[tuple[Frame | SourceStatus, Any]]:
        for item in self.stages.source:
            if self.stop.is_set():
                return
            yield item, (item.image if isinstance(item, Frame) else None)

    def run(self) -> None:
        runner = runtime.OrderedAsyncRunner(self.stages.model)
        last_perf = last_save = time.monotonic()
        if self._emit_pending():  # that day's end is in the outbox now: save today so a restart does not repeat it
            self._save_state()
        for tag, outputs, infer_ms in runner.run(self._inputs()):
            if self.rolls_over and (day := self.today()) > self.day:  # ISO dates sort; a clock set back waits
                self._new_day(day, tag.video_s)
            if isinstance(tag, SourceStatus):
                self._emit([Event(f"source_{tag.state}", tag.video_s, {"detail": tag.detail}, at=tag.at)])
                continue
            output = self.stages.adapter.postprocess(outputs, tag, infer_ms)
            if self.stages.reid is not None and output.detections:
                output = dataclasses.replace(output, embeddings=self.stages.reid.embed(tag, output.detections))
            facts = self.analytics.update(output)
            if output.segmentation is not None:
                self.seg_frames += 1
                for name, share in output.segmentation.shares.items():
                    self.class_shares[name] = self.class_shares.get(name, 0.0) + share
            self.last_video_s = tag.video_s
            self._publish(facts)
            now = time.monotonic()
            if now - last_perf >= (self.cfg.mqtt.perf_interval_s if self.mqtt else 2.0):
                last_perf = now
                self._publish_perf()
            if now - last_save >= 10.0:
                last_save = now
                self._save_state()

    def _emit(self, events: list[Event]) -> None:
        if not events:
            return
        self.events.extend(events)
        if self.mqtt is not None:
            self.mqtt.publish_events(events)
        for e in events:
            log.info("event %s at %.1f s %s", e.type, e.video_s, e.data)

    def _publish(self, facts: FrameFacts) -> None:
        self._emit(facts.events)
        if self.mqtt is not None:
            if facts.output.segmentation is not None:
                self.mqtt.publish_segmentation(facts)
            self.mqtt.publish_state(facts)
        if self.annotator is not None and self.gate.allow(facts.frame.video_s, facts.in_frame, bool(facts.events)):
            image = self.annotator.draw(facts)
            if self.sink is not None:
                self.sink.write(image)
            if self.cfg.video.show:
                import cv2

                cv2.imshow("edgewatch", image)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    self.stop.set()
        self.perf.frame(facts.output.infer_ms, facts.frame.captured_at)
        self.heartbeat.beat()
        if self.progress is not None:
            self.progress.update(1)

    def _publish_perf(self) -> None:
        self.perf.traffic(self.mqtt.bytes_sent if self.mqtt else 0, self.sink.bytes_sent if self.sink else 0)
        if self.mqtt is not None:
            m = self.stages.model
            self.mqtt.publish_perf({**self.perf.report(), "model": m.name, "precision": m.files.precision or "",
                                    "device": m.device})

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> RunResult:
        """Close every stage in order; whatever was gathered is kept and reported, even after an error."""
        messages: list[str] = []
        self.stages.source.close()
        if self.progress is not None:
            self.progress.close()
        self._emit_pending()  # the saved day's end, if run() stopped before it got there
        self._emit(self.analytics.finish(self.last_video_s))
        if self.stages.source.ended_early:
            messages.append(f"warning: {self.stages.source.ended_early}: {self.stages.source.info.uri}")
        self._save_state()
        if self.sink is not None:
            try:
                self.sink.close()
            except EdgewatchError as err:
                messages.append(f"error: {err}")
        if self.cfg.video.show:
            import cv2

            cv2.destroyAllWindows()
        self._publish_perf()
        if self.mqtt is not None:
            report = self.mqtt.close(self.cfg.mqtt.drain_timeout_s)
            if getattr(report, "pending", 0):
                messages.append(f"warning: {report.pending} MQTT events not delivered; kept on disk for the next run")
        summary = self.summary()
        if self.cfg.summary:
            write_summary(self.cfg.summary, summary)
        return RunResult(summary, 0, messages)

    def summary(self) -> dict[str, Any]:
        info = self.stages.source.info
        overall = self.perf.overall()
        return {
            "camera": self.cfg.camera,
            "input": info.uri,
            "model": self.stages.model.name,
            "device": self.stages.model.device,
            "frames": self.perf.frames,
            "video_s": round(self.last_video_s, 2),
            "fps": overall["fps"],
            "infer_ms_p50": overall["infer_ms_p50"],
            "infer_ms_p95": overall["infer_ms_p95"],
            **self.analytics.summary(),
            **({"segmentation": {k: round(v / self.seg_frames, 4) for k, v in self.class_shares.items()}}
               if self.seg_frames else {}),
            "events": [e.to_json(self.cfg.camera) for e in self.events],
        }


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
