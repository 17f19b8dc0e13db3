"""`edgewatch models fetch`: the real download code, pointed at a local mirror of ../shared (no internet here)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

NAME = "person-detection-retail-0013"


@pytest.fixture
def mirror(tmp_path):
    """An HTTP server on 127.0.0.1 laid out like the Open Model Zoo storage: <name>/<precision>/<file>."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_downloads_and_verifies(mirror, models_dir, tmp_path, worker_env, edgewatch_cli):
    root, url = mirror
    shutil.copytree(models_dir / NAME, root / NAME)
    dest = tmp_path / "models"
    proc = edgewatch_cli(["models", "fetch", NAME, "--precision", "FP16-INT8", "--dir", str(dest), "--base-url", url],
                         worker_env)
    assert proc.returncode == 0, proc.stderr
    got = dest / NAME / "FP16-INT8" / f"{NAME}.bin"
    assert got.read_bytes() == (models_dir / NAME / "FP16-INT8" / f"{NAME}.bin").read_bytes()
    assert proc.stdout.strip().endswith(f"{NAME}.xml")
    # The fetched model runs: resolved by name from the folder it was fetched into.
    env = {**worker_env, "EDGEWATCH_MODELS": str(dest)}
    proc = edgewatch_cli(["-i", str(models_dir.parent / "videos" / "car-detection.mp4"), "-m", NAME, "--precision",
                          "FP16-INT8"], env)
    assert proc.returncode == 0, proc.stderr


def test_fetch_rejects_a_file_with_the_wrong_checksum(mirror, models_dir, tmp_path, worker_env, edgewatch_cli):
    root, url = mirror
    shutil.copytree(models_dir / NAME, root / NAME)
    tampered = root / NAME / "FP16" / f"{NAME}.bin"
    tampered.chmod(0o644)
    data = bytearray(tampered.read_bytes())
    data[1000] ^= 0xFF
    tampered.write_bytes(bytes(data))
    dest = tmp_path / "models"
    proc = edgewatch_cli(["models", "fetch", NAME, "--dir", str(dest), "--base-url", url], worker_env)
    assert proc.returncode == 2
    assert "checksum mismatch" in proc.stderr and f"{NAME}.bin" in proc.stderr
    assert not (dest / NAME / "FP16" / f"{NAME}.bin").exists()  # never left half-verified in place
    assert not list((dest / NAME / "FP16").glob("*.part"))


def test_fetch_reports_an_unreachable_mirror_and_unknown_names(tmp_path, worker_env, edgewatch_cli):
    proc = edgewatch_cli(["models", "fetch", NAME, "--dir", str(tmp_path), "--base-url", "http://127.0.0.1:9"], worker_env)
    assert proc.returncode == 2 and "download failed" in proc.stderr
    proc = edgewatch_cli(["models", "fetch", "yolo-nonsense", "--dir", str(tmp_path)], worker_env)
    assert proc.returncode == 2 and "unknown model 'yolo-nonsense'" in proc.stderr
    proc = edgewatch_cli(["models", "fetch", NAME, "--precision", "INT1", "--dir", str(tmp_path)], worker_env)
    assert proc.returncode == 2 and "no precision 'INT1'" in proc.stderr


def test_models_list_shows_what_is_on_disk(worker_env, edgewatch_cli):
    proc = edgewatch_cli(["models", "list"], worker_env)
    assert proc.returncode == 0
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(NAME) and " FP16 " in ln)
    assert line.rstrip().endswith("present")


def test_ensure_fetches_the_model_a_site_config_names_once(mirror, models_dir, tmp_path, worker_env, edgewatch_cli):
    """What the container runs before the worker: the model comes from the run's own config, not a guess."""
    root, url = mirror
    shutil.copytree(models_dir / NAME, root / NAME)
    dest = tmp_path / "models"
    dest.mkdir()
    site = tmp_path / "site.yaml"
    site.write_text(f"model: {{name: {NAME}, precision: FP16-INT8}}\n"
                    "cameras:\n  a: {source: {input: /none.mp4}}\n  b: {source: {input: /none.mp4}}\n")
    env = {**worker_env, "EDGEWATCH_MODELS": str(dest), "EDGEWATCH_MODEL_BASE_URL": url}
    proc = edgewatch_cli(["models", "ensure", "-c", str(site), "--no-progress"], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == f"edgewatch: model {NAME} (FP16-INT8) not in {dest}: fetching it"
    assert (dest / NAME / "FP16-INT8" / f"{NAME}.bin").is_file()
    again = edgewatch_cli(["models", "ensure", "-c", str(site)], env)  # present now: nothing to do, nothing said
    assert again.returncode == 0 and again.stderr == ""
