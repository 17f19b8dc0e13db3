"""MOTChallenge text files: `frame,id,x,y,w,h,conf,-1,-1,-1`, frames numbered from 1, boxes in pixels
(left, top, width, height). The format every tracking benchmark reads, so a run can be scored with
standard tools and its detections fed to another tracker.

Ground truth (`gt.txt`) uses the same first six columns; its 7th is "consider" (0 = ignore), the 8th the
class (1 = pedestrian) and the 9th the visible share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import EdgewatchError
from .types import Box


def row(frame_no: int, ident: int, box: Box, conf: float) -> str:
    """One line of a tracker (or detections, ident -1) file."""
    x1, y1, x2, y2 = box
    return f"{frame_no},{ident},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{conf:.4f},-1,-1,-1\n"


@dataclass(frozen=True)
class MotRows:
    """A MOT file as arrays (one row per box), sorted by frame."""

    frame: np.ndarray  # int, from 1
    ident: np.ndarray  # int, -1 for detections
    box: np.ndarray  # (N, 4) x1, y1, x2, y2
    conf: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def at(self, frame_no: int) -> "MotRows":
        sel = self.frame == frame_no
        return MotRows(self.frame[sel], self.ident[sel], self.box[sel], self.conf[sel])

    def where_considered(self) -> "MotRows":
        """Ground truth: the rows to score (7th column not 0)."""
        sel = self.conf != 0
        return MotRows(self.frame[sel], self.ident[sel], self.box[sel], self.conf[sel])

    @property
    def ids(self) -> set[int]:
        return {int(i) for i in self.ident}


def read(path: str | Path, what: str = "MOT file", max_frame: int | None = None) -> MotRows:
    """Read and check a MOT file: at least six numeric columns, whole frame numbers from 1 (at most
    `max_frame`), positive sizes. Errors name the file, the line and the cause."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise EdgewatchError(f"{what} {p}: cannot read ({err.strerror or err})") from None
    frames, idents, boxes, confs = [], [], [], []
    ncols = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [s.strip() for s in line.split(",")]
        if ncols is None:
            ncols = len(parts)
        if len(parts) < 6 or len(parts) != ncols:
            raise EdgewatchError(f"{what} {p}: line {n}: {len(parts)} columns, expected "
                                 f"{'at least 6' if len(parts) < 6 else ncols} (frame,id,x,y,w,h,conf,...)")
        try:
            vals = [float(s) for s in parts[:7]]
        except ValueError:
            raise EdgewatchError(f"{what} {p}: line {n}: not a number in {line.strip()!r}") from None
        f, i, x, y, w, h = vals[:6]
        if f != int(f) or f < 1:
            raise EdgewatchError(f"{what} {p}: line {n}: frame {parts[0]} is not a whole number from 1")
        if max_frame is not None and f > max_frame:
            raise EdgewatchError(f"{what} {p}: line {n}: frame {int(f)} is beyond the video's {max_frame} frames")
        if w <= 0 or h <= 0:
            raise EdgewatchError(f"{what} {p}: line {n}: box width and height must be positive")
        frames.append(int(f))
        idents.append(int(i))
        boxes.append((x, y, x + w, y + h))
        confs.append(vals[6] if len(vals) > 6 else 1.0)
    order = np.argsort(np.asarray(frames, dtype=int), kind="stable")
    return MotRows(np.asarray(frames, dtype=int)[order], np.asarray(idents, dtype=int)[order],
                   np.asarray(boxes, dtype=float).reshape(-1, 4)[order], np.asarray(confs, dtype=float)[order])
