"""The worker's configuration: one validated tree, loaded from YAML, overridden by flags and environment.

Every key is documented in docs/config.md; unknown keys are errors that name the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import EdgewatchError
from .ids import CAMERA_ID_RULE, is_camera_id


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ReconnectConfig(_Section):
    """How a dropped network stream is reopened."""

    initial_s: float = Field(1.0, gt=0, description="first wait before reopening a dropped stream")
    max_s: float = Field(30.0, gt=0, description="longest wait between attempts (exponential back-off cap)")
    give_up_s: float | None = Field(None, gt=0, description="stop after this long without frames; null = never")


class SourceConfig(_Section):
    """What to read."""

    input: str | None = Field(None, description="image, video, folder, CAM / device index, rtsp:// or http(s):// URL")
    realtime: bool = Field(False, description="pace files at their own frame rate, as a camera would deliver them")
    loop: bool = Field(False, description="start a file again at its end")
    reconnect: ReconnectConfig = ReconnectConfig()
    queue_size: int = Field(8, ge=1, le=256, description="decoded frames buffered ahead of inference")


class ReidConfig(_Section):
    """Re-identification: someone who steps out of view and back is not counted again."""

    model: str = Field("person-reidentification-retail-0287", description="re-identification model name or path")
    max_gap_s: float = Field(30.0, gt=0, description="someone back within this many seconds keeps their id")
    threshold: float = Field(0.6, gt=0, lt=1, description="cosine similarity needed to call it the same person")
    reentry: bool = Field(True, description="recognise people who come back within max_gap_s (not counted again); "
                          "false = appearance only keeps ids apart in a crowd (e.g. staff in one uniform)")
    refresh_s: float = Field(2.0, gt=0, description="a new view of each person in sight this often (besides when a "
                             "track is confirmed or found again): what they are recognised by when they come back")


class ModelConfig(_Section):
    """Which model runs where, and what of its output is kept."""

    name: str = Field("person-detection-retail-0013", description="model name (resolved in the models folder) or path to .xml/.onnx")
    precision: str = Field("FP16", description="precision folder used when resolving a model name")
    device: str = Field("CPU", description="OpenVINO device: CPU, GPU, AUTO, ...")
    adapter: Literal["auto", "detection", "segmentation", "classification"] = Field("auto", description="model family; auto picks by output shape")
    threshold: float = Field(0.5, ge=0, le=1, description="minimum detection confidence")
    resize: Literal["linear", "nearest"] = Field("linear", description="how frames are scaled to the model's input")
    preprocess: Literal["cv2", "graph"] = Field(
        "cv2", description="where frames are scaled: cv2 = OpenCV in each camera's decode thread (0.24 ms for "
        "768x432, measured faster on CPU: docs/performance.md); graph = inside the compiled model (PrePostProcessor)")
    labels: list[int] = Field(default_factory=lambda: [1], description="detector class ids kept (1 = person for the OMZ person models)")
    class_names: list[str] | None = Field(None, description="names of segmentation / classification classes")
    watch_class: str | None = Field(None, description="classification: emit begin/end events when this class turns on/off")
    cache_dir: str | None = Field(None, description="compiled-model cache; default ~/.cache/edgewatch/ov (a model "
                                  "from it is checked against its first compile's answers; one that answers "
                                  "otherwise is compiled without it from then on)")
    reid: ReidConfig | None = Field(None, description="re-identification; null = off")


class TrackerConfig(_Section):
    """Tracking (Kalman filter + assignment, ByteTrack-style): one id per person until they leave."""

    low_threshold: float = Field(0.1, ge=0, le=1, description="detections between this and model.threshold only continue existing tracks (ByteTrack)")
    match_iou: float = Field(0.2, gt=0, le=1, description="minimum IoU for a detection to continue a track")
    low_match_iou: float = Field(0.5, gt=0, le=1, description="minimum IoU for a low-score detection to continue "
                                 "a track (ByteTrack's second stage): a weak box half on a neighbour is not this person")
    min_hits: int = Field(3, ge=1, description="frames a track must be seen before it counts as a person")
    max_lost_s: float = Field(3.0, gt=0, description="a person unseen this long has left")
    stale_s: float = Field(1.0, gt=0, description="a person unseen longer than this is only found again where they "
                           "were last seen (standing still, missed by the detector), not where they might have walked")
    edge_margin: float = Field(0.04, ge=0, lt=0.5, description="share of width/height near a border that counts as that side")
    direction_weight: float = Field(0.35, ge=0, le=2, description="cost of a detection against the way a track walks "
                                    "(OC-SORT's direction consistency); 0 = IoU only")
    colour: bool = Field(True, description="tell people apart by the colours of their clothes where motion is "
                         "ambiguous (hue-saturation histograms of torso and legs, no model, about 35 microseconds a "
                         "box; IDF1 0.03-0.11 higher on the generated crowd clips, less telling on real footage: "
                         "docs/performance.md); with model.reid beside its embeddings, half the similarity each (fewer "
                         "ID switches than re-id alone on the crowd clips; re-entry still by re-id alone); false = "
                         "motion alone, or re-id alone")
    appearance_weight: float | None = Field(None, ge=0, le=5, description="with appearance (model.reid or "
                                            "tracker.colour): weight of appearance where motion is ambiguous (two people "
                                            "close, a lost person coming back); null = 2 with re-id, 3 with colour views "
                                            "(each measured best on the crowd clips: docs/performance.md)")
    appearance_min: float = Field(0.3, ge=-1, lt=1, description="with appearance: a lost track is only found again by "
                                  "a detection at least this similar (cosine), and its side of each line only handed to "
                                  "a new track this similar")
    appearance_iou: float | None = Field(None, gt=0, le=1, description="with appearance: a detection is in question (and "
                                         "embedded) when two tracks overlap it, or a track overlaps two, by at least "
                                         "this IoU; higher embeds fewer crops in a crowd for some accuracy (with re-id, "
                                         "0.35 on the crowd clips: 20-30 % fewer crops, 7-12 % more fps, IDF1 0.02 lower "
                                         "on average and up to 0.06, docs/performance.md); null = match_iou")
    unpaired_cost: float | None = Field(1.5, gt=0, le=5, description="a track and a detection may each stay "
                                        "unpaired at this cost (ByteTrack's cost_limit), so a track refuses a box "
                                        "dearer than that (unlike it, with appearance on) instead of pairing as many "
                                        "as possible; what is left is then paired as before. A new track on a box the "
                                        "most-pairs rule would have given a confirmed track is not counted again in "
                                        "the unique total. On the crowd clips with either person detector: higher "
                                        "IDF1 and HOTA, fewer ID switches and fewer crossings missed or counted for "
                                        "nobody (docs/performance.md); null = pair as many as possible")


Anchor = Literal["bottom_center", "center"]


# A line's or zone's name: shown in the UI, a key in MQTT payloads (as in schemas/geometry.schema.json).
SHAPE_NAME = r"^[A-Za-z0-9_.\- ]{1,64}$"


class LineConfig(_Section):
    """A counting line: crossings in each direction."""

    name: str = Field(pattern=SHAPE_NAME, description="name used in MQTT state and events (1-64 letters, digits, "
                      "space, _ . -)")
    points: list[tuple[float, float]] = Field(description="two [x, y] points in frame pixels; 'in' = crossing to the left of A->B")
    anchor: Anchor = Field("bottom_center", description="the point of a person's box that crosses: bottom_center (the "
                           "feet) or center (overhead cameras)")
    min_frames: int = Field(1, ge=1, le=100, description="frames a person must be seen on the new side before the "
                            "crossing counts (supervision's minimum_crossing_threshold): more = steadier in a crowd")

    @field_validator("points")
    @classmethod
    def _two_points(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(v) != 2:
            raise ValueError("a line needs exactly two points")
        return v


class ZoneConfig(_Section):
    """A polygon zone: occupancy, entries and dwell."""

    name: str = Field(pattern=SHAPE_NAME, description="name used in MQTT state and events (1-64 letters, digits, "
                      "space, _ . -)")
    polygon: list[tuple[float, float]] = Field(description="three or more [x, y] points in frame pixels (at most 100)",
                                               max_length=100)
    anchor: Anchor = Field("bottom_center", description="the point of a person's box that must be inside: "
                           "bottom_center (the feet) or center (overhead cameras)")
    inertia: int = Field(1, ge=1, le=100, description="frames a person must be seen inside to enter, and outside to "
                         "leave (Frigate's inertia): more = no flicker at the border")
    max_people: int | None = Field(None, ge=0, le=1000, description="alert when more than this many people are in "
                                   "the zone (once, re-armed when they are back at or below it)")
    max_dwell_s: float | None = Field(None, gt=0, description="alert when someone stays in the zone longer than this "
                                      "(once per visit)")

    @field_validator("polygon")
    @classmethod
    def _three_points(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if len(v) < 3:
            raise ValueError("a zone needs at least three points")
        return v


MAX_SHAPES = 50  # lines, and zones, a camera may have (one rule for the YAML and the UI's editor)
MAX_POLYGON_POINTS = 100


def unique_names(lines: list[LineConfig], zones: list[ZoneConfig]) -> None:
    for kind, items in (("lines", lines), ("zones", zones)):
        names = [i.name for i in items]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"{kind}: duplicate name {sorted(dup)[0]!r}")


class Geometry(_Section):
    """A camera's lines and zones alone: what the UI's editor saves (the config/geometry topic). The same
    models as the YAML's, so the same rules; the frame's bounds are checked by geometry_in_frame."""

    lines: list[LineConfig] = Field(default_factory=list, max_length=MAX_SHAPES)
    zones: list[ZoneConfig] = Field(default_factory=list, max_length=MAX_SHAPES)

    @model_validator(mode="after")
    def _unique_names(self) -> "Geometry":
        unique_names(self.lines, self.zones)
        return self


def geometry_in_frame(lines: list[LineConfig], zones: list[ZoneConfig], width: int, height: int,
                      whose: str = "the") -> str | None:
    """The first point outside `whose` width x height frame, as `<kind>.<i>.<key>: <why>`; None if all are in."""
    for kind, items, attr in (("lines", lines, "points"), ("zones", zones, "polygon")):
        for i, item in enumerate(items):
            for x, y in getattr(item, attr):
                if not (0 <= x <= width and 0 <= y <= height):
                    return f"{kind}.{i}.{attr}: point ({x:g}, {y:g}) of {item.name!r} is outside {whose} {width}x{height} frame"
    return None


class AlertConfig(_Section):
    """Alert rules; each fires an `alert` event."""

    max_people: int | None = Field(None, ge=0, description="alert when more than this many people are in frame")
    max_dwell_s: float | None = Field(None, gt=0, description="alert when someone stays longer than this (frame or zone)")


class TlsConfig(_Section):
    """TLS to the broker; null = plain MQTT."""

    ca: str | None = Field(None, description="CA certificate file that signed the broker's certificate")
    cert: str | None = Field(None, description="client certificate (mutual TLS)")
    key: str | None = Field(None, description="client key (mutual TLS)")
    insecure: bool = Field(False, description="skip hostname check (testing only)")


class MqttConfig(_Section):
    """Where facts are published (topics in docs/mqtt.md)."""

    host: str | None = Field(None, description="broker host; null = publish nothing")
    port: int = Field(1883, ge=1, le=65535, description="broker port (8883 is usual with TLS)")
    username: str | None = Field(None, description="broker user (EDGEWATCH_MQTT_USERNAME)")
    password: str | None = Field(None, description="broker password (EDGEWATCH_MQTT_PASSWORD or _FILE for a Docker secret)")
    tls: TlsConfig | None = None
    topic_prefix: str = Field("edgewatch", description="root of the topic tree")
    client_id: str | None = Field(None, description="default edgewatch-<camera>")
    state_hz: float = Field(4.0, gt=0, le=30, description="most live-state messages a second")
    perf_interval_s: float = Field(2.0, gt=0, description="seconds between performance messages")
    outbox: str | None = Field(None, description="file keeping undelivered events across runs; default ~/.local/state/edgewatch/outbox-<camera>.sqlite")
    drain_timeout_s: float = Field(10.0, ge=0, description="at the end of a file, wait this long for queued messages")


class VideoConfig(_Section):
    """Annotated video out."""

    output: str | None = Field(None, description="file (.mp4/.jpg), URL (rtsp://, rtmp://, srt://, udp://) for FFmpeg, or '-' for raw frames on stdout")
    policy: Literal["always", "on-event", "off"] = Field("always", description="stream always, only while people are present (+ tail), or never")
    tail_s: float = Field(5.0, ge=0, description="keep streaming this long after the last person left")
    bitrate: str = Field("800k", pattern=r"^\d+(\.\d+)?[kKmM]?$", description="H.264 bitrate for FFmpeg outputs, e.g. 800k or 2M")
    show: bool = Field(False, description="show a window (desktop use)")


class DetectConfig(_Section):
    """When the detector runs on a camera's frames (the frames between are shown with the tracks held)."""

    fps: float | None = Field(None, gt=0, description="detections a second; null = every frame (the camera's own rate). "
                              "E.g. 5 on a 25-fps camera: the tracker and counts follow at 5 fps for a fifth of the CPU. "
                              "With no video out, the frames between are only grabbed, never converted or queued")
    motion: bool = Field(False, description="run the detector only when a cheap check of a small grey copy of the frame "
                         "sees motion; without motion the tracks are held as they are")
    idle_s: float = Field(2.0, gt=0, description="with motion: run the detector at least this often even when nothing moves")
    motion_threshold: int = Field(25, ge=1, le=255, description="with motion: grey-level change that counts a pixel as moving")
    motion_area: float = Field(0.002, gt=0, lt=1, description="with motion: share of the picture that must change to call it motion")
    ignore_standing: bool = Field(True, description="with motion: motion inside the box of a person tracked standing still "
                                  "(a gesture at a counter) does not run the detector; someone walking off moves out of "
                                  "their box at once, and idle_s re-checks them meanwhile")


class CameraConfig(_Section):
    """One camera: where its frames come from, what is counted on them, where its video goes."""

    source: SourceConfig = SourceConfig()
    detect: DetectConfig = DetectConfig()
    tracker: TrackerConfig = TrackerConfig()
    lines: list[LineConfig] = Field(default_factory=list, description="counting lines (at most 50); once the UI's "
                                    "editor saved a camera's lines and zones, those win (docs/ui.md)", max_length=50)
    zones: list[ZoneConfig] = Field(default_factory=list, description="polygon zones (at most 50)", max_length=50)
    alerts: AlertConfig = AlertConfig()
    video: VideoConfig = VideoConfig()
    state_file: str | None = Field(None, description="persist the day's totals here so a restart keeps them")
    tracks_file: str | None = Field(None, description="write every frame's confirmed tracks here, MOTChallenge format "
                                    "(frame,id,x,y,w,h,conf,-1,-1,-1; frames from 1), to score the run (--tracks); "
                                    "a person's rows start at their first frame, before they were confirmed, and "
                                    "span the frames they were missed in when found again within tracker.max_lost_s "
                                    "(written that much later)")
    detections_file: str | None = Field(None, description="write the detections the tracker was given here, same format "
                                        "with id -1, to feed another tracker the same input (--detections)")

    @model_validator(mode="after")
    def _unique_names(self) -> "CameraConfig":
        unique_names(self.lines, self.zones)
        return self


# Sections that belong to a camera; at the top level of a `cameras:` config they are every camera's defaults.
CAMERA_KEYS = tuple(CameraConfig.model_fields)
DEFAULT_KEYS = ("source", "detect", "tracker", "alerts", "video", "state_file", "tracks_file", "detections_file")
# Per-camera files: with several cameras each needs its own, `{camera}` in the top-level default.
CAMERA_FILES = ("state_file", "tracks_file", "detections_file")
DEFAULT_MAX_CAMERAS = 16


class Config(_Section):
    """The worker's whole configuration: the shared model and broker, and each camera by its id."""

    model: ModelConfig = ModelConfig()
    mqtt: MqttConfig = MqttConfig()
    cameras: dict[str, CameraConfig] = Field(default_factory=dict, description="camera id -> that camera's settings")
    max_cameras: int = Field(DEFAULT_MAX_CAMERAS, ge=1, le=256, description="most cameras one worker takes (16; a 2-core "
                             "box held 17 ten-fps cameras at full rate, 64 with detect.fps 5 and the motion gate: "
                             "docs/performance.md)")
    summary: str | None = Field(None, description="write a JSON summary here at the end of the run (- for stdout)")

    @field_validator("cameras")
    @classmethod
    def _camera_ids(cls, v: dict[str, CameraConfig]) -> dict[str, CameraConfig]:
        for cam in v:
            if not is_camera_id(cam):
                raise ValueError(f"camera id {cam!r} is not usable in topics and paths ({CAMERA_ID_RULE})")
        return v

    @model_validator(mode="after")
    def _site_rules(self) -> "Config":
        if not self.cameras:
            raise ValueError("cameras: no camera configured")
        if len(self.cameras) > self.max_cameras:
            raise ValueError(f"cameras: {len(self.cameras)} cameras, more than max_cameras ({self.max_cameras})")
        outputs: dict[str, str] = {}
        for cam, c in self.cameras.items():
            if c.tracker.low_threshold > self.model.threshold:
                raise ValueError(f"cameras.{cam}.tracker.low_threshold must not exceed model.threshold")
            for key, value in (("video.output", c.video.output), *((k, getattr(c, k)) for k in CAMERA_FILES)):
                if value and value != "-" and (f"{key}={value}") in outputs:
                    raise ValueError(f"cameras.{cam}.{key}: {value!r} is also camera {outputs[key + '=' + value]!r}'s "
                                     "(use {camera} in the default)")
                if value:
                    outputs[f"{key}={value}"] = cam
        if sum(1 for c in self.cameras.values() if c.video.output == "-") + (self.summary == "-") > 1:
            raise ValueError("summary and video.output cannot both be '-' (stdout)")
        if len(self.cameras) > 1:
            for key in ("outbox", "client_id"):
                if getattr(self.mqtt, key) and "{camera}" not in getattr(self.mqtt, key):
                    raise ValueError(f"mqtt.{key}: with several cameras it must contain {{camera}}")
        return self

    @property
    def single(self) -> bool:
        return len(self.cameras) == 1


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Both config forms into the `cameras:` shape.

    One camera: `camera`, `source`, `lines`, ... at the top level (today's form, and the command line's).
    Several: `cameras: {id: {...}}`, where top-level source/detect/tracker/alerts/video/state_file are
    every camera's defaults, and `{camera}` in video.output and the per-camera files (state_file,
    tracks_file, detections_file) is the camera's id."""
    data = dict(data)
    if "cameras" not in data:
        cam = data.pop("camera", "cam1")
        own = {k: data.pop(k) for k in CAMERA_KEYS if k in data}
        data["cameras"] = {cam: own} if isinstance(cam, str) else {"camera": cam}
        return _fill_templates(data)
    for key in ("camera", "lines", "zones"):
        if key in data:
            raise EdgewatchError(f"config: {key}: with a cameras: mapping it belongs under cameras.<id>")
    if isinstance(data.get("source"), dict) and "input" in data["source"]:
        raise EdgewatchError("config: source.input: with a cameras: mapping each camera has its own input "
                             "(cameras.<id>.source.input)")
    defaults = {k: data.pop(k) for k in DEFAULT_KEYS if k in data}
    cameras = data["cameras"]
    if not isinstance(cameras, dict):
        raise EdgewatchError("config: cameras: must be a mapping of camera id to settings")
    merged = {}
    for cam, own in cameras.items():
        if own is None:
            own = {}
        if not isinstance(own, dict):
            raise EdgewatchError(f"config: cameras.{cam}: must be a mapping of settings")
        merged[cam] = merge_tree(defaults, own)
    data["cameras"] = merged
    return _fill_templates(data)


def _fill_templates(data: dict[str, Any]) -> dict[str, Any]:
    for cam, own in data["cameras"].items():
        if not isinstance(own, dict) or not isinstance(cam, str):
            continue
        for key in CAMERA_FILES:
            if isinstance(own.get(key), str):
                own[key] = own[key].replace("{camera}", cam)
        video = own.get("video")
        if isinstance(video, dict) and isinstance(video.get("output"), str):
            own["video"] = {**video, "output": video["output"].replace("{camera}", cam)}
    return data


def merge_tree(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top` over `base`, mappings merged key by key (lists and values replaced whole)."""
    out = dict(base)
    for k, v in top.items():
        out[k] = merge_tree(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _format_error(err: ValidationError, origin: str, single: bool) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"]]
    if single and loc[:1] == ["cameras"]:
        loc = loc[2:] or ["camera"]  # a one-camera config never wrote `cameras.<id>.`; its id is `camera`
    key = ".".join(loc) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{origin}: {key}: {msg}"


def validate(data: dict[str, Any], origin: str = "config") -> Config:
    """Either form of config (see normalise) into one validated tree; errors name the key."""
    try:
        return Config.model_validate(normalise(data))
    except ValidationError as err:
        raise EdgewatchError(_format_error(err, origin, "cameras" not in data)) from None


def _repeated_key(node: yaml.Node, path: str = "") -> str | None:
    """PyYAML keeps the last of two equal keys without a word; two cameras with one id must be an error.
    Returns a message naming the first repeated key by its path, or None."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                what = "camera id" if path == "cameras" else "key"
                return f"{path + '.' if path else ''}{key}: {what} repeated (lines {seen[key]} and {line})"
            if key is not None:
                seen[key] = line
            found = _repeated_key(value_node, f"{path + '.' if path else ''}{key}")
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _repeated_key(item, f"{path}.{i}")
            if found:
                return found
    return None


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise EdgewatchError(f"config file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8")
        repeated = _repeated_key(yaml.compose(text, Loader=yaml.SafeLoader))
        if repeated:
            raise EdgewatchError(f"config file {p}: {repeated}")
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise EdgewatchError(f"config file {p} is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise EdgewatchError(f"config file {p} is not UTF-8 text") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EdgewatchError(f"config file {p}: top level must be a mapping of keys")
    return data


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `overrides` (dotted keys allowed, None values skipped) into a copy of `base`."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for dotted, value in overrides.items():
        if value is None:
            continue
        node = out
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None else child
                if not isinstance(child, dict):
                    raise EdgewatchError(f"config: {part}: expected a mapping")
            node[part] = dict(child)
            node = node[part]
        node[parts[-1]] = value
    return out


ENV_KEYS = {
    "EDGEWATCH_CAMERA": "camera",
    "EDGEWATCH_INPUT": "source.input",
    "EDGEWATCH_MODEL": "model.name",
    "EDGEWATCH_DEVICE": "model.device",
    "EDGEWATCH_MQTT_HOST": "mqtt.host",
    "EDGEWATCH_MQTT_PORT": "mqtt.port",
    "EDGEWATCH_MQTT_USERNAME": "mqtt.username",
    "EDGEWATCH_MQTT_PASSWORD": "mqtt.password",
    "EDGEWATCH_VIDEO_OUTPUT": "video.output",
    "EDGEWATCH_VIDEO_POLICY": "video.policy",
    "EDGEWATCH_STATE_FILE": "state_file",
}


def from_environment(env: dict[str, str]) -> dict[str, Any]:
    """Dotted overrides from EDGEWATCH_* variables; *_FILE variants read Docker secrets."""
    out: dict[str, Any] = {}
    for var, key in ENV_KEYS.items():
        if env.get(var):
            out[key] = env[var]
        elif env.get(var + "_FILE"):
            try:
                out[key] = Path(env[var + "_FILE"]).read_text(encoding="utf-8").strip()
            except OSError as err:
                raise EdgewatchError(f"{var}_FILE: cannot read {env[var + '_FILE']}: {err.strerror}") from None
    return out


def camera_key(cfg: Config, camera: str) -> str:
    """How errors name a camera's keys: `cameras.<id>.` when the config has several, nothing for one."""
    return "" if cfg.single else f"cameras.{camera}."


def check_against_source(cfg: Config, camera: str, width: int, height: int, fps: float) -> None:
    """What can only be checked once the camera is open: lines and zones inside its frame (a typo
    otherwise counts nothing, silently), and a detection rate it can deliver."""
    cam, where = cfg.cameras[camera], camera_key(cfg, camera)
    outside = geometry_in_frame(cam.lines, cam.zones, width, height, "the" if cfg.single else f"camera {camera}’s")
    if outside is not None:
        raise EdgewatchError(f"config: {where}{outside}")
    if cam.detect.fps is not None and cam.detect.fps > fps + 1e-6:
        raise EdgewatchError(f"config: {where}detect.fps: {cam.detect.fps:g} is above camera {camera}'s own rate ({fps:g} fps)")
