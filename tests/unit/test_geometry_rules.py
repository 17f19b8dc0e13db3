"""One set of rules for lines and zones: the worker's YAML models (config.Geometry, geometry_in_frame) and
the JSON Schema the UI validates with (geometry.schema.json) accept and refuse the same cases, naming the
same key (tests/fixtures/geometry_cases.json; the UI's tests run the same file)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from edgewatch.config import Geometry, geometry_in_frame
from edgewatch.schemas import load_schema

REPO = Path(__file__).resolve().parents[2]
CASES = json.loads((REPO / "tests/fixtures/geometry_cases.json").read_text())
SCHEMA = load_schema("geometry")
EDITOR = jsonschema.Draft202012Validator({**SCHEMA, "$ref": "#/$defs/geometry", "properties": {}, "required": [],
                                          "additionalProperties": True})


def worker_key(geometry: dict) -> str | None:
    try:
        g = Geometry.model_validate(geometry)
    except ValidationError as err:
        loc = [str(p) for p in err.errors()[0]["loc"]]
        msg = err.errors()[0]["msg"]
        if not loc and "duplicate name" in msg:  # the model's own rule names the list
            loc = [msg.split(":")[0].removeprefix("Value error, ")]
        return ".".join(loc)
    outside = geometry_in_frame(g.lines, g.zones, *CASES["frame"])
    return outside.split(":")[0] if outside else None


def schema_key(geometry: dict) -> str | None:
    errors = sorted(EDITOR.iter_errors(geometry), key=lambda e: len(list(e.absolute_path)), reverse=True)
    if not errors:
        return None
    e = errors[0]
    path = [str(p) for p in e.absolute_path]
    if e.validator == "additionalProperties":  # the unknown key itself
        path.append(e.message.split("'")[1])
    if e.validator == "required":
        path.append(e.message.split("'")[1])
    return ".".join(path)


@pytest.mark.parametrize("case", CASES["cases"], ids=[c["case"] for c in CASES["cases"]])
def test_worker_and_schema_agree(case):
    assert worker_key(case["geometry"]) == case["key"]
    if "rule" not in case:  # what a schema can say, it says the same
        assert schema_key(case["geometry"]) == case["key"]
    else:  # a cross-item rule: the schema lets the shape through; the UI checks the rule itself
        assert schema_key(case["geometry"]) is None
