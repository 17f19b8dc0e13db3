"""The demo's media: which videos, where they are published, their checksums (media_catalog.json), and
fetching them into the media folder ($EDGEWATCH_MEDIA, default ./media) the way models are fetched."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .download import fetch_verified, sha256_of
from .errors import EdgewatchError


def load_catalog() -> dict:
    return json.loads(resources.files(__package__).joinpath("media_catalog.json").read_text(encoding="utf-8"))


def media_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("EDGEWATCH_MEDIA", "./media")).expanduser()


@dataclass(frozen=True)
class MediaFile:
    name: str
    url: str
    sha256: str
    size: int
    about: str


def entries(base_url: str | None = None) -> dict[str, MediaFile]:
    cat = load_catalog()
    base = (base_url or os.environ.get("EDGEWATCH_MEDIA_BASE_URL") or cat["base_url"]).rstrip("/")
    return {name: MediaFile(name, f"{base}/{name}", e["sha256"], int(e["size"]), e.get("about", ""))
            for name, e in cat["files"].items()}


def fetch(names: list[str] | None = None, root: Path | None = None, base_url: str | None = None,
          timeout_s: float = 60.0) -> list[Path]:
    """Fetch catalogued media (all when `names` is empty) into `root`; files already there and right are kept."""
    known = entries(base_url)
    for n in names or []:
        if n not in known:
            raise EdgewatchError(f"unknown media {n!r}: known media are {', '.join(sorted(known))}")
    root = media_dir() if root is None else root
    out = []
    for name in names or sorted(known):
        f = known[name]
        fetch_verified(f.url, root / name, f.sha256, timeout_s)
        out.append(root / name)
    return out


def status(root: Path | None = None) -> list[tuple[MediaFile, str]]:
    """Each catalogued file and its state in `root`: ok, missing, or wrong checksum."""
    root = media_dir() if root is None else root
    out = []
    for f in entries().values():
        p = root / f.name
        state = "missing" if not p.is_file() else ("ok" if sha256_of(p) == f.sha256 else "wrong checksum")
        out.append((f, state))
    return out
