"""Appearance where motion is ambiguous: what a camera's tracker tells people apart by, how often it
views everyone in sight, and (re-id with reid.reentry) the gallery of people who left.

Re-id embeddings when model.reid is on (models/reid.py runs the model for every camera), else colour
views (colour.py) unless tracker.colour is off; none = motion alone. Either way a view is an
L2-normalised vector per box, compared by cosine similarity, through the same rules (tracker.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import ModelConfig, TrackerConfig
from ..types import Box, Frame
from .association import Embedder
from .colour import REFRESH_S as COLOUR_REFRESH_S
from .colour import colour_embed
from .reid import ReidGallery

if TYPE_CHECKING:
    from .tracker import TrackerStep

# Views of the boxes of one frame, all at once (a re-id model's crops are inferred side by side).
Embed = Callable[[Frame, list[Box]], list[np.ndarray]]


# tracker.appearance_weight by default: measured best for each cue on the crowd clips (docs/performance.md)
REID_WEIGHT, COLOUR_WEIGHT = 2.0, 3.0


@dataclass
class Appearance:
    embed: Embed
    refresh_s: float  # a fresh view of each person in sight this often
    weight: float  # of appearance in the tracker's cost (tracker.appearance_weight)
    gallery: ReidGallery | None = None

    @classmethod
    def choose(cls, model: ModelConfig, tracker: TrackerConfig, reid_embed: Embed | None) -> Appearance | None:
        """The camera's appearance cue from its config; `reid_embed` runs model.reid (None: not loaded)."""
        if model.reid is not None:
            if reid_embed is None:
                return None
            return cls(reid_embed, model.reid.refresh_s, _weight(tracker, REID_WEIGHT),
                       ReidGallery(model.reid) if model.reid.reentry else None)
        return cls(colour_embed, COLOUR_REFRESH_S, _weight(tracker, COLOUR_WEIGHT)) if tracker.colour else None

    def of(self, frame: Frame) -> Embedder:
        """Views of this frame's boxes, for the tracker to ask where identity is in question."""
        return lambda boxes: self.embed(frame, boxes)

    def take_views(self, frame: Frame, step: TrackerStep) -> None:
        """Views only where identity is in question: a track just confirmed (is it someone who left
        recently?), one seen again after a gap, and a fresh view of everyone in sight every
        `refresh_s` (what the tracker compares in a crowd, and the gallery keeps when they leave),
        unless the tracker took a view this frame. One batch for the frame."""
        now = frame.video_s
        need = {st.key: st for st in step.confirmed + step.refound}
        for st in step.active:
            if st.visible and (st.embedded_s is None or now - st.embedded_s >= self.refresh_s):
                need.setdefault(st.key, st)
        need = {k: st for k, st in need.items() if st.embedded_s != now}  # the tracker just took a view
        if need:
            states = list(need.values())
            for st, emb in zip(states, self.embed(frame, [st.box for st in states]), strict=True):
                st.add_view(emb, now)


def _weight(cfg: TrackerConfig, default: float) -> float:
    return cfg.appearance_weight if cfg.appearance_weight is not None else default


def tracker_config(cfg: TrackerConfig, look: Appearance | None) -> TrackerConfig:
    """A camera's tracker settings with its appearance cue's weight (as they are, by motion alone)."""
    return cfg if look is None else cfg.model_copy(update={"appearance_weight": look.weight})
