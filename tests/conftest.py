"""Shared fixtures: the real models and videos of ../shared, a real Mosquitto (mosquitto_fixture)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mosquitto_fixture import mosquitto, mosquitto_factory, mqtt_subscriber  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared() -> Path:
    if not (SHARED / "models").is_dir():
        pytest.fail(f"test assets not found at {SHARED} (set EDGEWATCH_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def videos(shared: Path) -> Path:
    return shared / "videos"


@pytest.fixture(scope="session")
def models_dir(shared: Path) -> Path:
    return shared / "models"


@pytest.fixture(scope="session")
def worker_env(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for running the real `edgewatch` command: models from ../shared, a private cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_")}
    env["EDGEWATCH_MODELS"] = str(models_dir)
    env["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    env["HOME"] = str(tmp_path_factory.mktemp("home"))
    return env


def run_edgewatch(args: list[str], env: dict[str, str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgewatch", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)


@pytest.fixture(scope="session")
def edgewatch_cli():
    return run_edgewatch


EVAL_PYTHON = REPO / ".venv-eval" / "bin" / "python"


@pytest.fixture(scope="session")
def eval_python() -> Path:
    """The evaluation venv (edgewatch[eval]: trackers brings opencv-python, so it is kept apart from the
    worker's headless OpenCV); tests/run makes it."""
    if not EVAL_PYTHON.exists():
        pytest.fail(f"evaluation venv not found at {EVAL_PYTHON.parent.parent} (bash tests/run makes it)")
    return EVAL_PYTHON


@pytest.fixture(scope="session")
def crowd3(worker_env: dict[str, str]) -> Path:
    """A generated crowded clip (bench/crowd.py): up to 3 people at once, 20 s, with its exact truth.
    Kept in artifacts/ between runs (remade when the generator changes)."""
    sys.path.insert(0, str(REPO / "bench"))
    import crowd

    out = Path(os.environ.get("EDGEWATCH_ARTIFACTS", REPO / "artifacts")) / "crowd"
    saved = dict(os.environ)
    os.environ.update({k: worker_env[k] for k in ("EDGEWATCH_MODELS", "XDG_CACHE_HOME")})
    try:
        return crowd.make_clip(3, out, seconds=20.0)
    finally:
        os.environ.clear()
        os.environ.update(saved)
