"""Person re-identification embeddings (person-reidentification-retail-0287 and alike) for detections."""

from __future__ import annotations

import numpy as np

from ..errors import EdgewatchError
from ..types import Detection, Frame
from .runtime import LoadedModel


def check_embedding(shapes: list[tuple[int, ...]]) -> None:
    if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] < 16:
        raise EdgewatchError(f"re-identification model must output one [1,D] embedding, not {shapes}")


class ReidEmbedder:
    def __init__(self, loaded: LoadedModel) -> None:
        self._request = loaded.compiled.create_infer_request()

    def embed(self, frame: Frame, detections: list[Detection]) -> list[np.ndarray]:
        out = []
        h, w = frame.image.shape[:2]
        for det in detections:
            x1, y1, x2, y2 = (int(round(v)) for v in det.box)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            crop = np.ascontiguousarray(frame.image[y1:y2, x1:x2])
            if crop.shape[0] < 4 or crop.shape[1] < 4:
                out.append(np.zeros(1, np.float32))
                continue
            vec = self._request.infer({0: crop[np.newaxis]})[0].reshape(-1).astype(np.float32)
            out.append(vec / (np.linalg.norm(vec) + 1e-9))
        return out
