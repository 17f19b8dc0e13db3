"""Render the documentation of every config key from the validated model itself (docs/config.md)."""

from __future__ import annotations

import json
import typing

from pydantic import BaseModel

from .config import Config


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
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for key, typ, default, desc in _rows(Config):
        out.append(f"| `{key}` | {typ.replace('|', 'or')} | `{default}` | {desc.replace('|', '/')} |")
    out += ["", "Example:", "", "```yaml", EXAMPLE.strip(), "```", ""]
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

if __name__ == "__main__":
    print(render())
