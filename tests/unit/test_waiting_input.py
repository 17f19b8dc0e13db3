"""A missing input with --wait (a service): a demo video is fetched by itself; one that cannot be fetched
is waited for, said once with the file, the URL tried and the folder, and counted as soon as it is copied in.
Without --wait a one-shot run still fails at once with exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

from test_media_fetch import COURSE, mirror  # noqa: F401 - fixture


def _config(tmp_path, media):
    cfg = tmp_path / "one.yaml"
    cfg.write_text(f"source:\n  input: {media / COURSE}\n  reconnect: {{initial_s: 0.5, max_s: 2}}\n")
    return cfg


def test_a_missing_demo_video_is_fetched_and_counted(mirror, tmp_path, worker_env, edgewatch_cli):  # noqa: F811
    media = tmp_path / "media"
    media.mkdir()
    env = {**worker_env, "EDGEWATCH_MEDIA_BASE_URL": mirror.url}
    r = edgewatch_cli(["--wait", "-c", str(_config(tmp_path, media)), "-m", "person-detection-retail-0013",
                       "--summary", "-", "--no-progress"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["total"] == 6
    assert (media / COURSE).stat().st_size == 3291918


def test_an_input_that_cannot_be_fetched_waits_and_starts_when_copied_in(mirror, tmp_path, worker_env, videos):  # noqa: F811
    (mirror.root / COURSE).unlink()  # the published copy is gone (or the host is offline)
    media = tmp_path / "media"
    media.mkdir()
    env = {**worker_env, "EDGEWATCH_MEDIA_BASE_URL": mirror.url}
    proc = subprocess.Popen([sys.executable, "-m", "edgewatch", "--wait", "-c", str(_config(tmp_path, media)),
                             "-m", "person-detection-retail-0013", "--summary", str(tmp_path / "s.json"), "--no-progress"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)  # several back-off rounds
        assert proc.poll() is None, "the worker exited instead of waiting"
        shutil.copyfile(videos / "Pedestrian_Detect_2_1_1.mp4", media / COURSE)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert json.loads((tmp_path / "s.json").read_text())["total"] == 6
    waiting = [line for line in err.splitlines() if "waiting for input" in line]
    assert len(waiting) == 1, err  # said once, not at every try
    assert f"fetching {mirror.url}/{COURSE} failed (HTTP 404 Not Found); copy {COURSE} into {media}" in waiting[0]


def test_without_wait_a_missing_input_fails_at_once(tmp_path, worker_env, edgewatch_cli):
    t0 = time.monotonic()
    r = edgewatch_cli(["-i", str(tmp_path / "missing.mp4"), "-m", "person-detection-retail-0013"], worker_env)
    assert r.returncode == 2 and time.monotonic() - t0 < 30
    assert r.stderr.strip().endswith(f"input not found: {tmp_path / 'missing.mp4'}")


def test_a_worker_waiting_for_its_only_input_is_healthy(tmp_path, worker_env, edgewatch_cli):
    """The container's health check passes while the worker waits (it is up and says `waiting`)."""
    media = tmp_path / "media"
    media.mkdir()
    env = {**worker_env, "EDGEWATCH_MEDIA_BASE_URL": "http://127.0.0.1:9", "EDGEWATCH_HEARTBEAT": str(tmp_path / "beat")}
    proc = subprocess.Popen([sys.executable, "-m", "edgewatch", "--wait", "-c", str(_config(tmp_path, media)),
                             "-m", "person-detection-retail-0013", "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "beat").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        check = edgewatch_cli(["healthcheck", "--max-age", "5"], env)
        assert check.returncode == 0, check.stderr
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
