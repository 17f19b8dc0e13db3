"""The relay with several cameras and no per-camera settings: RTSP mounts follow the cameras that push.
Real FFmpeg publishers (FFmpeg's test pattern, cheap to encode),
real GStreamer RTSP server, real FFmpeg clients; everything on 127.0.0.1."""

from __future__ import annotations

import subprocess

import pytest

pytest.importorskip("aiohttp", reason="the relay needs aiohttp (pip install aiohttp)")

from stream_fixture import Publisher, Relay, rtsp_frames  # noqa: E402

SIZES = {"entrance": "320:240", "till": "352:288"}


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    r = Relay(tmp_path_factory.mktemp("relay"))
    r.pubs = {cam: Publisher(r.http, size, camera=cam, pattern=True) for cam, size in SIZES.items()}
    try:
        for cam in SIZES:
            r.wait_live(cam)
        yield r
    finally:
        for p in r.pubs.values():
            p.kill()
        r.stop()


def test_rtsp_serves_every_camera_that_pushed(relay):
    assert set(relay.health()["rtsp"]["cameras"]) == set(SIZES)
    for cam, size in SIZES.items():
        info = rtsp_frames(relay.rtsp(cam), 10)
        assert (info["codec_name"], f"{info['width']}:{info['height']}") == ("h264", size), cam
        assert int(info["nb_read_frames"]) >= 10
    # A camera that never pushed is not mounted.
    out = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", relay.rtsp("door")],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0 and "404" in out.stderr, out.stderr
