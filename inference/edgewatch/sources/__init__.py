"""Video sources: everything OpenCV can read, opened and checked before work starts."""

from .capture import FrameSource, SourceInfo, open_source, too_soon

__all__ = ["FrameSource", "SourceInfo", "open_source", "too_soon"]
