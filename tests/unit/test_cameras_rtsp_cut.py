"""One camera's RTSP source cut for 10 s: that camera reports the loss and comes back by itself; the
worker's other cameras keep every frame at their rate meanwhile. A real RTSP server (the relay's
GStreamer one, fed by real FFmpeg), the real model, real videos, all on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("aiohttp", reason="the relay needs aiohttp (pip install aiohttp)")

from stream_fixture import Publisher, Relay  # noqa: E402

CUT_S = 10.0


class Lines:
    """The worker's stderr, read on a thread so it never blocks the worker."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()

    def wait(self, text: str, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return time.monotonic()
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen within {timeout} s; worker said: {''.join(self.lines[-20:])}")


@pytest.mark.slow
def test_an_rtsp_camera_cut_leaves_the_other_cameras_at_their_rate(videos, worker_env, tmp_path):
    relay = Relay(tmp_path)
    pub = Publisher(relay.http, "768:432", camera="door")
    worker = None
    try:
        relay.wait_live("door")
        cfg = tmp_path / "site.yaml"
        cfg.write_text(
            "model: {name: person-detection-retail-0013}\n"
            "source: {realtime: true, loop: true, reconnect: {initial_s: 0.5, max_s: 2}}\n"
            "cameras:\n"
            f"  door:\n    source: {{input: '{relay.rtsp('door')}'}}\n"
            f"  aisle:\n    source: {{input: '{videos / 'Pedestrian_Detect_2_1_1.mp4'}'}}\n"
            f"  road:\n    source: {{input: '{videos / 'car-detection.mp4'}'}}\n")
        worker = subprocess.Popen([sys.executable, "-m", "edgewatch", "-c", str(cfg), "-v", "--no-progress",
                                   "--summary", str(tmp_path / "s.json")], env=worker_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        log = Lines(worker)
        time.sleep(12)  # the model loaded, every camera running for a while
        assert worker.poll() is None, "".join(log.lines)
        pub.kill()  # the camera goes dark
        cut_at = time.monotonic()
        log.wait("door: event source_lost", 30)
        time.sleep(max(0.0, cut_at + CUT_S - time.monotonic()))
        pub = Publisher(relay.http, "768:432", camera="door")
        log.wait("door: event source_restored", 60)
        time.sleep(3)
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        pub.kill()
        relay.stop()
    assert worker.returncode == 0, "".join(log.lines[-20:])
    cams = json.loads((tmp_path / "s.json").read_text())["cameras"]
    for cam, fps in (("aisle", 10.0), ("road", 12.5)):
        kept = cams[cam]["frames"] / (cams[cam]["wall_s"] * fps)
        assert kept >= 0.95 and cams[cam]["dropped"] == 0, (cam, kept, cams[cam]["dropped"])
    types = [e["type"] for e in cams["door"]["events"]]
    assert types.index("source_lost") < types.index("source_restored"), types
    assert all(e["type"] not in ("source_lost", "source_restored") for c in ("aisle", "road") for e in cams[c]["events"])
