"""Find a model on disk by name or path, and fetch Open Model Zoo models with checksum verification."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..download import fetch_verified
from ..errors import EdgewatchError

MODEL_SUFFIXES = (".xml", ".onnx")


@dataclass(frozen=True)
class ModelFiles:
    name: str
    precision: str | None
    path: Path  # .xml or .onnx


def models_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("EDGEWATCH_MODELS", "./models")).expanduser()


def _check_ir_pair(xml: Path) -> None:
    if xml.suffix.lower() == ".xml" and not xml.with_suffix(".bin").is_file():
        raise EdgewatchError(f"model weights missing: {xml.with_suffix('.bin')} (an IR .xml needs its .bin beside it)")


def resolve(name_or_path: str, precision: str = "FP16", root: Path | None = None) -> ModelFiles:
    """A path to .xml/.onnx is used as is; a bare name is looked up as <root>/[intel/]<name>/<precision>/<name>.xml."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix.lower() in MODEL_SUFFIXES or candidate.suffix.lower() == ".bin" or os.sep in name_or_path:
        if candidate.suffix.lower() == ".bin":
            raise EdgewatchError(f"give the model's .xml, not its .bin: {candidate}")
        if not candidate.is_file():
            raise EdgewatchError(f"model not found: {candidate}")
        if candidate.suffix.lower() not in MODEL_SUFFIXES:
            raise EdgewatchError(f"unsupported model format {candidate.suffix!r}: use an OpenVINO IR .xml or an .onnx")
        _check_ir_pair(candidate)
        # OMZ layout <name>/<precision>/<name>.xml: keep the precision for reports.
        parent = candidate.resolve().parent.name
        return ModelFiles(candidate.stem, parent if parent.upper().startswith(("FP", "INT")) else None, candidate)
    root = models_dir() if root is None else root
    tried = []
    for base in (root / name_or_path, root / "intel" / name_or_path, root / "public" / name_or_path):
        for suffix in MODEL_SUFFIXES:
            path = base / precision / f"{name_or_path}{suffix}"
            tried.append(path)
            if path.is_file():
                _check_ir_pair(path)
                return ModelFiles(name_or_path, precision, path)
    hint = ""
    if name_or_path in load_catalog()["models"]:
        hint = f"; run: edgewatch models fetch {name_or_path} --precision {precision}"
    raise EdgewatchError(f"model {name_or_path!r} ({precision}) not found in {root}{hint}")


def load_catalog() -> dict:
    return json.loads(resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8"))


def fetch(name: str, precision: str = "FP16", root: Path | None = None, base_url: str | None = None,
          timeout_s: float = 60.0) -> ModelFiles:
    """Download a catalogued model into <root>/<name>/<precision>/, verifying every file's SHA-256.

    Files already present with the right checksum are kept; a file is only moved into place once verified,
    so an interrupted download never leaves a half model behind.
    """
    catalog = load_catalog()
    entry = catalog["models"].get(name)
    if entry is None:
        raise EdgewatchError(f"unknown model {name!r}: known models are {', '.join(sorted(catalog['models']))}")
    files = entry.get(precision)
    if files is None:
        raise EdgewatchError(f"model {name} has no precision {precision!r}: choose {', '.join(sorted(entry))}")
    root = models_dir() if root is None else root
    base_url = (base_url or os.environ.get("EDGEWATCH_MODEL_BASE_URL") or catalog["base_url"]).rstrip("/")
    target = root / name / precision
    for filename, sha in files.items():
        fetch_verified(f"{base_url}/{name}/{precision}/{filename}", target / filename, sha, timeout_s)
    return resolve(name, precision, root)
