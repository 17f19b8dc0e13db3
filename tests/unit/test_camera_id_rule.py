"""One rule for camera ids (inference/edgewatch/ids.py). The relay, the UI and the broker run in their own
containers, built from their own folders, so each holds a copy; this test keeps every copy equal to it
and checks that they all accept and refuse the same ids."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from edgewatch.ids import CAMERA_ID_PATTERN, is_camera_id

REPO = Path(__file__).resolve().parents[2]
COPIES = {
    "ui/src/validate.js": r"CAMERA_RE = /(.+?)/;",
    "stream/relay/server.py": r'CAMERA = re\.compile\(r"(.+?)"\)',
    "stream/relay/rtsp_server.py": r'CAMERA = re\.compile\(r"(.+?)"\)',
    "broker/worker_acl.py": r'CAMERA_ID = re\.compile\(r"(.+?)"\)',
}
SAMPLES = ["cam1", "front-door", "till_2", "A" * 64, "A" * 65, "", "a/b", "a+b", "#", "a b", "../cam", "door\n", "Ü"]


@pytest.mark.parametrize("path", COPIES)
def test_every_copy_of_the_rule_is_the_workers(path):
    found = re.findall(COPIES[path], (REPO / path).read_text(encoding="utf-8"))
    assert found == [CAMERA_ID_PATTERN], f"{path}: {found} (the rule is {CAMERA_ID_PATTERN}, edgewatch/ids.py)"


def test_every_payload_schema_uses_the_rule():
    for schema in sorted((REPO / "inference/edgewatch/schemas").glob("*.schema.json")):
        camera = json.loads(schema.read_text())["properties"]["camera"]
        assert camera["pattern"] == CAMERA_ID_PATTERN, schema.name


def test_the_ui_accepts_and_refuses_the_same_ids():
    script = ("const { CAMERA_RE } = require('./ui/src/validate');"
              f"console.log(JSON.stringify({json.dumps(SAMPLES)}.map((s) => CAMERA_RE.test(s))))")
    out = subprocess.run(["node", "-e", script], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [is_camera_id(s) for s in SAMPLES]
    assert [is_camera_id(s) for s in SAMPLES] == [True, True, True, True] + [False] * 9
