"""Persist the day's totals so a restarted worker carries on counting instead of starting at zero."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _today() -> str:
    return dt.date.today().isoformat()


def load(path: str | None, camera: str) -> dict[str, Any] | None:
    """The saved snapshot if it is today's and this camera's; None otherwise (a bad file is reported, not fatal)."""
    if not path or not Path(path).is_file():
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        # Set aside, not overwritten by the next save: whoever looks into it may still recover the counts.
        aside = Path(f"{path}.unreadable")
        try:
            os.replace(path, aside)
        except OSError:
            aside = Path(path)
        log.warning("ignoring unreadable state file %s (kept as %s): %s", path, aside, err)
        return None
    if not isinstance(data, dict) or data.get("camera") != camera or data.get("date") != _today():
        return None
    snap = data.get("analytics")
    return snap if isinstance(snap, dict) else None


def save(path: str | None, camera: str, snapshot: dict[str, Any]) -> None:
    if not path:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a kill mid-write must not leave a torn file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"camera": camera, "date": _today(), "analytics": snapshot}, fh)
        os.replace(tmp, target)
    except OSError as err:
        log.warning("cannot save state file %s: %s", path, err)
