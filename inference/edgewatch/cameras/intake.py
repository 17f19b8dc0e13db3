"""A camera's frames on their way to the shared model and back, in the camera's own order.

The gate decides which frames are detected; a frame to detect waits for a free request; results come
back from the shared model in any order and leave here in the order the source gave the frames.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import EdgewatchError
from ..models.runtime import SharedInference
from ..sources import FrameSource
from ..types import Box, Frame, SourceStatus
from .gate import Decision, DetectGate


@dataclass
class Pending:
    """A frame or status in the camera's order; `done` once its inference (if any) came back."""

    item: Frame | SourceStatus
    decision: Decision | None = None
    outputs: list[np.ndarray] | None = None
    infer_ms: float = 0.0
    done: bool = False

    def finish(self, outputs: list[np.ndarray], infer_ms: float) -> None:
        self.outputs, self.infer_ms, self.done = outputs, infer_ms, True


class Intake:
    def __init__(self, source: FrameSource, gate: DetectGate, prepare: Callable[[np.ndarray], np.ndarray]) -> None:
        self.source = source
        self.gate = gate
        self.prepare = prepare  # a frame the detector takes, scaled for the model (a gated camera's only when kept)
        self.pending: deque[Pending] = deque()  # this camera's items in order, until published
        self.unsent: Pending | None = None  # a frame to detect that waits for a free request
        self.failure: EdgewatchError | None = None  # the source gave up: nothing more is taken

    @property
    def finished(self) -> bool:
        return (self.source.finished or self.failure is not None) and not self.pending

    def take(self, inference: SharedInference, standing: Callable[[], list[Box]]) -> bool:
        """Hand the frame waiting for the detector to a free request, or take the source's next item. A
        camera whose frame waits takes nothing more (what it would take could only wait behind it; left
        in the source's queue, the oldest are dropped as a live camera must), but a busy detector never
        holds back the frames its gate skips. False when there was nothing to do. A source that gave up
        raises its EdgewatchError once (kept in `failure`)."""
        if self.unsent is not None:
            if inference.free <= 0:
                return False
            self._submit(self.unsent, inference)
            self.unsent = None
            return True
        if self.failure is not None:
            return False
        try:
            item = self.source.poll()
        except EdgewatchError as err:
            self.failure = err  # e.g. lost for longer than source.reconnect.give_up_s: not retried
            raise
        if item is None:
            return False
        entry = Pending(item)
        self.pending.append(entry)
        if isinstance(item, SourceStatus):
            entry.done = True
        else:
            entry.decision = self.gate.decide(item, standing)
            if entry.decision is not Decision.DETECT:
                entry.done = True
            elif inference.free > 0:
                self._submit(entry, inference)
            else:
                self.unsent = entry
        return True

    def _submit(self, entry: Pending, inference: SharedInference) -> None:
        frame = entry.item
        # A gated camera's frames are scaled here, only those detected (build.py).
        inference.submit(entry, frame.tensor if frame.tensor is not None else self.prepare(frame.image))

    def ready(self) -> Iterator[Pending]:
        """The items at the head of the order whose result is in, in order."""
        while self.pending and self.pending[0].done:
            yield self.pending.popleft()
