"""Decide what kind of input the user named, and reject what cannot work, before any work starts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..errors import EdgewatchError

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
STREAM_SCHEMES = {"rtsp", "rtsps", "rtmp", "http", "https", "srt", "udp", "tcp"}


@dataclass(frozen=True)
class InputSpec:
    kind: str  # image | folder | video | camera | stream
    uri: str
    camera_index: int | None = None
    files: tuple[Path, ...] = ()

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")


def _redact(uri: str) -> str:
    """Never print a camera password: rtsp://user:pw@host -> rtsp://user:***@host."""
    return re.sub(r"(//[^/:@]+):[^/@]*@", r"\1:***@", uri)


def locate(raw: str | None) -> InputSpec:
    if raw is None or not str(raw).strip():
        raise EdgewatchError("no input given: use -i FILE|FOLDER|URL|CAM")
    raw = str(raw).strip()
    if raw.upper() == "CAM" or raw.isdigit():
        return InputSpec("camera", raw, camera_index=0 if raw.upper() == "CAM" else int(raw))
    if raw.startswith("/dev/video"):
        return InputSpec("camera", raw)
    if "://" in raw:
        scheme = urlparse(raw).scheme.lower()
        if scheme == "file":
            return locate(urlparse(raw).path)
        if scheme not in STREAM_SCHEMES:
            raise EdgewatchError(
                f"unsupported input URL scheme {scheme!r} in {_redact(raw)}: use one of {', '.join(sorted(STREAM_SCHEMES))}"
            )
        return InputSpec("stream", raw)
    path = Path(raw).expanduser()
    if not path.exists():
        raise EdgewatchError(f"input not found: {path}")
    if path.is_dir():
        files = tuple(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file()))
        if not files:
            raise EdgewatchError(f"input folder has no images ({', '.join(sorted(IMAGE_EXTS))}): {path}")
        return InputSpec("folder", str(path), files=files)
    if not os.access(path, os.R_OK):
        raise EdgewatchError(f"input not readable (permission denied): {path}")
    if path.stat().st_size == 0:
        raise EdgewatchError(f"input is an empty file (0 bytes): {path}")
    if path.suffix.lower() in IMAGE_EXTS:
        return InputSpec("image", str(path), files=(path,))
    return InputSpec("video", str(path))


redact = _redact
