"""The stream relay on the host with Debian's real ffmpeg (and GStreamer for RTSP): no Docker, no mocks.

Starts stream/relay on free 127.0.0.1 ports, pushes the course video through a real
ffmpeg publisher, then reads every output path and decodes what it gets.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error

import pytest

aiohttp = pytest.importorskip("aiohttp", reason="the relay needs aiohttp (pip install aiohttp)")

from stream_fixture import REPO, VIDEO, Publisher, Relay, get as _get, probe as _probe, rtsp_frames as _rtsp_frames  # noqa: E402


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    if not VIDEO.is_file():
        pytest.fail(f"course video missing: {VIDEO} (set EDGEWATCH_SHARED)")
    r = Relay(tmp_path_factory.mktemp("relay"))
    pub = Publisher(r.http, "768:432")
    relay_info = {"base": r.base, "rtsp": r.rtsp("cam1"), "http": r.http, "pub": pub, "proc": r.proc}
    yield relay_info
    relay_info["pub"].kill()
    r.stop()


def _wait_segments(base: str, n: int, newer_than: str = "", timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    segs: list[str] = []
    while time.monotonic() < deadline:
        try:
            text = _get(base + "/cam1/hls/index.m3u8").decode()
            segs = [l for l in text.splitlines() if l.endswith(".ts") and l > newer_than]
            if len(segs) >= n:
                return segs
        except urllib.error.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"HLS playlist did not get {n} segments in {timeout} s (have {segs})")


async def _read_ws(url: str, seconds: float) -> tuple[bytes, int | None]:
    """Collect the fMP4 messages of the live WebSocket for `seconds`; also return its close code."""
    data = bytearray()
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                try:
                    msg = await ws.receive(timeout=left)
                except asyncio.TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                data += msg.data
            return bytes(data), ws.close_code


def test_hls_playlist_appears_and_segments_decode(relay, tmp_path):
    segs = _wait_segments(relay["base"], 2)
    info = _probe(_get(f"{relay['base']}/cam1/hls/{segs[0]}"), tmp_path, "seg.ts")
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 768, 432)
    assert int(info["nb_read_frames"]) >= 5  # ~1 s segments at 10 fps


def test_live_websocket_yields_decodable_frames(relay, tmp_path):
    ws_url = relay["base"].replace("http:", "ws:") + "/cam1/live.ws"
    data, _ = asyncio.run(_read_ws(ws_url, 2.5))
    info = _probe(data, tmp_path, "live.mp4")
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 768, 432)
    assert int(info["nb_read_frames"]) >= 15  # 2.5 s at 10 fps, starting at the cached keyframe


def test_rtsp_restream_is_readable(relay):
    info = _rtsp_frames(relay["rtsp"], 10)
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 768, 432)
    assert int(info["nb_read_frames"]) >= 10
    # Whole pictures, not just frames: FFmpeg (what most NVRs run) must get one packet per picture.
    # (A keyframe split in two -- same timestamp twice -- decodes as a smeared picture.)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-read_intervals", "%+#30", "-select_streams", "v:0",
         "-show_entries", "packet=pts", "-of", "csv=p=0", relay["rtsp"]],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, out.stderr
    pts = [line.split(",")[0] for line in out.stdout.split() if not line.startswith("N/A")]
    assert len(pts) >= 25 and len(set(pts)) == len(pts), f"repeated timestamps in {pts}"


def test_new_publisher_is_served_without_restarting_the_relay(relay, tmp_path):
    base = relay["base"]
    old_segs = _wait_segments(base, 1)
    relay["pub"].kill()
    # The session ends: health says so, and the HLS playlist stays (no ENDLIST) for players to keep polling.
    deadline = time.monotonic() + 10
    while json.loads(_get(base + "/healthz"))["cameras"]["cam1"]["live"]:
        assert time.monotonic() < deadline, "relay still reports the killed publisher as live"
        time.sleep(0.2)
    # A viewer that connects while nobody publishes waits, then gets the new stream (a smaller size, to tell them apart).
    ws_url = base.replace("http:", "ws:") + "/cam1/live.ws"

    async def viewer_then_publish():
        task = asyncio.create_task(_read_ws(ws_url, 6))
        await asyncio.sleep(0.5)
        # MPEG-TS this time: the relay probes the container, both are accepted.
        relay["pub"] = Publisher(relay["http"], "640:360", ("-f", "mpegts", "-omit_video_pes_length", "0"))
        return await task

    data, _ = asyncio.run(viewer_then_publish())
    info = _probe(data, tmp_path, "live2.mp4")
    assert (info["width"], info["height"]) == (640, 360)
    assert int(info["nb_read_frames"]) >= 10

    segs = _wait_segments(base, 1, newer_than=max(old_segs))
    info = _probe(_get(f"{base}/cam1/hls/{segs[-1]}"), tmp_path, "seg2.ts")
    assert (info["width"], info["height"]) == (640, 360)

    info = _rtsp_frames(relay["rtsp"], 10)
    assert (info["width"], info["height"]) == (640, 360)
    assert json.loads(_get(base + "/healthz"))["cameras"]["cam1"]["publishers"] == 2
    assert relay["proc"].poll() is None


def test_mp4_splitter_cuts_real_ffmpeg_output_into_frames():
    """The splitter on FFmpeg's own fragmented MP4, fed in awkward chunk sizes: one fragment per frame, keyframes marked."""
    sys.path.insert(0, str(REPO / "stream"))
    from relay.mp4 import Mp4Splitter

    data = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(VIDEO), "-t", "2", "-an", "-c:v", "libx264", "-preset", "veryfast",
         "-tune", "zerolatency", "-g", "10", "-bf", "0", "-f", "mp4",
         "-movflags", "empty_moov+default_base_moof+frag_every_frame", "pipe:1"],
        capture_output=True, check=True, timeout=30,
    ).stdout
    sp = Mp4Splitter()
    frags = []
    for i in range(0, len(data), 997):
        frags += sp.feed(data[i:i + 997])
    assert sp.init is not None and sp.init[4:8] == b"ftyp" and b"moov" in sp.init
    assert len(frags) == 20  # 2 s at 10 fps
    assert [i for i, f in enumerate(frags) if f.key] == [0, 10]
    assert sum(len(f.data) for f in frags) + len(sp.init) <= len(data)
