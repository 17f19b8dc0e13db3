"""Lines and zones saved in the UI's editor, applied to a running camera.

The UI publishes a camera's geometry, retained, on `edgewatch/<camera>/config/geometry` (only the UI's
broker user may; docs/mqtt.md). The camera's MQTT thread drops the newest message here; the camera's
loop takes it between frames, checks it again with the YAML's own rules (config.Geometry, the frame's
bounds) and applies it, or refuses it with a `config_rejected` event and keeps what it had.
Which wins: the YAML's lines and zones are a camera's first start's; once the UI saved some, those (kept
retained by the broker and in the camera's state file) win over the YAML's.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pydantic import ValidationError

from ..analytics import Analytics
from ..config import Geometry
from ..errors import EdgewatchError
from ..types import Event

MAX_BYTES = 256 * 1024  # the UI refuses far less; anything bigger is not an editor's


class GeometryInbox:
    """The newest config/geometry message of one camera, from the MQTT thread to the camera's loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: bytes | None = None

    def put(self, payload: bytes) -> None:
        with self._lock:
            self._latest = payload

    def take(self) -> bytes | None:
        with self._lock:
            payload, self._latest = self._latest, None
            return payload


def apply(payload: bytes, camera: str, analytics: Analytics, video_s: float) -> list[Event]:
    """The events of applying one message: config_change, or config_rejected naming the cause. A message
    already applied (the broker hands the retained one over again at every connect) changes nothing."""
    if not payload:
        return []  # the retained message was cleared: keep what runs
    origin: dict[str, Any] = {}
    try:
        if len(payload) > MAX_BYTES:
            raise EdgewatchError(f"message of {len(payload)} bytes, more than {MAX_BYTES}")
        try:
            msg = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise EdgewatchError("not JSON") from None
        if not isinstance(msg, dict):
            raise EdgewatchError("not a JSON object")
        origin = {"config_id": str(msg.get("id", ""))[:128], "by": str(msg.get("by", ""))[:128]}
        if msg.get("camera") != camera:
            raise EdgewatchError(f"it is camera {msg.get('camera')!r}'s geometry, not {camera!r}'s")
        current = analytics.geometry or {}
        if origin["config_id"] and current.get("config_id") == origin["config_id"]:
            return []
        geometry = _validate({"lines": msg.get("lines", []), "zones": msg.get("zones", [])})
        return analytics.set_geometry(geometry, video_s, origin)
    except EdgewatchError as err:
        return [Event("config_rejected", video_s, {**origin, "reason": str(err)[:500]})]


def _validate(data: dict[str, Any]) -> Geometry:
    try:
        return Geometry.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        raise EdgewatchError(f"{key}: {msg}") from None
