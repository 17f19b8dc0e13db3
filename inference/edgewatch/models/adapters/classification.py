from __future__ import annotations

import numpy as np

from ...config import ModelConfig
from ...types import Classification, Frame, ModelOutput
from .base import Adapter


class ClassificationAdapter(Adapter):
    """Class scores `[1,C]` (or `[1,C,1,1]`); needs model.class_names to tell classes from an embedding."""

    kind = "classification"
    top_k = 3

    @classmethod
    def matches(cls, shapes: list[tuple[int, ...]], cfg: ModelConfig) -> bool:
        if len(shapes) != 1 or not cfg.class_names:
            return False
        s = shapes[0]
        flat = int(np.prod(s[1:])) if len(s) > 1 else 0
        return flat == len(cfg.class_names)

    def postprocess(self, outputs: list[np.ndarray], frame: Frame, infer_ms: float) -> ModelOutput:
        scores = outputs[0].reshape(-1).astype(np.float64)
        if scores.min() < 0 or abs(scores.sum() - 1.0) > 1e-3:  # logits: turn into probabilities
            e = np.exp(scores - scores.max())
            scores = e / e.sum()
        names = self.cfg.class_names or []
        order = np.argsort(-scores)[: self.top_k]
        top = [(names[i], round(float(scores[i]), 4)) for i in order]
        return ModelOutput(frame=frame, infer_ms=infer_ms, classification=Classification(top))
