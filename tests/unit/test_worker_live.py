"""Live sources and live video out, with real FFmpeg on 127.0.0.1: a camera that drops, a relay that comes late."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _camera(video: Path, port: int, start_s: float) -> subprocess.Popen:
    """A network camera: FFmpeg serving the course video as MPEG-TS over HTTP at its own frame rate."""
    return subprocess.Popen(["ffmpeg", "-loglevel", "error", "-re", "-ss", str(start_s), "-i", str(video), "-c", "copy",
                             "-f", "mpegts", "-listen", "1", f"http://127.0.0.1:{port}/cam"],
                            stdin=subprocess.DEVNULL)


def _wait_event(summary_log: list[str], proc: subprocess.Popen, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if line:
            summary_log.append(line)
            if text in line:
                return
        elif proc.poll() is not None:
            break
    raise AssertionError(f"{text!r} not seen; worker said: {''.join(summary_log[-20:])}")


@pytest.mark.slow
def test_a_camera_that_drops_is_reopened_and_the_count_kept(videos, worker_env, tmp_path):
    video = videos / "Pedestrian_Detect_2_1_1.mp4"
    port = free_port()
    camera = _camera(video, port, 4.0)  # person 1 walks in 2 s after we join
    cfg = tmp_path / "live.yaml"
    cfg.write_text("source:\n  reconnect:\n    initial_s: 0.5\n    max_s: 2\n")
    worker = subprocess.Popen([sys.executable, "-m", "edgewatch", "-i", f"http://127.0.0.1:{port}/cam", "-c", str(cfg),
                               "-m", "person-detection-retail-0013", "--summary", str(tmp_path / "s.json"), "-v"],
                              env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    try:
        _wait_event(log, worker, "event person_enter", 60)
        camera.kill()  # the camera drops for a few seconds
        camera.wait()
        _wait_event(log, worker, "event source_lost", 30)
        time.sleep(3)
        camera = _camera(video, port, 23.0)  # back, person 2 arriving
        _wait_event(log, worker, "event source_restored", 30)
        _wait_event(log, worker, "event person_enter", 60)
        worker.send_signal(signal.SIGTERM)  # docker stop: a clean shutdown
        worker.communicate(timeout=60)
    finally:
        worker.kill()
        camera.kill()
    assert worker.returncode == 0, "".join(log)
    summary = json.loads((tmp_path / "s.json").read_text())
    types = [e["type"] for e in summary["events"]]
    assert "source_lost" in types and "source_restored" in types
    assert types.index("source_lost") < types.index("source_restored")
    assert summary["total"] == 2  # person 1 from before the drop is still counted


def test_video_goes_to_a_relay_that_starts_late(videos, worker_env, tmp_path):
    """-o tcp://...: FFmpeg retries with back-off until the relay listens; what arrives is decodable H.264."""
    port = free_port()
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", "25", "-t", "30", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                    "-c", "copy", str(clip)], check=True)
    worker = subprocess.Popen([sys.executable, "-m", "edgewatch", "-i", str(clip), "--realtime", "-m",
                               "person-detection-retail-0013", "-o", f"tcp://127.0.0.1:{port}"],
                              env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # the relay is not there yet
    received = tmp_path / "relay.ts"
    relay = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-i", f"tcp://127.0.0.1:{port}?listen=1", "-c", "copy",
                              "-f", "mpegts", str(received)])
    try:
        _, err = worker.communicate(timeout=120)
        relay.wait(timeout=30)
    finally:
        worker.kill()
        relay.kill()
    assert worker.returncode == 0, err
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(received)],
                           capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 768, 432)
    assert 100 < int(stream["nb_read_frames"]) <= 300  # the frames after the relay came up, at 10 fps


def test_on_event_policy_sends_video_only_around_people(videos, worker_env, edgewatch_cli, tmp_path):
    clip = tmp_path / "clip.mp4"  # 15 s empty, then person 2 walks in at 22.7 s
    subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", "45.5", "-t", "15", "-i",
                    str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-c", "copy", str(clip)], check=True)
    out = tmp_path / "events.mp4"
    proc = edgewatch_cli(["-i", str(clip), "-m", "person-detection-retail-0013", "-o", str(out), "--video-policy",
                          "on-event"], worker_env)
    assert proc.returncode == 0, proc.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames",
                            "-of", "csv=p=0", str(out)], capture_output=True, text=True, check=True)
    frames = int(probe.stdout.strip())
    assert 60 < frames <= 150 - 35  # person 3 enters at 50.2 s: the empty first 4.7 s are not sent


def test_video_reaches_the_real_stream_relay_and_survives_its_restart(videos, worker_env, tmp_path):
    """-o http://relay/ingest/cam: the worker's FLV arrives at stream/relay; after the relay restarts the worker
    reconnects by itself (FFmpeg restarted with back-off) and the relay serves video again."""
    import urllib.request

    repo = Path(__file__).resolve().parents[2]
    port, rtsp = free_port(), free_port()

    def start_relay() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "relay", "--host", "127.0.0.1", "--port", str(port),
                                 "--rtsp-port", str(rtsp), "--rtsp-python", "/usr/bin/python3",
                                 "--hls-dir", str(tmp_path / "hls")], cwd=repo / "stream",
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def received() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                cam = json.loads(r.read()).get("cameras", {}).get("cam1") or {}
        except OSError:
            return -1
        return int(cam.get("bytes_in", 0)) if cam.get("live") else 0

    def wait_bytes(minimum: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = received()
            if got >= minimum:
                return got
            time.sleep(0.5)
        raise AssertionError(f"relay received {received()} bytes, wanted {minimum}")

    relay = start_relay()
    worker = subprocess.Popen([sys.executable, "-m", "edgewatch", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                               "--realtime", "-m", "person-detection-retail-0013", "-o", f"http://127.0.0.1:{port}/ingest/cam1"],
                              env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_bytes(50_000, 60)
        relay.terminate()
        relay.wait(10)
        time.sleep(2)
        relay = start_relay()
        wait_bytes(50_000, 60)  # the new relay process counts from zero: this is video sent after the restart
    finally:
        worker.terminate()
        relay.terminate()
        worker.wait(30)
        relay.wait(10)
