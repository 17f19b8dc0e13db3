"""Constant-velocity Kalman filter on a box's centre and size, with a time step in seconds.

The step is the real gap between frames (video seconds), because the frame rate varies:
a camera that drops to 5 fps must not make people look twice as slow.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Box

# Noise scaled by the box height, so a near (big) person may move more pixels than a far one.
_MEAS_STD = 0.05  # detector box jitter, in heights
_PROC_POS_STD = 0.1  # unexplained position change, heights per sqrt(second)
_PROC_VEL_STD = 0.35  # change of speed, heights per second per sqrt(second) (0.5 before the crowd clips: docs/performance.md)
_INIT_VEL_STD = 1.0  # a new track's speed is unknown: about a body height per second


def box_to_z(box: Box) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [(x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, 1.0), max(y2 - y1, 1.0)]


def z_to_box(z: Sequence[float]) -> Box:
    cx, cy, w, h = float(z[0]), float(z[1]), max(float(z[2]), 1.0), max(float(z[3]), 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class BoxKalman:
    """State: cx, cy, w, h and their speeds (pixels per second).

    The four coordinates move, and are measured, independently (F pairs each with its own speed; Q, R and
    the first P are diagonal), so P stays four 2x2 blocks: the filter runs as four pairs side by side, the
    same figures as the 8x8 matrix form (test_analytics_tracker checks it against the matrix form). Plain
    floats, not numpy: on four numbers numpy's per-call cost is most of the work, and the tracker runs the
    filter for every track every frame (predict 7.3 -> 1.7 us, update 9.0 -> 2.8 us)."""

    def __init__(self, box: Box) -> None:
        z = box_to_z(box)
        self.pos, self.vel = z, [0.0] * 4
        h = z[3]
        # each coordinate's covariance: var(pos), cov(pos, vel), var(vel)
        self.p_pp = [(_MEAS_STD * h) ** 2] * 4
        self.p_pv = [0.0] * 4
        self.p_vv = [(_INIT_VEL_STD * h) ** 2] * 4

    @property
    def box(self) -> Box:
        return z_to_box(self.pos)

    @property
    def velocity(self) -> tuple[float, float]:
        """Centre speed in pixels per second."""
        return self.vel[0], self.vel[1]

    def predict(self, dt: float, lost: bool = False) -> None:
        if dt <= 0:
            return
        if lost:
            # An unseen box should not keep growing or shrinking (ByteTrack does the same).
            self.vel[2] = self.vel[3] = 0.0
        h = max(self.pos[3], 1.0)
        q_pos, q_vel = (_PROC_POS_STD * h) ** 2 * dt, (_PROC_VEL_STD * h) ** 2 * dt
        pos, vel, p_pp, p_pv, p_vv = self.pos, self.vel, self.p_pp, self.p_pv, self.p_vv
        for i in range(4):
            pos[i] = pos[i] + vel[i] * dt
            p_pp[i] = p_pp[i] + 2 * dt * p_pv[i] + dt * dt * p_vv[i] + q_pos
            p_pv[i] = p_pv[i] + dt * p_vv[i]
            p_vv[i] = p_vv[i] + q_vel

    def update(self, box: Box) -> None:
        z = box_to_z(box)
        r = (_MEAS_STD * z[3]) ** 2
        pos, vel, p_pp, p_pv, p_vv = self.pos, self.vel, self.p_pp, self.p_pv, self.p_vv
        for i in range(4):
            s = p_pp[i] + r
            k_p, k_v = p_pp[i] / s, p_pv[i] / s
            y = z[i] - pos[i]
            pos[i] = pos[i] + k_p * y
            vel[i] = vel[i] + k_v * y
            p_vv[i] = p_vv[i] - k_v * p_pv[i]
            p_pp[i] = (1 - k_p) * p_pp[i]
            p_pv[i] = (1 - k_p) * p_pv[i]
