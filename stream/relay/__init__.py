"""Edgewatch video relay: one publisher per camera in, HLS + live fMP4 (WebSocket/HTTP) + RTSP out."""
