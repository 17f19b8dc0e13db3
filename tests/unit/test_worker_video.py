"""The worker on the real course videos and models: counts and durations against the watched truth."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
TRUTH = json.loads((REPO / "tests/fixtures/pedestrian_truth.json").read_text())


@pytest.fixture(scope="module")
def course_run(videos, worker_env, edgewatch_cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    cfg = out / "edgewatch.yaml"
    # A vertical line near the right edge every person crosses on the way out, and a zone at the table.
    cfg.write_text(
        "camera: course\n"
        "lines:\n  - name: exit\n    points: [[640, 0], [640, 432]]\n"
        "zones:\n  - name: table\n    polygon: [[330, 200], [560, 200], [560, 432], [330, 432]]\n"
    )
    proc = edgewatch_cli(["-i", str(videos / TRUTH["video"]), "-m", "person-detection-retail-0013", "-c", str(cfg),
                          "--summary", str(out / "summary.json"), "-o", str(out / "annotated.mp4")], worker_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "summary.json").read_text()), out, proc


@pytest.mark.slow
def test_unique_total_is_the_true_number_of_people(course_run):
    summary, _, _ = course_run
    assert summary["total"] == TRUTH["total"] == 6
    assert len(summary["tracks"]) == TRUTH["total"]


@pytest.mark.slow
def test_each_stay_is_within_1_5_s_of_the_truth(course_run):
    summary, _, _ = course_run
    for track, person in zip(sorted(summary["tracks"], key=lambda t: t["enter_s"]), TRUTH["people"]):
        truth = person["exit_s"] - person["enter_s"]
        assert abs(track["duration_s"] - truth) <= 1.5, (track, person)
        assert abs(track["enter_s"] - person["enter_s"]) <= 1.5, (track, person)


@pytest.mark.slow
def test_sides_people_came_from_and_left_by(course_run):
    summary, _, _ = course_run
    for track, person in zip(sorted(summary["tracks"], key=lambda t: t["enter_s"]), TRUTH["people"]):
        assert track["enter_side"] == person["enter_side"], track
        assert track["exit_side"] == person["exit_side"], track


@pytest.mark.slow
def test_summary_frames_events_lines_and_zones(course_run):
    summary, _, _ = course_run
    assert summary["frames"] == TRUTH["frames"]
    assert summary["fps"] > 0
    types = [e["type"] for e in summary["events"]]
    assert types.count("person_enter") == 6 and types.count("person_leave") == 6
    leaves = [e for e in summary["events"] if e["type"] == "person_leave"]
    assert all(e["duration_s"] > 5 for e in leaves)
    # Everyone walks left-to-right across the exit line exactly once.
    assert summary["lines"]["exit"]["in"] + summary["lines"]["exit"]["out"] == 6
    assert min(summary["lines"]["exit"].values()) == 0
    assert summary["zones"]["table"]["entered"] >= 6
    assert summary["zones"]["table"]["max_dwell_s"] > 10
    schema = json.loads((REPO / "inference/edgewatch/schemas/event.schema.json").read_text())
    for event in summary["events"]:
        jsonschema.validate({**event, "seq": 1}, schema)  # seq is given by the MQTT publisher


@pytest.mark.slow
def test_annotated_video_has_every_frame(course_run):
    _, out, _ = course_run
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames,codec_name",
                            "-of", "json", str(out / "annotated.mp4")], capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "h264"
    assert int(stream["nb_read_frames"]) == TRUTH["frames"]


def test_car_video_counts_nobody(videos, worker_env, edgewatch_cli, tmp_path):
    proc = edgewatch_cli(["-i", str(videos / "car-detection.mp4"), "-m", "person-detection-retail-0013",
                          "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["total"] == 0 and summary["tracks"] == []
    assert summary["frames"] > 300


def _frame_at(video: Path, second: float, dest: Path) -> Path:
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, second * 1000)
    ok, image = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(dest), image)
    return dest


def test_image_input_counts_the_person_and_writes_an_annotated_image(videos, worker_env, edgewatch_cli, tmp_path):
    image = _frame_at(videos / TRUTH["video"], 30.0, tmp_path / "one.jpg")  # person 2 stands at the table
    proc = edgewatch_cli(["-i", str(image), "-m", "person-detection-retail-0013", "-o", str(tmp_path / "out.jpg"),
                          "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["frames"] == 1 and summary["total"] == 1
    annotated = cv2.imread(str(tmp_path / "out.jpg"))
    assert annotated.shape == cv2.imread(str(image)).shape
    assert (annotated != cv2.imread(str(image))).any()  # boxes and counts were drawn


def test_empty_image_counts_nobody(videos, worker_env, edgewatch_cli, tmp_path):
    image = _frame_at(videos / TRUTH["video"], 2.0, tmp_path / "empty.png")  # before anyone arrives
    proc = edgewatch_cli(["-i", str(image), "-m", "person-detection-retail-0013", "--summary", str(tmp_path / "s.json")],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["total"] == 0


def test_folder_of_images_is_a_sequence(videos, worker_env, edgewatch_cli, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, s in enumerate((28.0, 28.1, 28.2, 28.3, 28.4)):
        _frame_at(videos / TRUTH["video"], s, folder / f"{i:03}.jpg")
    proc = edgewatch_cli(["-i", str(folder), "-m", "person-detection-retail-0013", "--summary", str(tmp_path / "s.json")],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["frames"] == 5 and summary["total"] == 1


def test_raw_frames_on_stdout_for_a_pipe(videos, worker_env, tmp_path):
    image = _frame_at(videos / TRUTH["video"], 30.0, tmp_path / "one.jpg")
    proc = subprocess.run(["python", "-m", "edgewatch", "-i", str(image), "-m", "person-detection-retail-0013", "-o", "-"],
                          env=worker_env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) == 768 * 432 * 3


def test_segmentation_classes_on_the_dashcam(videos, worker_env, edgewatch_cli, tmp_path):
    proc = edgewatch_cli(["-i", str(videos / "road-dashcam.mp4"), "-m", "road-segmentation-adas-0001",
                          "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    shares = summary["segmentation"]
    assert set(shares) <= {"background", "road", "curb", "marking"}
    assert 0.15 < shares["road"] < 0.6  # a dash camera sees road in the lower part of the frame
    assert shares["background"] > shares["road"] > shares.get("marking", 0)
    assert abs(sum(shares.values()) - 1.0) < 0.01
    assert summary["total"] == 0


def test_other_ssd_detector_counts_the_course_video_too(videos, worker_env, edgewatch_cli, tmp_path):
    """pedestrian-detection-adas-0002 shares the SSD adapter; a short clip keeps the test quick."""
    clip = tmp_path / "clip.mp4"
    # Re-encoded so the clip starts exactly at 21 s (a stream copy would start at the key frame before).
    subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", "21", "-t", "26", "-i", str(videos / TRUTH["video"]),
                    "-c:v", "libx264", "-preset", "ultrafast", str(clip)], check=True)
    proc = edgewatch_cli(["-i", str(clip), "-m", "pedestrian-detection-adas-0002", "--summary", str(tmp_path / "s.json")],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["total"] == 1  # person 2 only


def test_nearest_resize_counts_the_course_video_as_the_truth_says(videos, worker_env, edgewatch_cli, tmp_path):
    """model.resize: nearest (the cheaper in-graph scaling) must count exactly as well as the default."""
    cfg = tmp_path / "nearest.yaml"
    cfg.write_text("model:\n  resize: nearest\n")
    proc = edgewatch_cli(["-i", str(videos / TRUTH["video"]), "-m", "person-detection-retail-0013", "-c", str(cfg),
                          "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["total"] == TRUTH["total"]
    for track, person in zip(sorted(summary["tracks"], key=lambda t: t["enter_s"]), TRUTH["people"]):
        assert abs(track["duration_s"] - (person["exit_s"] - person["enter_s"])) <= 1.5, (track, person)
