"""Edgewatch inference worker: video source -> OpenVINO model -> analytics -> publishers."""

__version__ = "0.1.0"
