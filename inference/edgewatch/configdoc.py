"""Render the documentation of every config key from the validated model itself (docs/config.md)."""

from __future__ import annotations

import json
import typing

from pydantic import BaseModel

from .config import DEFAULT_KEYS, DEFAULT_MAX_CAMERAS, Config
from .ids import CAMERA_ID_PATTERN, CAMERA_ID_RULE


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("NoneType", "null")
    return text.replace("<class '", "").replace("'>", "").replace("edgewatch.config.", "")


def _rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        inner = [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]
        sub = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else (inner[0] if inner else None)
        list_of = typing.get_args(ann)[0] if typing.get_origin(ann) is list else None
        if list_of is not None and isinstance(list_of, type) and issubclass(list_of, BaseModel):
            rows.append((key, "list", "[]", field.description or ""))
            rows += _rows(list_of, f"{key}[].")
            continue
        dict_of = typing.get_args(ann)[1] if typing.get_origin(ann) is dict else None
        if dict_of is not None and isinstance(dict_of, type) and issubclass(dict_of, BaseModel):
            rows.append((key, "mapping", "{}", field.description or ""))
            rows += _rows(dict_of, f"{key}.<id>.")
            continue
        if field.is_required():
            default = "required"
        else:
            default = field.get_default(call_default_factory=True)
            default = "(section)" if isinstance(default, BaseModel) else json.dumps(default)
        desc = field.description or ((sub.__doc__ or "").strip() if sub is not None else "")
        rows.append((key, _type_name(ann), default, desc))
        if sub is not None:
            rows += _rows(sub, f"{key}.")
    return rows


def render() -> str:
    out = [
        "# Configuration",
        "",
        "`edgewatch --config FILE` reads YAML; every key is optional and the defaults work. Precedence: defaults <",
        "config file < `EDGEWATCH_*` environment variables < command-line flags. Unknown keys and bad values are",
        "errors that name the key. This page is generated from the validated model (`python -m edgewatch.configdoc`).",
        "",
        "## Two forms",
        "",
        "**Several cameras** (a site): `cameras:` maps each camera id to that camera's settings. The id is the",
        f"key, so it is unique by construction; it must be {CAMERA_ID_RULE} (`{CAMERA_ID_PATTERN}`), the one rule",
        "that the worker, the relay, the UI and the broker share, because it names MQTT topics and paths. A key",
        "repeated in the file is an error (YAML would silently keep the last one). `model` and `mqtt` are shared by",
        f"every camera; `{'`, `'.join(DEFAULT_KEYS)}` at the top level are every camera's defaults, which",
        "a camera's own keys override key by key. `{camera}` in `video.output`, `state_file`, `mqtt.outbox` and",
        "`mqtt.client_id` is replaced by each camera's id. All cameras run in one process on one compiled model.",
        "",
        "**One camera** (today's form, and the command line's): `camera:` (the id, default `cam1`) and the camera's",
        "keys (`source`, `lines`, ...) at the top level; `-i`, `--camera` and `EDGEWATCH_INPUT` / `EDGEWATCH_CAMERA`",
        "set them, and are refused beside a `cameras:` mapping. Errors name the keys without `cameras.<id>.`.",
        "",
        f"A worker takes at most `max_cameras` cameras (default {DEFAULT_MAX_CAMERAS}). With several cameras, one",
        "whose input cannot be opened at start waits and is retried with back-off while the others run",
        "(`--strict`: an error); with one camera it is an error at once.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, typ, default, desc in _rows(Config):
        out.append(f"| `{key}` | {typ.replace('|', 'or')} | `{default}` | {desc.replace('|', '/')} |")
    out += ["", "Example, one camera:", "", "```yaml", EXAMPLE.strip(), "```", "",
            "Example, a site:", "", "```yaml", SITE_EXAMPLE.strip(), "```", ""]
    return "\n".join(out)


EXAMPLE = """
camera: front-door
source:
  input: rtsp://user:password@192.168.1.20/stream1
model:
  name: person-detection-retail-0013
  precision: FP16-INT8
  threshold: 0.5
tracker:
  max_lost_s: 3
lines:
  - name: door
    points: [[640, 0], [640, 432]]
zones:
  - name: counter
    polygon: [[330, 200], [560, 200], [560, 432], [330, 432]]
alerts:
  max_people: 5
  max_dwell_s: 300
mqtt:
  host: broker
  username: worker
video:
  output: srt://stream:9000?streamid=front-door
  policy: on-event
"""

SITE_EXAMPLE = """
model:
  name: person-detection-retail-0013
mqtt:
  host: broker
  username: worker
# Every camera's defaults:
source:
  reconnect: {max_s: 10}
video:
  output: http://stream:8888/ingest/{camera}
state_file: /state/{camera}.json
cameras:
  door:
    source: {input: "rtsp://user:password@192.168.1.21/stream1"}
    lines:
      - name: door
        points: [[640, 0], [640, 720]]
  till:
    source: {input: "rtsp://user:password@192.168.1.22/stream1"}
    detect: {fps: 5, motion: true}
    zones:
      - name: queue
        polygon: [[100, 300], [500, 300], [500, 700], [100, 700]]
    alerts: {max_people: 4}
"""

if __name__ == "__main__":
    print(render())
