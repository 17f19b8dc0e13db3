"""bench/replay.py (the worker's analytics on saved detections, to try tracker changes in seconds) gives
the worker's own figures on the same detections, with and without re-id."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import REPO


@pytest.mark.parametrize("reid", [False, True])
def test_replay_gives_the_workers_figures(eval_python, worker_env, crowd3, tmp_path, reid):
    out = tmp_path / "acc"
    (out / "clips").mkdir(parents=True)
    (out / "clips" / "crowd3").symlink_to(crowd3)
    run = out / "crowd3"
    run.mkdir()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text((crowd3 / "lines.yaml").read_text() + ("model:\n  reid: {reentry: false}\n" if reid else ""))
    worker = subprocess.run([str(eval_python), "-m", "edgewatch", "-i", str(crowd3 / "video.mp4"), "-c", str(cfg),
                             "-m", "person-detection-retail-0013", "--detections", str(run / "detections-reid.txt"),
                             "--tracks", str(tmp_path / "tracks.txt"), "--summary", str(tmp_path / "summary.json"),
                             "--no-progress"], env=worker_env, capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stderr
    r = subprocess.run([str(eval_python), str(REPO / "bench" / "replay.py"), "--out", str(out), "--json",
                        str(tmp_path / "replay.json"), "--why", "--handovers", *([] if reid else ["--no-reid"])],
                       env=worker_env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (got,) = json.loads((tmp_path / "replay.json").read_text())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert got["lines"] == summary["lines"] and got["unique"] == summary["total"]
    # --why lists each true crossing missed and each counted one the truth has not: as many as the counts say
    listed = r.stdout.splitlines()
    missed = sum(line.startswith("  missed ") for line in listed)
    wrong = sum(line.startswith("  counted ") for line in listed)
    assert missed - wrong == got["under"] - got["over"]
    assert sum(c["in"] + c["out"] for c in got["lines"].values()) > 0  # people did cross
    # --handovers sorts every line hand-over: one true person, two, or not to be told
    total = re.fullmatch(r"hand-overs (\d+): (\d+) joined one true person, (\d+) two, (\d+) unknown", listed[-1])
    assert total is not None, listed[-1]
    n, right, wrong_, unknown = map(int, total.groups())
    assert right + wrong_ + unknown == n
    # the same people in the same frames (boxes differ by the detections file's rounding to 0.01 px)
    worker_rows = sorted(tuple(line.split(",")[:2]) for line in (tmp_path / "tracks.txt").read_text().splitlines())
    replay_rows = sorted(tuple(line.split(",")[:2])
                         for line in (run / ("replay-reid.txt" if reid else "replay.txt")).read_text().splitlines())
    assert replay_rows == worker_rows


@pytest.mark.parametrize("script", ["replay", "accuracy"])
def test_a_bad_tracker_setting_ends_the_bench_with_one_line(eval_python, worker_env, tmp_path, script):
    """Both benches take --tracker as `edgewatch evaluate` does, checked as the config's tracker section."""
    r = subprocess.run([str(eval_python), str(REPO / "bench" / f"{script}.py"), "--out", str(tmp_path),
                        "--tracker", "min_hits=2,unpaired_cost=9"], env=worker_env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"{script}: --tracker: tracker.unpaired_cost: Input should be less than or "
                                     "equal to 5"]
    assert not (tmp_path / "clips").exists()  # nothing made before the settings were checked
