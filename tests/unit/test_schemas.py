"""The committed JSON Schemas: valid draft 2020-12, in step with docs/mqtt.md, and strict enough to fail."""

from __future__ import annotations

import re
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from edgewatch.errors import EdgewatchError
from edgewatch.publishers import payloads
from edgewatch.schemas import NAMES, load_schema
from edgewatch.types import Event, Frame, FrameFacts, LineCount, ModelOutput, Track, ZoneState

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text(encoding="utf-8")


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name))


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_draft_2020_12(name):
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_docs_name_every_schema_and_every_event_type():
    assert set(re.findall(r"`(\w+)\.schema\.json`", DOC)) == set(NAMES)
    documented: set[str] = set()
    for row in re.findall(r"^\| (`[a-z_]+`(?: / `[a-z_]+`)*) \|", DOC, flags=re.M):
        documented |= set(re.findall(r"`([a-z_]+)`", row))
    documented -= {"status", "state", "events", "perf", "segmentation", "type"}
    assert documented == set(load_schema("event")["properties"]["type"]["enum"])


def test_unknown_schema_name():
    with pytest.raises(EdgewatchError, match="unknown payload schema 'nope'"):
        load_schema("nope")
    assert load_schema("state.schema.json")["title"].endswith("/state")


def _facts() -> FrameFacts:
    frame = Frame(7, 0.7, time.time(), np.zeros((8, 8, 3), np.uint8))
    return FrameFacts(ModelOutput(frame, 5.0, detections=[]), [Track(3, (0, 0, 4, 4), 0.8, 0.1, 0.7)], 1, 2, 0.0,
                      [LineCount("door")], [ZoneState("z")], [])


def test_builders_make_valid_payloads():
    validator("state").validate(payloads.state_payload("cam1", _facts()))
    validator("status").validate(payloads.status_payload("cam1", "x.mp4", online=True))
    validator("status").validate(payloads.status_payload("cam1", "x.mp4", online=False, reason="lost"))
    validator("perf").validate(payloads.perf_payload("cam1", {"fps": float("inf"), "frames": 0}))
    assert payloads.segmentation_payload("cam1", _facts()) is None
    ev = payloads.event_payload("cam1", Event("person_enter", 1.0, {"track_id": 3, "side": "right"}))
    validator("event").validate({**ev, "seq": 1})


GOOD_EVENT = {"id": "a1", "seq": 1, "camera": "cam1", "type": "line_cross", "ts": 1.0, "video_s": 2.0,
              "track_id": 4, "line": "door", "direction": "in"}


@pytest.mark.parametrize(
    "schema,payload",
    [
        ("event", {k: v for k, v in GOOD_EVENT.items() if k != "id"}),  # no id: consumers cannot de-duplicate
        ("event", {k: v for k, v in GOOD_EVENT.items() if k != "seq"}),
        ("event", {**GOOD_EVENT, "direction": "sideways"}),
        ("event", {k: v for k, v in GOOD_EVENT.items() if k != "line"}),
        ("event", {**GOOD_EVENT, "type": "person_teleport"}),
        ("event", {**GOOD_EVENT, "trackid": 4}),  # typo of a field name
        ("event", {**GOOD_EVENT, "type": "alert", "rule": "max_dwell", "value": 40, "limit": 30}),  # dwell alert needs track_id
        ("event", {**GOOD_EVENT, "camera": "cam/1"}),
        ("status", {"state": "offline", "ts": 1.0, "camera": "c", "source": "s"}),  # offline says why
        ("status", {"state": "online", "ts": 1.0, "camera": "c", "source": "s", "reason": "lost"}),
        ("state", {**payloads.state_payload("c", _facts()), "in_frame": -1}),
        ("state", {**payloads.state_payload("c", _facts()), "lines": {"door": {"in": 1}}}),
        ("perf", {"camera": "c", "ts": 1.0, "fps": 1.0}),
        ("segmentation", {"camera": "c", "ts": 1.0, "video_s": 0.0, "classes": {"road": 1.5}}),
    ],
)
def test_schemas_reject_broken_payloads(schema, payload):
    with pytest.raises(jsonschema.ValidationError):
        validator(schema).validate(payload)


def test_good_event_passes():
    validator("event").validate(GOOD_EVENT)
