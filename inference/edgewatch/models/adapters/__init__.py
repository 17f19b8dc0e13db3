"""One small class per model family: check the model's outputs, turn raw tensors into typed results."""

from __future__ import annotations

from ...config import ModelConfig
from ...errors import EdgewatchError
from .base import Adapter
from .classification import ClassificationAdapter
from .detection import SsdDetectionAdapter
from .segmentation import SegmentationAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "detection": SsdDetectionAdapter,
    "segmentation": SegmentationAdapter,
    "classification": ClassificationAdapter,
}


def choose(cfg: ModelConfig, output_shapes: list[tuple[int, ...]], model_name: str, min_score: float) -> Adapter:
    """The configured adapter, or with `auto` the one whose output layout the model has."""
    if not output_shapes:
        raise EdgewatchError(f"model {model_name} has no outputs")
    kind = cfg.adapter
    if kind == "auto":
        kind = next((k for k, a in ADAPTERS.items() if a.matches(output_shapes, cfg)), None)
        if kind is None:
            raise EdgewatchError(
                f"model {model_name} has outputs {', '.join(str(list(s)) for s in output_shapes)}: "
                "not an SSD detector [1,1,N,7], a segmentation map [1,C,H,W] or a classifier [1,C] with class_names "
                "(a re-identification model belongs in model.reid)"
            )
    adapter = ADAPTERS[kind](cfg, min_score)
    adapter.check(output_shapes, model_name)
    return adapter


__all__ = ["Adapter", "choose", "ADAPTERS"]
