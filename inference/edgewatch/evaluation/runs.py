"""Each variant (model x precision x tracker settings) run through the real worker on the video."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .. import config
from ..config import TrackerConfig
from ..errors import EdgewatchError
from ..models import registry
from . import score


@dataclass(frozen=True)
class Variant:
    model: str
    precision: str
    tracker: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        knobs = ",".join(f"{k}={v}" for k, v in self.tracker.items())
        return f"{self.model} {self.precision}{' ' + knobs if knobs else ''}"


@dataclass
class RunResult:
    variant: Variant
    tracks: Path
    fps: float
    infer_ms: float
    model_mb: float
    total: int
    lines: dict[str, dict[str, int]]
    # every line crossing counted (MOT frames from 1); None when the run's summary did not keep them all
    # (it keeps the last 100 000 events): crossing-by-crossing figures cannot be had then
    crossings: list[score.Crossing] | None


def parse_tracker(text: str, prog: str = "evaluate") -> dict[str, Any]:
    """`min_hits=2,match_iou=0.3` -> checked tracker settings (the same validation as the YAML's); errors
    start with `prog` (the benchmarks parse their --tracker with it too)."""
    knobs: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise EdgewatchError(f"{prog}: --tracker {text!r}: {part!r} is not key=value")
        knobs[key.strip()] = yaml.safe_load(value)
    try:
        TrackerConfig(**knobs)
    except ValidationError as err:
        first = err.errors()[0]
        msg = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise EdgewatchError(f"{prog}: --tracker: tracker.{'.'.join(map(str, first['loc']))}: {msg}") from None
    return knobs


def variants(models: list[str], precisions: list[str], trackers: list[str]) -> list[Variant]:
    knobs = [parse_tracker(t) for t in trackers] or [{}]
    return [Variant(m, p, k) for m, p, k in itertools.product(models, precisions, knobs)]


def check_detector(v: Variant) -> float:
    """The model must exist and be a person detector; returns its size on disk in MB."""
    import openvino as ov

    from ..config import ModelConfig
    from ..models.adapters import choose

    files = registry.resolve(v.model, v.precision)
    model = ov.Core().read_model(str(files.path))
    shapes = [tuple(o.get_partial_shape().get_min_shape()) for o in model.outputs]
    adapter = choose(ModelConfig(name=v.model), shapes, v.model, 0.5)
    if adapter.kind != "detection":
        raise EdgewatchError(f"evaluate: model {v.model} is a {adapter.kind} model, not a detector "
                             "(evaluate scores tracked people)")
    return sum(p.stat().st_size for p in (files.path, files.path.with_suffix(".bin")) if p.exists()) / 1e6


def run(video: Path, fps: float, v: Variant, size_mb: float, base: dict[str, Any], work: Path,
        index: int) -> RunResult:
    """One run of the worker on the whole video (`fps`: the video's own), as fast as it goes: its tracks
    file and summary. `size_mb`: what check_detector found, called for every variant before the first run."""
    work.mkdir(parents=True, exist_ok=True)
    cfg = config.merge_tree(base, {"tracker": v.tracker} if v.tracker else {})
    cfg_file, tracks, summary = (work / f"run{index}.{ext}" for ext in ("yaml", "tracks.txt", "summary.json"))
    cfg_file.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "edgewatch", "-i", str(video), "-m", v.model, "--precision", v.precision,
           "-c", str(cfg_file), "--tracks", str(tracks), "--summary", str(summary), "--no-progress"]
    env = {k: val for k, val in os.environ.items() if k not in ("EDGEWATCH_INPUT", "EDGEWATCH_CAMERA")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1].removeprefix("edgewatch: error: ")
        raise EdgewatchError(f"evaluate: {v.label}: the run failed: {last}")
    s = json.loads(summary.read_text())
    return RunResult(v, tracks, float(s["fps"]), float(s["infer_ms_p50"]), round(size_mb, 2), int(s["total"]), s["lines"],
                     crossings_of(s, v.label, fps))


def crossings_of(summary: dict[str, Any], label: str, fps: float) -> list[score.Crossing] | None:
    """A worker run's line crossings from its --summary's events, at MOT frame numbers (from 1, at the
    video's `fps`); None, with a warning, when they do not add up to its line counts (the summary keeps the
    last 100 000 events: a longer run's first ones are gone)."""
    crossings = [(round(float(e["video_s"]) * fps) + 1, int(e["track_id"]), e["line"], e["direction"])
                 for e in summary.get("events", []) if e["type"] == "line_cross"]
    if score.tally(crossings, list(summary["lines"])) == summary["lines"]:
        return crossings
    print(f"edgewatch evaluate: warning: {label}: the run's summary kept {len(crossings)} of its line crossings; "
          "crossings_missed / crossings_extra left out", file=sys.stderr)
    return None
