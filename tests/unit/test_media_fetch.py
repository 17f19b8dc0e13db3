"""`edgewatch media fetch` / `list`: the real download code against a local HTTP server serving ../shared's
videos under their published names (no internet here): a good download lands and is used, a wrong
checksum, a connection cut mid-file and a 404 leave nothing behind and say so in one line."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

COURSE = "one-by-one-person-detection.mp4"
CARS = "car-detection.mp4"


class Mirror:
    """The published files on 127.0.0.1; `cut` names files sent only half (with their full length declared)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cut: set[str] = set()
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = mirror.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404, "Not Found")
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if path.name in mirror.cut else data)
                if path.name in mirror.cut:
                    self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def mirror(tmp_path, videos):
    root = tmp_path / "published"
    root.mkdir()
    shutil.copyfile(videos / "Pedestrian_Detect_2_1_1.mp4", root / COURSE)  # the same bytes, upstream's name
    shutil.copyfile(videos / CARS, root / CARS)
    m = Mirror(root)
    yield m
    m.server.shutdown()


def fetch(edgewatch_cli, env, mirror, dest, *names):
    return edgewatch_cli(["media", "fetch", *names, "--dir", str(dest), "--base-url", mirror.url], env)


def test_a_good_download_lands_and_is_used(mirror, tmp_path, worker_env, edgewatch_cli, videos):
    dest = tmp_path / "media"
    r = fetch(edgewatch_cli, worker_env, mirror, dest)
    assert r.returncode == 0, r.stderr
    assert (dest / COURSE).read_bytes() == (videos / "Pedestrian_Detect_2_1_1.mp4").read_bytes()
    assert (dest / CARS).stat().st_size == 2811553
    assert sorted(p.name for p in dest.iterdir()) == [CARS, COURSE]  # no temporary file left
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in dest.iterdir())  # readable by the container's user
    listed = edgewatch_cli(["media", "list"], {**worker_env, "EDGEWATCH_MEDIA": str(dest)})
    assert listed.returncode == 0 and "CC BY 4.0" in listed.stdout
    assert all(" ok " in line for line in listed.stdout.splitlines()[1:]), listed.stdout
    # And used: the worker counts the fetched course video's six people.
    run = edgewatch_cli(["-i", str(dest / COURSE), "-m", "person-detection-retail-0013", "--summary", "-"], worker_env)
    assert run.returncode == 0 and '"total": 6' in run.stdout, run.stderr


def test_a_wrong_checksum_is_refused_and_leaves_nothing(mirror, tmp_path, worker_env, edgewatch_cli):
    data = bytearray((mirror.root / CARS).read_bytes())
    data[5000] ^= 0xFF
    (mirror.root / CARS).write_bytes(bytes(data))
    dest = tmp_path / "media"
    r = fetch(edgewatch_cli, worker_env, mirror, dest, CARS)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]  # one line
    assert f"checksum mismatch for {mirror.url}/{CARS}" in r.stderr
    assert not list(dest.iterdir())


def test_a_cut_connection_leaves_nothing_and_the_next_try_succeeds(mirror, tmp_path, worker_env, edgewatch_cli):
    mirror.cut.add(COURSE)
    dest = tmp_path / "media"
    r = fetch(edgewatch_cli, worker_env, mirror, dest, COURSE)
    assert r.returncode == 2
    assert f"download failed for {mirror.url}/{COURSE}" in r.stderr, r.stderr
    assert not list(dest.iterdir())
    mirror.cut.clear()
    r = fetch(edgewatch_cli, worker_env, mirror, dest, COURSE)
    assert r.returncode == 0, r.stderr
    assert (dest / COURSE).stat().st_size == 3291918


def test_a_404_is_one_clear_line(mirror, tmp_path, worker_env, edgewatch_cli):
    (mirror.root / CARS).unlink()
    dest = tmp_path / "media"
    r = fetch(edgewatch_cli, worker_env, mirror, dest, CARS)
    assert r.returncode == 2
    assert r.stderr.strip() == f"edgewatch: error: download failed for {mirror.url}/{CARS}: HTTP 404 Not Found"
    r = edgewatch_cli(["media", "fetch", "nope.mp4", "--dir", str(dest)], worker_env)
    assert r.returncode == 2 and "unknown media 'nope.mp4': known media are car-detection.mp4, " in r.stderr


def test_an_offline_host_copies_from_a_folder_whatever_the_names(tmp_path, worker_env, edgewatch_cli, videos):
    # ../shared's videos folder: the course video under another name, and a third video the catalogue lacks.
    dest = tmp_path / "media"
    r = edgewatch_cli(["media", "fetch", "--dir", str(dest), "--from", str(videos)], worker_env)
    assert r.returncode == 0, r.stderr
    assert (dest / COURSE).read_bytes() == (videos / "Pedestrian_Detect_2_1_1.mp4").read_bytes()
    assert (dest / CARS).read_bytes() == (videos / CARS).read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [CARS, COURSE]
    # A folder without the file: one line naming it, the folder and its checksum; nothing left behind.
    empty = tmp_path / "stick"
    empty.mkdir()
    (empty / CARS).write_bytes(b"not the video")
    other = tmp_path / "other"
    r = edgewatch_cli(["media", "fetch", CARS, "--dir", str(other), "--from", str(empty)], worker_env)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"edgewatch: error: {CARS} is not in {empty}: no file there has its 2811553 bytes "
                                "and sha256 d31e0ebf194c…")
    assert not other.exists() or not list(other.iterdir())
    r = edgewatch_cli(["media", "fetch", "--dir", str(other), "--from", str(tmp_path / "nowhere")], worker_env)
    assert r.returncode == 2 and f"media source {tmp_path / 'nowhere'} is not a folder" in r.stderr


def test_models_copy_from_a_models_folder(tmp_path, worker_env, edgewatch_cli, models_dir):
    dest = tmp_path / "models"
    r = edgewatch_cli(["models", "fetch", "person-detection-retail-0013", "--dir", str(dest), "--from", str(models_dir)],
                      worker_env)
    assert r.returncode == 0, r.stderr
    xml = dest / "person-detection-retail-0013" / "FP16" / "person-detection-retail-0013.xml"
    assert xml.read_bytes() == (models_dir / "person-detection-retail-0013" / "FP16" / xml.name).read_bytes()
