"""The stream relay on the host with Debian's real ffmpeg (and GStreamer for RTSP): no Docker, no mocks.

Starts stream/relay on free 127.0.0.1 ports, pushes the course video through a real
ffmpeg publisher, then reads every output path and decodes what it gets.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

aiohttp = pytest.importorskip("aiohttp", reason="the relay needs aiohttp (pip install aiohttp)")

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"
# GStreamer's RTSP server needs PyGObject, which comes with Debian's python3, not with pip.
GI_PYTHON = os.environ.get("STREAM_RTSP_PYTHON", "/usr/bin/python3")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _probe(data: bytes, tmp: Path, name: str) -> dict:
    """Decode every frame of `data` with ffprobe; return the stream's width, height and decoded frame count."""
    f = tmp / name
    f.write_bytes(data)
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(f)],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    streams = json.loads(out.stdout)["streams"]
    assert streams, f"{name}: no video stream"
    return streams[0]


class Publisher:
    """The worker's side: real ffmpeg encoding the course video in real time and POSTing it (FLV or MPEG-TS)."""

    def __init__(self, port: int, size: str, fmt: tuple[str, ...] = ("-f", "flv")) -> None:
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(VIDEO),
             "-t", "40", "-an", "-vf", f"scale={size}", "-c:v", "libx264", "-preset", "veryfast",
             "-tune", "zerolatency", "-g", "10", "-bf", "0", "-b:v", "800k", "-pix_fmt", "yuv420p",
             "-flush_packets", "1", *fmt, f"http://127.0.0.1:{port}/ingest/cam1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # as a crashing worker would: no clean end of stream
        self.proc.wait(5)


@pytest.fixture(scope="module")
def relay(tmp_path_factory):
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed (apt-get install ffmpeg)")
    if not VIDEO.is_file():
        pytest.fail(f"course video missing: {VIDEO} (set EDGEWATCH_SHARED)")
    hls = tmp_path_factory.mktemp("hls")
    log = (tmp_path_factory.mktemp("log") / "relay.log").open("w+")
    http, rtsp = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "relay", "--host", "127.0.0.1", "--port", str(http), "--rtsp-port", str(rtsp),
         "--rtsp-python", GI_PYTHON, "--rtsp-cameras", "cam1", "--hls-dir", str(hls)],
        cwd=REPO / "stream", stdout=subprocess.DEVNULL, stderr=log,
    )

    def log_tail() -> str:
        log.flush()
        log.seek(0)
        return log.read()[-3000:]

    base = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if json.loads(_get(base + "/healthz", 1))["rtsp"]["running"]:
                break
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"relay did not become healthy:\n{log_tail()}")
        time.sleep(0.2)
    pub = Publisher(http, "768:432")
    relay_info = {"base": base, "rtsp": f"rtsp://127.0.0.1:{rtsp}/cam1", "http": http, "pub": pub, "proc": proc}
    yield relay_info
    relay_info["pub"].kill()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"relay did not stop on SIGTERM:\n{log_tail()}")


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


def _rtsp_frames(url: str, frames: int) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames", "-read_intervals", f"%+#{frames}",
         "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", url],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, f"ffprobe {url}: {out.stderr}"
    return json.loads(out.stdout)["streams"][0]


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
