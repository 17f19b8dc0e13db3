from __future__ import annotations

import numpy as np

from ...config import ModelConfig
from ...types import Detection, Frame, ModelOutput
from .base import Adapter


class SsdDetectionAdapter(Adapter):
    """SSD-style `[1,1,N,7]` output: image_id, label, conf, x_min, y_min, x_max, y_max (0..1)."""

    kind = "detection"

    @classmethod
    def matches(cls, shapes: list[tuple[int, ...]], cfg: ModelConfig) -> bool:
        return any(len(s) == 4 and s[-1] == 7 for s in shapes)

    def postprocess(self, outputs: list[np.ndarray], frame: Frame, infer_ms: float) -> ModelOutput:
        raw = next(o for o in outputs if o.ndim == 4 and o.shape[-1] == 7).reshape(-1, 7)
        # image_id < 0 marks the end of valid detections.
        end = np.flatnonzero(raw[:, 0] < 0)
        if end.size:
            raw = raw[: end[0]]
        keep = (raw[:, 2] >= self.min_score) & np.isin(raw[:, 1].astype(int), self.cfg.labels)
        raw = raw[keep]
        w, h = frame.size
        boxes = np.clip(raw[:, 3:7], 0.0, 1.0) * np.array([w, h, w, h], dtype=np.float32)
        dets = [
            Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), float(s), int(l))
            for b, s, l in zip(boxes, raw[:, 2], raw[:, 1])
            if b[2] - b[0] >= 2 and b[3] - b[1] >= 2
        ]
        return ModelOutput(frame=frame, infer_ms=infer_ms, detections=dets)
