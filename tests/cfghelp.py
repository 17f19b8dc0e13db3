"""Test helpers for one-camera configs."""

from __future__ import annotations

from edgewatch.analytics import Analytics
from edgewatch.config import CameraConfig, Config


def only(cfg: Config) -> CameraConfig:
    """The camera of a one-camera config."""
    (cam,) = cfg.cameras.values()
    return cam


def analytics(cfg: Config, frame_size: tuple[int, int]) -> Analytics:
    return Analytics(only(cfg), cfg.model, frame_size)
