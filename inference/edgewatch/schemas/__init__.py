"""JSON Schemas (draft 2020-12) of every MQTT payload; docs/mqtt.md is the prose contract."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..errors import EdgewatchError

# One schema per topic leaf under edgewatch/<camera>/ ("events" publishes one event per message).
NAMES = ("status", "state", "event", "perf", "segmentation", "geometry")


def load_schema(name: str) -> dict[str, Any]:
    """The schema for `name` (one of NAMES, with or without the .schema.json suffix)."""
    stem = name.removesuffix(".schema.json")
    if stem not in NAMES:
        raise EdgewatchError(f"unknown payload schema {name!r}; known: {', '.join(NAMES)}")
    text = resources.files(__package__).joinpath(f"{stem}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)
