"""Many cameras in one worker on one model, with the real model and videos: each counted as if alone;
detection at a lower rate and behind the motion gate still counts right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TRUTH = json.loads((REPO / "tests/fixtures/pedestrian_truth.json").read_text())
MODEL = "person-detection-retail-0013"


def _site(tmp: Path, cameras: dict[str, str], extra: str = "") -> Path:
    body = "".join(f"  {cam}:\n    source: {{input: {path}}}\n" for cam, path in cameras.items())
    cfg = tmp / "site.yaml"
    cfg.write_text(f"model: {{name: {MODEL}}}\n{extra}cameras:\n{body}")
    return cfg


def _stays_match_the_truth(camera_summary: dict) -> None:
    tracks = sorted(camera_summary["tracks"], key=lambda t: t["enter_s"])
    assert camera_summary["total"] == len(tracks) == TRUTH["total"] == 6
    for track, person in zip(tracks, TRUTH["people"], strict=True):
        assert abs(track["duration_s"] - (person["exit_s"] - person["enter_s"])) <= 1.5, (track, person)
        assert abs(track["enter_s"] - person["enter_s"]) <= 1.5, (track, person)


@pytest.fixture(scope="module")
def three_cameras(videos, worker_env, edgewatch_cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("three")
    course, cars = videos / TRUTH["video"], videos / "car-detection.mp4"
    cfg = _site(out, {"course-a": course, "cars": cars, "course-b": course})
    proc = edgewatch_cli(["-c", str(cfg), "--summary", str(out / "s.json"), "--no-progress"], worker_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "s.json").read_text()), proc


@pytest.mark.slow
def test_three_cameras_in_one_worker_count_as_three_separate_runs(three_cameras, videos, worker_env, edgewatch_cli,
                                                                  tmp_path):
    summary, proc = three_cameras
    assert list(summary["cameras"]) == ["course-a", "cars", "course-b"]
    assert summary["frames"] == sum(c["frames"] for c in summary["cameras"].values()) == 2 * TRUTH["frames"] + 377
    _stays_match_the_truth(summary["cameras"]["course-a"])
    _stays_match_the_truth(summary["cameras"]["course-b"])
    assert summary["cameras"]["cars"]["total"] == 0 and summary["cameras"]["cars"]["frames"] == 377
    # The same camera alone: the same tracks, to the frame (each camera's order is kept, frames are not mixed).
    alone = edgewatch_cli(["-i", str(videos / TRUTH["video"]), "-m", MODEL, "--summary", str(tmp_path / "one.json"),
                           "--no-progress"], worker_env)
    assert alone.returncode == 0, alone.stderr
    single = json.loads((tmp_path / "one.json").read_text())
    assert "cameras" not in single and single["camera"] == "cam1"  # one camera keeps the flat summary
    for cam in ("course-a", "course-b"):
        assert summary["cameras"][cam]["tracks"] == single["tracks"]
    for line in ("edgewatch: course-a: 1394 frames", "edgewatch: cars: 377 frames", "edgewatch: course-b: 1394 frames"):
        assert line in proc.stderr


@pytest.mark.slow
def test_each_camera_reports_its_capture_to_publish_latency(three_cameras):
    summary, _ = three_cameras
    for cam in summary["cameras"].values():
        assert 0 < cam["latency_ms_p50"] <= cam["latency_ms_p95"]
        assert cam["skipped_share"] == 0.0


@pytest.mark.slow
def test_detection_at_5_fps_counts_the_course_video_right(videos, worker_env, edgewatch_cli, tmp_path):
    cfg = _site(tmp_path, {"course": videos / TRUTH["video"], "cars": videos / "car-detection.mp4"},
                extra="detect: {fps: 5}\n")
    proc = edgewatch_cli(["-c", str(cfg), "--summary", str(tmp_path / "s.json"), "--no-progress"], worker_env)
    assert proc.returncode == 0, proc.stderr
    course = json.loads((tmp_path / "s.json").read_text())["cameras"]["course"]
    _stays_match_the_truth(course)
    assert course["frames"] == TRUTH["frames"]  # every frame is still handled, half of them held
    assert course["skipped_share"] == pytest.approx(0.5, abs=0.01)
    # With no video out, the frames between detections are only grabbed by the source (no BGR picture, no
    # trip through the worker's loop); with an annotated video every frame is decoded and drawn.
    assert course["skipped_at_source"] == pytest.approx(TRUTH["frames"] / 2, abs=2)
    rate = tmp_path / "rate.yaml"
    rate.write_text("detect: {fps: 5}\n")
    proc = edgewatch_cli(["-i", str(videos / TRUTH["video"]), "-m", MODEL, "-c", str(rate), "-o",
                          str(tmp_path / "course.mp4"), "--summary", str(tmp_path / "v.json"), "--no-progress"],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    drawn = json.loads((tmp_path / "v.json").read_text())
    _stays_match_the_truth(drawn)
    assert drawn["skipped_at_source"] == 0 and drawn["frames"] == TRUTH["frames"]
    assert drawn["skipped_share"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.slow
def test_the_motion_gate_counts_the_course_video_right_and_skips_what_it_reports(videos, worker_env, edgewatch_cli,
                                                                                 tmp_path):
    skipped = {}
    for ignore_standing in ("true", "false"):
        cfg = tmp_path / "one.yaml"
        cfg.write_text(f"detect: {{motion: true, idle_s: 2, ignore_standing: {ignore_standing}}}\n")
        proc = edgewatch_cli(["-i", str(videos / TRUTH["video"]), "-m", MODEL, "-c", str(cfg), "-v",
                              "--summary", str(tmp_path / "s.json"), "--no-progress"], worker_env)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads((tmp_path / "s.json").read_text())
        _stays_match_the_truth(summary)
        assert summary["events"] and sum(e["type"] == "person_enter" for e in summary["events"]) == 6
        skipped[ignore_standing] = summary["skipped_share"]
    # The empty room before, between and after the visitors: a real share of frames needs no detector.
    assert 0.2 <= skipped["false"] < 1.0
    # The visitors stand at the counter a while: their gestures need no detector either (0.74 against 0.61).
    assert skipped["true"] >= skipped["false"] + 0.05, skipped


@pytest.mark.slow
def test_a_camera_with_more_frames_than_its_share_cannot_starve_the_others(videos, worker_env, edgewatch_cli, tmp_path):
    """One camera is a file read as fast as it decodes (it alone could fill every request); the other two
    deliver 10 frames a second like cameras. Those two keep every frame; the fast one takes what is left."""
    course = videos / TRUTH["video"]
    cfg = tmp_path / "site.yaml"
    cfg.write_text(f"model: {{name: {MODEL}}}\ncameras:\n"
                   f"  flood:\n    source: {{input: {course}}}\n"
                   f"  door:\n    source: {{input: {course}, realtime: true}}\n"
                   f"  till:\n    source: {{input: {course}, realtime: true}}\n")
    proc = edgewatch_cli(["-c", str(cfg), "--summary", str(tmp_path / "s.json"), "--no-progress"], worker_env)
    assert proc.returncode == 0, proc.stderr
    cams = json.loads((tmp_path / "s.json").read_text())["cameras"]
    for cam in ("door", "till"):
        assert cams[cam]["dropped"] == 0 and cams[cam]["frames"] == TRUTH["frames"], (cam, cams[cam]["dropped"])
        assert cams[cam]["latency_ms_p95"] < 500, cams[cam]["latency_ms_p95"]
        _stays_match_the_truth(cams[cam])
    assert cams["flood"]["frames"] == TRUTH["frames"] and cams["flood"]["fps"] > 2 * cams["door"]["fps"]


def test_several_cameras_decode_with_one_ffmpeg_thread_each_and_one_camera_with_ffmpegs_own(videos):
    """With several cameras the cores are shared by running cameras side by side (build.open_sources)."""
    import cv2

    from edgewatch.cameras.build import open_sources
    from edgewatch.config import validate

    course = str(videos / TRUTH["video"])
    for cameras, threads in (({"a": course, "b": course}, 1), ({"a": course}, 0)):
        cfg = validate({"model": {"name": MODEL}, "cameras": {c: {"source": {"input": p}} for c, p in cameras.items()}})
        slots = open_sources(cfg, strict=True)
        try:
            for slot in slots.values():
                assert slot.source.decode_threads == threads
                if threads:
                    assert slot.source.reader.cap.get(cv2.CAP_PROP_N_THREADS) == threads
        finally:
            for slot in slots.values():
                slot.close()


def test_wall_time_and_fps_count_from_when_the_frames_start_not_from_when_the_worker_was_built(videos, models_dir,
                                                                                              tmp_path, monkeypatch):
    """With dozens of cameras, building them all takes seconds; those are not the cameras' running time."""
    import subprocess
    import time

    import cv2

    from edgewatch.config import validate
    from edgewatch.worker import Worker, prepare

    monkeypatch.setenv("EDGEWATCH_MODELS", str(models_dir))
    clip = tmp_path / "short.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-t", "1", "-i", str(videos / TRUTH["video"]), "-c", "copy",
                    str(clip)], check=True)
    frames = int(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT))
    cfg = validate({"model": {"name": MODEL}, "cameras": {c: {"source": {"input": str(clip)}} for c in ("a", "b")}})
    worker = Worker(cfg, prepare(cfg), progress=False)
    time.sleep(3.0)  # as if building many more cameras
    worker.run()
    summary = worker.finish().summary
    for cam in summary["cameras"].values():
        assert cam["frames"] == frames and cam["wall_s"] < 3.0, cam["wall_s"]
    assert summary["fps"] > 2 * frames / 3.0
