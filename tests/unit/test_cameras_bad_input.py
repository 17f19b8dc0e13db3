"""A site's config: each mistake is one line naming the camera and the key, exit 2, before any camera starts.
A camera whose input is not there at start waits while the others run (or is fatal with --strict)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

MODEL = "person-detection-retail-0013"


def _write(tmp: Path, text: str) -> Path:
    cfg = tmp / "site.yaml"
    cfg.write_text(text)
    return cfg


def _cams(*entries: str) -> str:
    return f"model: {{name: {MODEL}}}\ncameras:\n" + "".join(entries)


def _cam(cam: str, video: Path, extra: str = "") -> str:
    return f"  {cam}:\n    source: {{input: {video}}}\n{extra}"


CASES = {
    "the same id twice": (lambda v: _cams(_cam("door", v), _cam("till", v), _cam("door", v)),
                          "cameras.door: camera id repeated (lines 3 and 7)"),
    "an id that breaks topics": (lambda v: _cams(_cam("door", v), _cam("till/2", v)),
                                 "cameras: camera id 'till/2' is not usable in topics and paths"),
    "an id with a wildcard": (lambda v: _cams(_cam("door", v), _cam("'#'", v)), "camera id '#' is not usable"),
    "a camera with no input": (lambda v: _cams(_cam("door", v), "  till:\n    detect: {fps: 5}\n"),
                               "config: cameras.till.source.input: camera till has no input"),
    "more than max_cameras": (lambda v: "max_cameras: 2\n" + _cams(_cam("a", v), _cam("b", v), _cam("c", v)),
                              "cameras: 3 cameras, more than max_cameras (2)"),
    "a line outside its camera's frame": (
        lambda v: _cams(_cam("door", v), _cam("till", v, "    lines: [{name: queue, points: [[10, 10], [900, 10]]}]\n")),
        "config: cameras.till.lines.0.points: point (900, 10) of 'queue' is outside camera till’s 768x432 frame"),
    "detect.fps of 0": (lambda v: _cams(_cam("door", v), _cam("till", v, "    detect: {fps: 0}\n")),
                        "cameras.till.detect.fps: Input should be greater than 0"),
    "detect.fps below 0": (lambda v: _cams(_cam("door", v, "    detect: {fps: -5}\n"), _cam("till", v)),
                           "cameras.door.detect.fps: Input should be greater than 0"),
    "detect.fps above the camera's rate": (lambda v: _cams(_cam("door", v), _cam("till", v, "    detect: {fps: 25}\n")),
                                           "config: cameras.till.detect.fps: 25 is above camera till's own rate (10 fps)"),
    "lines at the top of a site": (lambda v: _cams(_cam("door", v)) + "lines: []\n",
                                   "config: lines: with a cameras: mapping it belongs under cameras.<id>"),
}


@pytest.mark.parametrize("name", CASES)
def test_a_bad_site_config_is_one_line_naming_the_camera_and_key(name, tmp_path, videos, worker_env, edgewatch_cli):
    make, expected = CASES[name]
    cfg = _write(tmp_path, make(videos / "Pedestrian_Detect_2_1_1.mp4"))
    proc = edgewatch_cli(["-c", str(cfg), "--summary", str(tmp_path / "s.json")], worker_env, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgewatch: error: "), proc.stderr
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "s.json").exists()  # no camera started


def test_one_camera_flags_are_refused_beside_a_cameras_mapping(tmp_path, videos, worker_env, edgewatch_cli):
    cfg = _write(tmp_path, _cams(_cam("door", videos / "car-detection.mp4")))
    proc = edgewatch_cli(["-c", str(cfg), "-i", "x.mp4"], worker_env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"edgewatch: error: -i/--input or EDGEWATCH_INPUT: {cfg} has a cameras: mapping; "
                                   "set each camera's input there")


def _clip(videos: Path, out: Path, seconds: float) -> Path:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-t", str(seconds), "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                    "-c", "copy", str(out)], check=True)
    return out


def test_a_camera_without_its_input_waits_while_the_others_run_and_starts_when_it_appears(tmp_path, videos, worker_env):
    late = tmp_path / "late.mp4"
    clip = _clip(videos, tmp_path / "clip.mp4", 3)
    cfg = _write(tmp_path, "source: {reconnect: {initial_s: 0.3, max_s: 1}}\n"
                 + _cams(_cam("door", clip), _cam("till", late)))
    proc = subprocess.Popen([sys.executable, "-m", "edgewatch", "-c", str(cfg), "--summary", str(tmp_path / "s.json")],
                            env=worker_env, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()
        assert first.startswith(f"edgewatch: camera till: input not found: {late}; retrying with back-off"), first
        time.sleep(2)
        assert proc.poll() is None  # door's 3 s clip is done; the worker waits for till
        shutil.copy(clip, late)
        rest = proc.communicate(timeout=120)[1]
    finally:
        proc.kill()
    assert proc.returncode == 0, rest
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["cameras"]["door"]["frames"] == summary["cameras"]["till"]["frames"] >= 30
    assert summary["waiting"] == []


def test_with_strict_a_camera_without_its_input_is_fatal(tmp_path, videos, worker_env, edgewatch_cli):
    cfg = _write(tmp_path, _cams(_cam("door", videos / "car-detection.mp4"), _cam("till", tmp_path / "none.mp4")))
    proc = edgewatch_cli(["-c", str(cfg), "--strict"], worker_env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"edgewatch: error: camera till: input not found: {tmp_path / 'none.mp4'}"


def test_cameras_check_prints_each_camera_and_whether_it_is_reachable(tmp_path, videos, worker_env, edgewatch_cli):
    cfg = _write(tmp_path, _cams(_cam("door", videos / "Pedestrian_Detect_2_1_1.mp4"), _cam("cars", videos / "car-detection.mp4"),
                                 _cam("till", "rtsp://127.0.0.1:9/none")))
    proc = edgewatch_cli(["cameras", "check", "-c", str(cfg)], worker_env, timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:4] == ["door", "768x432", "10", "fps"] and "ok" in lines[0]
    assert lines[1].split()[:4] == ["cars", "768x432", "12.5", "fps"] and "ok" in lines[1]
    assert lines[2].startswith("till  unreachable  cannot open stream: rtsp://127.0.0.1:9/none")
