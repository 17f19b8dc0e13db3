"""Persist the day's totals so a restarted worker carries on counting instead of starting at zero.

The file names the day its totals belong to: a worker that starts on a later day reports that day
as ended (it was down at midnight) instead of carrying its totals into the new day.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def today() -> str:
    """The local calendar day (the container's TZ), as the file and the day_end event name it."""
    return dt.date.today().isoformat()


@dataclass(frozen=True)
class SavedDay:
    date: str  # YYYY-MM-DD: the day these totals belong to
    analytics: dict[str, Any]  # Analytics.snapshot()
    saved_at: float  # when they were last written (Unix time)


def load(path: str | None, camera: str) -> SavedDay | None:
    """This camera's saved day, whatever its date; None if there is none (a bad file is reported, not fatal)."""
    if not path or not Path(path).is_file():
        return None
    try:
        saved_at = Path(path).stat().st_mtime
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        # Set aside, not overwritten by the next save: whoever looks into it may still recover the counts.
        log.warning("ignoring unreadable state file %s (kept as %s): %s", path, set_aside(path), err)
        return None
    if not isinstance(data, dict) or data.get("camera") != camera:
        return None
    snap, date = data.get("analytics"), data.get("date")
    if not isinstance(snap, dict) or not isinstance(date, str):
        return None
    return SavedDay(date, snap, saved_at)


def set_aside(path: str) -> str:
    """Moves a file that cannot be used out of the next save's way; whoever looks into it may still
    recover the counts. Returns where it is now."""
    aside = f"{path}.unreadable"
    try:
        os.replace(path, aside)
    except OSError:
        return path
    return aside


def save(path: str | None, camera: str, snapshot: dict[str, Any], date: str) -> None:
    if not path:
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a kill mid-write must not leave a torn file.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"camera": camera, "date": date, "analytics": snapshot}, fh)
        os.replace(tmp, target)
    except OSError as err:
        log.warning("cannot save state file %s: %s", path, err)
