"""Bad input of every kind: one clear line naming the cause, a non-zero exit, before any work starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MODEL = "person-detection-retail-0013"


def _case(tmp: Path, videos: Path, models: Path, name: str) -> tuple[list[str], str]:
    """Build the files for one case; return (args, text the error line must contain)."""
    course = str(videos / "Pedestrian_Detect_2_1_1.mp4")
    if name == "missing path":
        return ["-i", str(tmp / "nope.mp4"), "-m", MODEL], "input not found"
    if name == "zero-byte file":
        (tmp / "empty.mp4").write_bytes(b"")
        return ["-i", str(tmp / "empty.mp4"), "-m", MODEL], "empty file"
    if name == "corrupt video":
        (tmp / "corrupt.mp4").write_bytes(bytes(range(256)) * 400)
        return ["-i", str(tmp / "corrupt.mp4"), "-m", MODEL], "corrupt.mp4"
    if name == "image with a video extension":
        shutil.copy(Path(__file__).resolve().parents[2] / "tests/fixtures/README.md", tmp / "x.txt")
        (tmp / "photo.mp4").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 2000)  # a JPEG header, then nothing
        return ["-i", str(tmp / "photo.mp4"), "-m", MODEL], "photo.mp4"
    if name == "corrupt image":
        (tmp / "bad.jpg").write_bytes(b"not a jpeg at all" * 10)
        return ["-i", str(tmp / "bad.jpg"), "-m", MODEL], "cannot decode image"
    if name == "unsupported URL scheme":
        return ["-i", "ftp://127.0.0.1/cam", "-m", MODEL], "unsupported input URL scheme 'ftp'"
    if name == "empty folder":
        (tmp / "none").mkdir()
        return ["-i", str(tmp / "none"), "-m", MODEL], "no images"
    if name == "xml without its bin":
        (tmp / "m").mkdir()
        shutil.copy(models / MODEL / "FP16" / f"{MODEL}.xml", tmp / "m" / "lonely.xml")
        return ["-i", course, "-m", str(tmp / "m" / "lonely.xml")], "model weights missing"
    if name == "model that is not a model":
        (tmp / "junk.xml").write_text("<net>nonsense</not>")
        (tmp / "junk.bin").write_bytes(b"\0" * 16)
        return ["-i", course, "-m", str(tmp / "junk.xml")], "cannot read model"
    if name == "unknown model name":
        return ["-i", course, "-m", "no-such-model"], "not found"
    if name == "re-identification model as a detector":
        return ["-i", course, "-m", "person-reidentification-retail-0287"], "re-identification model belongs in model.reid"
    if name == "re-identification model forced as a detector":
        return ["-i", course, "-m", "person-reidentification-retail-0287", "--adapter", "detection"], "does not fit the detection adapter"
    if name == "unknown device":
        return ["-i", course, "-m", MODEL, "-d", "NPU9"], "unknown or unavailable device 'NPU9'"
    if name == "threshold out of range":
        return ["-i", course, "-m", MODEL, "-pt", "1.5"], "model.threshold"
    if name == "invalid YAML":
        (tmp / "bad.yaml").write_text("camera: [unclosed\n")
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "bad.yaml")], "not valid YAML"
    if name == "unknown config key":
        (tmp / "k.yaml").write_text("tracker:\n  max_lost: 3\n")
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "k.yaml")], "tracker.max_lost: unknown key"
    if name == "missing config file":
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "none.yaml")], "config file not found"
    if name == "line outside the frame":
        (tmp / "l.yaml").write_text("lines:\n  - name: door\n    points: [[0, 0], [2000, 100]]\n")
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "l.yaml")], "outside the 768x432 frame"
    if name == "zone outside the frame":
        (tmp / "z.yaml").write_text("zones:\n  - name: table\n    polygon: [[0, 0], [100, 0], [100, 900]]\n")
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "z.yaml")], "zones.0.polygon"
    if name == "zone with two points":
        (tmp / "z2.yaml").write_text("zones:\n  - name: t\n    polygon: [[0, 0], [100, 0]]\n")
        return ["-i", course, "-m", MODEL, "-c", str(tmp / "z2.yaml")], "at least three points"
    if name == "bad camera id":
        return ["-i", course, "-m", MODEL, "--camera", "a/b#"], "camera"
    if name == "image output for a video":
        return ["-i", course, "-m", MODEL, "-o", str(tmp / "out.jpg")], "use .mp4"
    if name == "unsupported output type":
        return ["-i", course, "-m", MODEL, "-o", str(tmp / "out.xyz")], "unsupported output file type"
    if name == "output folder missing":
        return ["-i", course, "-m", MODEL, "-o", str(tmp / "no" / "out.mp4")], "output folder does not exist"
    if name == "unsupported video URL":
        return ["-i", course, "-m", MODEL, "-o", "gopher://127.0.0.1/x"], "unsupported video output scheme"
    if name == "no input":
        return ["-m", MODEL], "no input given"
    raise AssertionError(name)


CASES = [
    "missing path", "zero-byte file", "corrupt video", "image with a video extension", "corrupt image",
    "unsupported URL scheme", "empty folder", "xml without its bin", "model that is not a model", "unknown model name",
    "re-identification model as a detector", "re-identification model forced as a detector", "unknown device",
    "threshold out of range", "invalid YAML", "unknown config key", "missing config file", "line outside the frame",
    "zone outside the frame", "zone with two points", "bad camera id", "image output for a video",
    "unsupported output type", "output folder missing", "unsupported video URL", "no input",
]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(name, tmp_path, videos, models_dir, worker_env, edgewatch_cli):
    args, expected = _case(tmp_path, videos, models_dir, name)
    proc = edgewatch_cli([*args, "--summary", str(tmp_path / "summary.json")], worker_env, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("edgewatch: error: ")
    assert expected in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "summary.json").exists()  # failed before any work started


def test_truncated_video_keeps_what_was_gathered(tmp_path, videos, worker_env, edgewatch_cli):
    """A video cut short (fragmented so the cut half still plays) is processed up to the cut, then reported."""
    import subprocess

    whole = tmp_path / "frag.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-t", "50",
                    "-c", "copy", "-movflags", "frag_keyframe+empty_moov", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    proc = edgewatch_cli(["-i", str(cut), "-m", MODEL, "--summary", str(tmp_path / "s.json")], worker_env)
    assert proc.returncode == 0, proc.stderr
    import json

    summary = json.loads((tmp_path / "s.json").read_text())
    assert 50 < summary["frames"] < 500
    assert summary["total"] >= 1  # person 1 walked in during the first 20 s


def test_a_bug_in_the_worker_keeps_what_was_gathered_and_says_so_in_one_line(tmp_path, videos, worker_env):
    """A fault injected into the analytics at frame 200 stands in for a bug: the run still writes its
    summary and state file, prints the trace and one clear line, and exits 1 (not 2: not the user's input),
    without OpenVINO's threads aborting the process on the way out."""
    import json
    import subprocess
    import sys

    (tmp_path / "inject_fault.py").write_text(
        "import edgewatch.analytics as a\n"
        "update, calls = a.Analytics.update, [0]\n"
        "def failing(self, output):\n"
        "    calls[0] += 1\n"
        "    if calls[0] == 200:\n"
        "        raise RuntimeError('injected fault')\n"
        "    return update(self, output)\n"
        "a.Analytics.update = failing\n")
    state = tmp_path / "state.json"
    (tmp_path / "run.yaml").write_text(f"state_file: {state}\n")
    args = ["-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-m", MODEL, "-c", str(tmp_path / "run.yaml"),
            "--summary", str(tmp_path / "s.json"), "--no-progress"]
    proc = subprocess.run([sys.executable, "-c", "import sys, inject_fault; from edgewatch.cli import main; "
                           f"sys.exit(main({args!r}))"], env={**worker_env, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("edgewatch: error: internal error (RuntimeError: injected fault)"), proc.stderr
    assert "Traceback" in proc.stderr and "terminate called" not in proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["frames"] >= 199 and summary["total"] == 1  # person 1 came and went in the first 20 s
    assert json.loads(state.read_text())["analytics"]["people"]["total"] == 1
