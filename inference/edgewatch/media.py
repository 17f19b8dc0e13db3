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


def find_copy(folder: Path, f: MediaFile) -> Path:
    """The file under `folder` with `f`'s bytes, whatever its name: another box's media folder, a USB stick
    (the tests' copy of the course video is called Pedestrian_Detect_2_1_1.mp4)."""
    if not folder.is_dir():
        raise EdgewatchError(f"media source {folder} is not a folder")
    same_size = sorted((p for p in folder.rglob("*") if p.is_file() and p.stat().st_size == f.size),
                       key=lambda p: p.name != f.name)  # its own name first: one checksum in the usual case
    for p in same_size:
        if sha256_of(p) == f.sha256:
            return p
    raise EdgewatchError(f"{f.name} is not in {folder}: no file there has its {f.size} bytes and "
                         f"sha256 {f.sha256[:12]}…")


def fetch(names: list[str] | None = None, root: Path | None = None, base_url: str | None = None,
          timeout_s: float = 60.0, from_dir: Path | None = None) -> list[Path]:
    """Fetch catalogued media (all when `names` is empty) into `root`, from `from_dir` when given, else from the
    published location (or the `base_url` mirror); files already there and right are kept."""
    known = entries(base_url)
    for n in names or []:
        if n not in known:
            raise EdgewatchError(f"unknown media {n!r}: known media are {', '.join(sorted(known))}")
    root = media_dir() if root is None else root
    out = []
    for name in names or sorted(known):
        f = known[name]
        if not _is_right(root / name, f):  # there and right: kept (and the copy source need not have it)
            # From a folder: copied the same verified, atomic way as a download.
            url = find_copy(from_dir, f).resolve().as_uri() if from_dir is not None else f.url
            fetch_verified(url, root / name, f.sha256, timeout_s)
        out.append(root / name)
    return out


def _is_right(path: Path, f: MediaFile) -> bool:
    return path.is_file() and sha256_of(path) == f.sha256


def status(root: Path | None = None) -> list[tuple[MediaFile, str]]:
    """Each catalogued file and its state in `root`: ok, missing, or wrong checksum."""
    root = media_dir() if root is None else root
    out = []
    for f in entries().values():
        p = root / f.name
        state = "missing" if not p.is_file() else ("ok" if _is_right(p, f) else "wrong checksum")
        out.append((f, state))
    return out
