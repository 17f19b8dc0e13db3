from __future__ import annotations

import numpy as np

from ...config import ModelConfig
from ...types import Frame, ModelOutput, Segmentation
from .base import Adapter

# road-segmentation-adas-0001's classes, the default when the config names none.
ROAD_CLASSES = ["background", "road", "curb", "marking"]


class SegmentationAdapter(Adapter):
    """Per-pixel class scores `[1,C,H,W]` (C > 1) or a class-index map `[1,1,H,W]`."""

    kind = "segmentation"

    @classmethod
    def matches(cls, shapes: list[tuple[int, ...]], cfg: ModelConfig) -> bool:
        return len(shapes) == 1 and len(shapes[0]) in (3, 4) and shapes[0][-1] > 7 and shapes[0][-2] > 7

    def postprocess(self, outputs: list[np.ndarray], frame: Frame, infer_ms: float) -> ModelOutput:
        out = outputs[0]
        if out.ndim == 4 and out.shape[1] > 1:
            class_map = np.argmax(out[0], axis=0).astype(np.uint8)
        else:
            class_map = out.reshape(out.shape[-2], out.shape[-1]).astype(np.uint8)
        names = self.cfg.class_names or (ROAD_CLASSES if (out.ndim == 4 and out.shape[1] == 4) else None)
        counts = np.bincount(class_map.ravel(), minlength=len(names) if names else 0)
        total = float(class_map.size)
        shares = {
            (names[i] if names and i < len(names) else f"class_{i}"): round(c / total, 4)
            for i, c in enumerate(counts)
            if c
        }
        return ModelOutput(frame=frame, infer_ms=infer_ms, segmentation=Segmentation(class_map, shares))
