"""Appearance where motion is ambiguous: what a camera's tracker tells people apart by, how often it
views everyone in sight, and (re-id with reid.reentry) the gallery of people who left.

Colour views (colour.py) unless tracker.colour is off; with model.reid on (models/reid.py runs the model
for every camera) its embeddings, beside the colour views unless tracker.colour is off; none = motion
alone. Either way a view is an L2-normalised vector per box, compared by cosine similarity, through the
same rules (tracker.py).
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
from .colour import VIEW_SIZE as COLOUR_SIZE
from .colour import colour_embed
from .reid import ReidGallery, normalise

if TYPE_CHECKING:
    from .tracker import TrackerStep

# Views of the boxes of one frame, all at once (a re-id model's crops are inferred side by side).
Embed = Callable[[Frame, list[Box]], list[np.ndarray]]


# tracker.appearance_weight by default: measured best for each cue on the crowd clips (docs/performance.md)
REID_WEIGHT, COLOUR_WEIGHT = 2.0, 3.0
# Colour's share of a view's similarity with re-id on (tracker.colour): on the twelve crowd clips 0.3, 0.5
# and 0.7 all beat re-id alone; 0.5 most (docs/performance.md).
COLOUR_SHARE = 0.5


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
            embed, part = (with_colour(reid_embed), reid_part) if tracker.colour else (reid_embed, None)
            return cls(embed, model.reid.refresh_s, _weight(tracker, REID_WEIGHT),
                       ReidGallery(model.reid, part) if model.reid.reentry else None)
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


def with_colour(reid: Embed, share: float = COLOUR_SHARE) -> Embed:
    """Views of re-id embeddings and colour views side by side, scaled so that the cosine similarity of two
    views is (1 - share) x re-id's + share x colour's. A box either cannot view (too small) gets none."""
    a, b = np.float32(np.sqrt(1.0 - share)), np.float32(np.sqrt(share))

    def embed(frame: Frame, boxes: list[Box]) -> list[np.ndarray]:
        return [np.concatenate([a * r, b * c]) if r.size > 1 and c.size > 1 else np.zeros(1, np.float32)
                for r, c in zip(reid(frame, boxes), colour_embed(frame, boxes), strict=True)]
    return embed


def reid_part(view: np.ndarray) -> np.ndarray:
    """The re-id embedding in a view with_colour made (or in a running mean of such views): what the
    re-entry gallery compares, its threshold being re-id's."""
    return normalise(view[:-COLOUR_SIZE]) if view.size > COLOUR_SIZE else view


def _weight(cfg: TrackerConfig, default: float) -> float:
    return cfg.appearance_weight if cfg.appearance_weight is not None else default


def tracker_config(cfg: TrackerConfig, look: Appearance | None) -> TrackerConfig:
    """A camera's tracker settings with its appearance cue's weight (as they are, by motion alone)."""
    return cfg if look is None else cfg.model_copy(update={"appearance_weight": look.weight})
