"""Re-identification gallery: people who left recently, so someone who comes back keeps their id.

Embeddings are L2-normalised, so cosine similarity is a dot product. The gallery only holds people
who have left (an id cannot be in the frame twice) and forgets them after model.reid.max_gap_s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import ReidConfig


@dataclass
class _Gone:
    person_id: int
    embedding: np.ndarray
    left_s: float


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


class ReidGallery:
    def __init__(self, cfg: ReidConfig, part: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """`part`: the re-id embedding in a track's view, where that holds more (appearance.with_colour)."""
        self.max_gap_s = cfg.max_gap_s
        self.threshold = cfg.threshold
        self._part = part or (lambda v: v)
        self._gone: list[_Gone] = []

    def __len__(self) -> int:
        return len(self._gone)

    def add(self, person_id: int, embedding: np.ndarray | None, left_s: float) -> None:
        """Remember someone who has just left (no embedding: nothing to recognise them by)."""
        if embedding is not None:
            self._gone.append(_Gone(person_id, normalise(self._part(embedding)), left_s))

    def match(self, embedding: np.ndarray | None, now_s: float) -> int | None:
        """The id of the best-matching person who left at most max_gap_s ago, taken out of the
        gallery; None if nobody is similar enough."""
        self._gone = [g for g in self._gone if now_s - g.left_s <= self.max_gap_s]
        if embedding is None or not self._gone:
            return None
        sims = np.stack([g.embedding for g in self._gone]) @ normalise(self._part(embedding))
        best = int(np.argmax(sims))
        if float(sims[best]) < self.threshold:
            return None
        return self._gone.pop(best).person_id

    def clear(self) -> None:
        self._gone = []
