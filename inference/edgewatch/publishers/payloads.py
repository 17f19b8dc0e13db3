"""Pure builders of the MQTT payloads in docs/mqtt.md: analytics records -> JSON-ready dicts.

No I/O and no clock unless given one, so the UI side and the tests can build the same payloads.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..types import Event, FrameFacts

TOPIC_KINDS = ("status", "state", "events", "perf", "segmentation", "geometry")


CONFIG_GEOMETRY = "config/geometry"  # the one topic a worker reads: lines and zones saved in the UI


def topic(prefix: str, camera: str, kind: str) -> str:
    """`edgewatch/<camera>/<kind>`; kind is one of TOPIC_KINDS."""
    if kind not in TOPIC_KINDS and kind != CONFIG_GEOMETRY:
        raise ValueError(f"unknown topic kind {kind!r}")
    return f"{prefix}/{camera}/{kind}"


def redact_source(source: str) -> str:
    """Drop user:password from a camera URL: the status topic is readable by every subscriber."""
    parts = urlsplit(source)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=host))
    return source


def status_payload(camera: str, source: str, online: bool, *, reason: str | None = None,
                   input_state: tuple[str, str] | None = None, now: float | None = None) -> dict[str, Any]:
    """`reason` is for offline only: "closed" (clean end) or "lost" (the last will); `input_state`
    (state, detail) for online only: is the camera's input delivering ("ok", "lost", "waiting")."""
    out: dict[str, Any] = {
        "state": "online" if online else "offline",
        "ts": round(time.time() if now is None else now, 3),
        "camera": camera,
        "source": redact_source(source),
    }
    if not online:
        out["reason"] = reason or "closed"
    elif input_state is not None:
        out["input"] = {"state": input_state[0], "detail": input_state[1][:300]}
    return out


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd)


def state_payload(camera: str, facts: FrameFacts, *, now: float | None = None) -> dict[str, Any]:
    frame = facts.frame
    return {
        "camera": camera,
        "ts": round(time.time() if now is None else now, 3),
        "video_s": _r(frame.video_s),
        "frame": int(frame.index),
        "in_frame": int(facts.in_frame),
        "total": int(facts.total),
        "avg_duration_s": _r(facts.avg_duration_s),
        "tracks": [
            {
                "id": int(t.id),
                "box": [_r(v, 1) for v in t.box],
                "enter_s": _r(t.enter_s),
                "duration_s": _r(t.duration_s),
            }
            for t in facts.tracks
        ],
        "lines": {ln.name: {"in": int(ln.in_count), "out": int(ln.out_count)} for ln in facts.lines},
        "zones": {
            z.name: {"occupancy": int(z.occupancy), "entered": int(z.entered), "max_dwell_s": _r(z.max_dwell_s)}
            for z in facts.zones
        },
    }


def event_payload(camera: str, event: Event) -> dict[str, Any]:
    """The event without `seq`: the outbox adds it when it stores the event."""
    body = event.to_json(camera)
    return {"id": body.pop("id"), **body}


def perf_payload(camera: str, perf: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """`perf` holds the figures named in docs/mqtt.md (fps, infer_ms_p50, ..., frames).

    Non-finite numbers (a percentile of nothing yet) become null rather than invalid JSON."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in perf.items()}
    return {"camera": camera, "ts": round(time.time() if now is None else now, 3), **clean}


def geometry_payload(camera: str, frame_size: tuple[int, int], geometry: dict[str, Any],
                     saved: dict[str, Any] | None, *, now: float | None = None) -> dict[str, Any]:
    """The lines and zones the camera counts on now, its frame size (the editor's coordinates), and
    whether they are the YAML's or the UI's (`saved`: config_id, by)."""
    return {"camera": camera, "ts": round(time.time() if now is None else now, 3),
            "frame": {"width": int(frame_size[0]), "height": int(frame_size[1])},
            "origin": "ui" if saved else "config", **{k: v for k, v in (saved or {}).items() if k in ("config_id", "by")},
            **geometry}


def segmentation_payload(camera: str, facts: FrameFacts, *, now: float | None = None) -> dict[str, Any] | None:
    """None when the model is not a segmentation model."""
    seg = facts.output.segmentation
    if seg is None:
        return None
    return {
        "camera": camera,
        "ts": round(time.time() if now is None else now, 3),
        "video_s": _r(facts.frame.video_s),
        "frame": int(facts.frame.index),
        "classes": {name: round(float(share), 4) for name, share in seg.shares.items()},
    }


def _jsonable(value: Any) -> Any:
    # numpy scalars and arrays sneak into event data from analytics; JSON has no such types.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_jsonable).encode("utf-8")
