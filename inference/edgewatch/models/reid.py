"""Person re-identification embeddings (person-reidentification-retail-0287 and alike) for detections."""

from __future__ import annotations

import numpy as np

from ..errors import EdgewatchError
from ..types import Box, Frame
from .runtime import LoadedModel


def check_embedding(shapes: list[tuple[int, ...]]) -> None:
    if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] < 16:
        raise EdgewatchError(f"re-identification model must output one [1,D] embedding, not {shapes}")


class ReidEmbedder:
    """One re-identification model for every camera: the crops of one frame go through it in one batch."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._request = loaded.compiled.create_infer_request()
        self.crops = 0  # embedded so far, for the figures

    def embed(self, frame: Frame, boxes: list[Box]) -> list[np.ndarray]:
        """An L2-normalised embedding per box; a box too small to crop gets a zero vector."""
        h, w = frame.image.shape[:2]
        tensors, keep = [], []
        for i, box in enumerate(boxes):
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if y2 - y1 >= 4 and x2 - x1 >= 4:
                tensors.append(self.loaded.prepare(frame.image[y1:y2, x1:x2]))
                keep.append(i)
        out = [np.zeros(1, np.float32) for _ in boxes]
        if tensors:
            vecs = self._request.infer({0: np.concatenate(tensors)})[0].reshape(len(tensors), -1).astype(np.float32)
            for i, vec in zip(keep, vecs, strict=True):
                out[i] = vec / (np.linalg.norm(vec) + 1e-9)
            self.crops += len(tensors)
        return out
