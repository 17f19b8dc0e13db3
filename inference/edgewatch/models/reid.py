"""Person re-identification embeddings (person-reidentification-retail-0287 and alike) for detections."""

from __future__ import annotations

import numpy as np
import openvino as ov

from ..errors import EdgewatchError
from ..types import Box, Frame
from .runtime import LoadedModel


def check_embedding(shapes: list[tuple[int, ...]]) -> None:
    if len(shapes) != 1 or len(shapes[0]) != 2 or shapes[0][1] < 16:
        raise EdgewatchError(f"re-identification model must output one [1,D] embedding, not {shapes}")


class ReidEmbedder:
    """One re-identification model for every camera. The crops of one frame go out as one request each
    on the model's throughput streams, at once: measured faster than one request of a dynamic batch,
    whose size changes from frame to frame and costs a reshape each time (docs/performance.md)."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._queue = ov.AsyncInferQueue(loaded.compiled, max(2, loaded.requests))
        self._queue.set_callback(self._done)
        self._out: dict[int, np.ndarray] = {}
        self.crops = 0  # embedded so far, for the figures

    def _done(self, request: ov.InferRequest, slot: int) -> None:
        self._out[slot] = request.get_output_tensor(0).data.reshape(-1).astype(np.float32)

    def embed(self, frame: Frame, boxes: list[Box]) -> list[np.ndarray]:
        """An L2-normalised embedding per box; a box too small to crop gets a zero vector."""
        h, w = frame.image.shape[:2]
        self._out = {}
        for i, box in enumerate(boxes):
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
            if y2 - y1 >= 4 and x2 - x1 >= 4:
                self._queue.start_async({0: self.loaded.prepare(frame.image[y1:y2, x1:x2])}, i)
        self._queue.wait_all()
        out = [np.zeros(1, np.float32) for _ in boxes]
        for i, vec in self._out.items():
            out[i] = vec / (np.linalg.norm(vec) + 1e-9)
        self.crops += len(self._out)
        return out
