"""The stream relay on the host for tests: started on free 127.0.0.1 ports, pushed to by real FFmpeg
publishers, its outputs read and decoded with ffprobe. Used by test_stream_relay.py and test_stream_cameras.py."""

from __future__ import annotations

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

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"
# GStreamer's RTSP server needs PyGObject, which comes with Debian's python3, not with pip.
GI_PYTHON = os.environ.get("STREAM_RTSP_PYTHON", "/usr/bin/python3")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def probe(data: bytes, tmp: Path, name: str) -> dict:
    """Decode every frame of `data` with ffprobe; return the stream's codec, width, height and decoded frame count."""
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


def rtsp_frames(url: str, frames: int) -> dict:
    """Read `frames` frames from an RTSP URL over TCP with ffprobe (FFmpeg: what most NVRs run)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames", "-read_intervals", f"%+#{frames}",
         "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", url],
        capture_output=True, text=True, timeout=20,
    )
    assert out.returncode == 0, f"ffprobe {url}: {out.stderr}"
    return json.loads(out.stdout)["streams"][0]


class Publisher:
    """The worker's side: real ffmpeg encoding in real time and POSTing to /ingest/<camera> (FLV or MPEG-TS).

    Source: the course video scaled to `size`, or with `pattern=True` FFmpeg's test pattern (cheap to encode).
    """

    def __init__(self, port: int, size: str, fmt: tuple[str, ...] = ("-f", "flv"), camera: str = "cam1",
                 pattern: bool = False) -> None:
        if pattern:
            src = ["-re", "-f", "lavfi", "-i", f"testsrc2=size={size.replace(':', 'x')}:rate=10"]
        else:
            src = ["-re", "-stream_loop", "-1", "-i", str(VIDEO), "-vf", f"scale={size}"]
        self.proc = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", *src,
             "-t", "40", "-an", "-c:v", "libx264", "-preset", "veryfast",
             "-tune", "zerolatency", "-g", "10", "-bf", "0", "-b:v", "800k", "-pix_fmt", "yuv420p",
             "-flush_packets", "1", *fmt, f"http://127.0.0.1:{port}/ingest/{camera}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()  # as a crashing worker would: no clean end of stream
        self.proc.wait(5)


class Relay:
    """`python -m relay` from stream/ with HTTP and RTSP on free loopback ports; healthy when started."""

    def __init__(self, tmp: Path) -> None:
        if shutil.which("ffmpeg") is None:
            pytest.fail("ffmpeg is not installed (apt-get install ffmpeg)")
        self.http, self.rtsp_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.http}"
        self._log = (tmp / "relay.log").open("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "--host", "127.0.0.1", "--port", str(self.http),
             "--rtsp-port", str(self.rtsp_port), "--rtsp-python", GI_PYTHON, "--hls-dir", str(tmp / "hls")],
            cwd=REPO / "stream", stdout=subprocess.DEVNULL, stderr=self._log,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.health()["rtsp"]["running"]:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"relay did not become healthy:\n{self.log_tail()}")
            time.sleep(0.2)

    def rtsp(self, cam: str) -> str:
        return f"rtsp://127.0.0.1:{self.rtsp_port}/{cam}"

    def health(self) -> dict:
        return json.loads(get(self.base + "/healthz", 2))

    def wait_live(self, cam: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not self.health()["cameras"].get(cam, {}).get("live"):
            assert time.monotonic() < deadline, f"camera {cam} not live within {timeout} s:\n{self.log_tail()}"
            time.sleep(0.2)

    def log_tail(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-3000:]

    def stop(self) -> None:
        """SIGTERM, as `docker stop` sends; fails the test if the relay does not end."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"relay did not stop on SIGTERM:\n{self.log_tail()}")
