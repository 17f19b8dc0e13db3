"""Constant-velocity Kalman filter on a box's centre and size, with a time step in seconds.

The step is the real gap between frames (video seconds), because the frame rate varies:
a camera that drops to 5 fps must not make people look twice as slow.
"""

from __future__ import annotations

import numpy as np

from ..types import Box

# Noise scaled by the box height, so a near (big) person may move more pixels than a far one.
_MEAS_STD = 0.05  # detector box jitter, in heights
_PROC_POS_STD = 0.1  # unexplained position change, heights per sqrt(second)
_PROC_VEL_STD = 0.35  # change of speed, heights per second per sqrt(second) (0.5 before the crowd clips: docs/performance.md)
_INIT_VEL_STD = 1.0  # a new track's speed is unknown: about a body height per second


def box_to_z(box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)])


def z_to_box(z: np.ndarray) -> Box:
    cx, cy, w, h = (float(v) for v in z[:4])
    w, h = max(w, 1.0), max(h, 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class BoxKalman:
    """State: cx, cy, w, h and their speeds (pixels per second).

    The four coordinates move, and are measured, independently (F pairs each with its own speed; Q, R and
    the first P are diagonal), so P stays four 2x2 blocks: the filter runs as four pairs side by side, the
    same figures as the 8x8 matrix form at a third of its cost (the tracker runs it for every track every
    frame; test_analytics_tracker checks it against the matrix form)."""

    def __init__(self, box: Box) -> None:
        z = box_to_z(box)
        self.pos, self.vel = z, np.zeros(4)
        h = z[3]
        # each coordinate's covariance: var(pos), cov(pos, vel), var(vel)
        self.p_pp = np.full(4, (_MEAS_STD * h) ** 2)
        self.p_pv = np.zeros(4)
        self.p_vv = np.full(4, (_INIT_VEL_STD * h) ** 2)

    @property
    def box(self) -> Box:
        return z_to_box(self.pos)

    @property
    def velocity(self) -> tuple[float, float]:
        """Centre speed in pixels per second."""
        return float(self.vel[0]), float(self.vel[1])

    def predict(self, dt: float, lost: bool = False) -> None:
        if dt <= 0:
            return
        if lost:
            # An unseen box should not keep growing or shrinking (ByteTrack does the same).
            self.vel[2:] = 0.0
        h = max(self.pos[3], 1.0)
        self.pos = self.pos + self.vel * dt
        self.p_pp = self.p_pp + 2 * dt * self.p_pv + dt * dt * self.p_vv + (_PROC_POS_STD * h) ** 2 * dt
        self.p_pv = self.p_pv + dt * self.p_vv
        self.p_vv = self.p_vv + (_PROC_VEL_STD * h) ** 2 * dt

    def update(self, box: Box) -> None:
        z = box_to_z(box)
        s = self.p_pp + (_MEAS_STD * z[3]) ** 2
        k_p, k_v = self.p_pp / s, self.p_pv / s
        y = z - self.pos
        self.pos = self.pos + k_p * y
        self.vel = self.vel + k_v * y
        self.p_vv = self.p_vv - k_v * self.p_pv
        self.p_pp = (1 - k_p) * self.p_pp
        self.p_pv = (1 - k_p) * self.p_pv
