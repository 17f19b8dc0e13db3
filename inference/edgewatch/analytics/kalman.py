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

_H = np.hstack([np.eye(4), np.zeros((4, 4))])  # we measure cx, cy, w, h


def box_to_z(box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)])


def z_to_box(z: np.ndarray) -> Box:
    cx, cy, w, h = (float(v) for v in z[:4])
    w, h = max(w, 1.0), max(h, 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class BoxKalman:
    """State: cx, cy, w, h and their speeds (pixels per second)."""

    def __init__(self, box: Box) -> None:
        z = box_to_z(box)
        self.x = np.concatenate([z, np.zeros(4)])
        h = z[3]
        self.P = np.diag([(_MEAS_STD * h) ** 2] * 4 + [(_INIT_VEL_STD * h) ** 2] * 4)

    @property
    def box(self) -> Box:
        return z_to_box(self.x)

    @property
    def velocity(self) -> tuple[float, float]:
        """Centre speed in pixels per second."""
        return float(self.x[4]), float(self.x[5])

    def predict(self, dt: float, lost: bool = False) -> None:
        if dt <= 0:
            return
        if lost:
            # An unseen box should not keep growing or shrinking (ByteTrack does the same).
            self.x[6:] = 0.0
        F = np.eye(8)
        F[:4, 4:] = np.eye(4) * dt
        h = max(self.x[3], 1.0)
        Q = np.diag([(_PROC_POS_STD * h) ** 2] * 4 + [(_PROC_VEL_STD * h) ** 2] * 4) * dt
        self.x = F @ self.x
        self.P = F @ self.P @ F.T + Q

    def update(self, box: Box) -> None:
        z = box_to_z(box)
        R = np.eye(4) * (_MEAS_STD * z[3]) ** 2
        S = _H @ self.P @ _H.T + R
        K = np.linalg.solve(S, _H @ self.P).T  # P H^T S^-1, S symmetric
        self.x = self.x + K @ (z - _H @ self.x)
        self.P = (np.eye(8) - K @ _H) @ self.P
