"""The one rule for camera ids. A camera id names MQTT topics, relay paths, state files and UI routes,
so it is restricted to what is safe in all of them. The relay, UI and broker check the same pattern
(tests/unit/test_camera_id_rule.py keeps their copies equal to this one)."""

from __future__ import annotations

import re

CAMERA_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CAMERA_ID = re.compile(CAMERA_ID_PATTERN)
CAMERA_ID_RULE = "1 to 64 letters, digits, _ or -"


def is_camera_id(value: object) -> bool:
    # fullmatch: `$` alone would let a trailing newline through
    return isinstance(value, str) and CAMERA_ID.fullmatch(value) is not None
