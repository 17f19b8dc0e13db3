from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ...config import ModelConfig
from ...types import Frame, ModelOutput


class Adapter(ABC):
    """Turns a model's raw outputs for one frame into a ModelOutput."""

    kind: str = ""

    def __init__(self, cfg: ModelConfig, min_score: float) -> None:
        self.cfg = cfg
        self.min_score = min_score

    @classmethod
    @abstractmethod
    def matches(cls, shapes: list[tuple[int, ...]], cfg: ModelConfig) -> bool:
        """Whether a model with these output shapes has this family's layout."""

    def check(self, shapes: list[tuple[int, ...]], model_name: str) -> None:
        from ...errors import EdgewatchError

        if not self.matches(shapes, self.cfg):
            raise EdgewatchError(
                f"model {model_name} does not fit the {self.kind} adapter: its outputs are "
                f"{', '.join(str(list(s)) for s in shapes)}"
            )

    @abstractmethod
    def postprocess(self, outputs: list[np.ndarray], frame: Frame, infer_ms: float) -> ModelOutput:
        ...
