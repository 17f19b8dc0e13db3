"""Video sources: everything OpenCV can read, opened and checked before work starts."""

from .capture import FrameSource, SourceInfo, open_source

__all__ = ["FrameSource", "SourceInfo", "open_source"]
