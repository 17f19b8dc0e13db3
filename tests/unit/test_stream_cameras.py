"""The relay with several cameras and no per-camera settings: RTSP mounts follow the cameras that push,
and each camera has a still picture. Real FFmpeg publishers (FFmpeg's test pattern, cheap to encode),
real GStreamer RTSP server, real FFmpeg clients; everything on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("aiohttp", reason="the relay needs aiohttp (pip install aiohttp)")

from stream_fixture import Publisher, Relay, probe, rtsp_frames  # noqa: E402

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


def _still(r: Relay, cam: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(f"{r.base}/{cam}/still.jpg", timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _stills(r: Relay, cam: str) -> int:
    return r.health()["cameras"][cam]["stills"]


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


def test_still_is_a_jpeg_of_the_cameras_picture(relay, tmp_path):
    for cam, size in SIZES.items():
        status, headers, body = _still(relay, cam)
        assert status == 200, body
        assert headers["Content-Type"] == "image/jpeg" and headers["Cache-Control"] == "no-store"
        info = probe(body, tmp_path, f"{cam}.jpg")
        assert (info["codec_name"], f"{info['width']}:{info['height']}") == ("mjpeg", size)


def test_concurrent_stills_cost_one_decode_a_second(relay):
    cam = "entrance"
    _still(relay, cam)
    time.sleep(1.2)  # the cached picture is now older than a second
    before = _stills(relay, cam)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _still(relay, cam), range(2)))
    assert [status for status, _, _ in results] == [200, 200]
    assert results[0][2] == results[1][2], "two viewers within a second got different pictures"
    assert _stills(relay, cam) == before + 1, "two requests within a second decoded twice"
    assert _still(relay, cam)[2] == results[0][2] and _stills(relay, cam) == before + 1  # still cached
    # A second later the picture follows the camera (the test pattern moves).
    time.sleep(1.2)
    status, _, body = _still(relay, cam)
    assert status == 200 and body != results[0][2]
    assert _stills(relay, cam) == before + 2


def test_still_without_a_publisher_is_503_and_a_bad_id_400(relay):
    status, headers, _ = _still(relay, "door")
    assert status == 503 and headers["Retry-After"] == "1"
    assert "door" not in relay.health()["cameras"], "asking for a still created a channel"
    assert _still(relay, "bad.id")[0] == 400


def test_still_follows_a_new_publisher(relay, tmp_path):
    relay.pubs["till"].kill()
    deadline = time.monotonic() + 10
    while relay.health()["cameras"]["till"]["live"]:
        assert time.monotonic() < deadline, "the killed publisher is still live"
        time.sleep(0.2)
    assert _still(relay, "till")[0] == 503
    relay.pubs["till"] = Publisher(relay.http, "256:144", camera="till", pattern=True)
    relay.wait_live("till")
    deadline = time.monotonic() + 10
    while (res := _still(relay, "till"))[0] != 200:
        assert time.monotonic() < deadline, f"no still from the new publisher: {res[2]!r}"
        time.sleep(0.3)
    info = probe(res[2], tmp_path, "till2.jpg")
    assert (info["width"], info["height"]) == (256, 144)
