"""`scripts/fetch-assets.sh --from DIR`: an offline host fills the worker's empty model and media volumes from a
folder in one command (the way docs/deploy.md says), in a compose project of its own, with the worker image the
stack was built with. Needs Docker and that image (CI builds it in .ci/stack.sh before the integration tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", REPO.parent / "shared"))
MODEL = "person-detection-retail-0013"


@pytest.fixture
def project(stack):  # the stack fixture: Docker is there and the images are built
    name = f"edgewatch-assets-{uuid.uuid4().hex[:8]}"
    yield name
    subprocess.run(["docker", "compose", "-p", name, "down", "-v", "--remove-orphans"], cwd=REPO,
                   capture_output=True, timeout=120)


def _env(project: str) -> dict[str, str]:
    """A new user's shell: the stack's test settings (host folders, mirrors, compose files) left out."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EDGEWATCH_", "COMPOSE_")) or k in ("EDGEWATCH_TAG", "EDGEWATCH_BUILD_CA")}
    return {**env, "COMPOSE_PROJECT_NAME": project}


def test_an_offline_host_fills_the_volumes_from_a_folder_in_one_command(project, tmp_path):
    stick = tmp_path / "stick"  # what an integrator brings: the config's model and the videos, named as they were
    shutil.copytree(SHARED / "models" / MODEL / "FP16", stick / "models" / MODEL / "FP16")
    shutil.copytree(SHARED / "videos", stick / "videos", ignore=shutil.ignore_patterns("road-*"))
    env = _env(project)
    run = subprocess.run(["bash", "scripts/fetch-assets.sh", "--from", str(stick)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "fetching it" in run.stderr, run.stderr  # the model was missing from the new volume
    listed = [line for line in run.stdout.splitlines() if line.endswith(".mp4") or ".mp4 " in line]
    assert sum(" ok " in line for line in listed) == 2, run.stdout
    # What the stack's worker will see in the same volumes: the model resolves, both videos are right.
    check = subprocess.run(["docker", "compose", "run", "--rm", "--no-deps", "-T", "inference", "sh", "-c",
                            f"edgewatch models list | grep '^{MODEL} *FP16 ' && edgewatch media list"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "present" in check.stdout.splitlines()[0], check.stdout
    assert check.stdout.count(" ok ") == 2, check.stdout
    # Run again: nothing to do, nothing fetched. A folder that lacks them: one clear line, exit 2.
    again = subprocess.run(["bash", "scripts/fetch-assets.sh", "--from", str(stick)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "fetching" not in again.stderr, again.stderr
    bad = subprocess.run(["bash", "scripts/fetch-assets.sh", "--from", str(tmp_path / "nowhere")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("is not a folder"), bad.stderr
