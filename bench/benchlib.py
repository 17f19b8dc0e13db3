"""What several benchmarks share: OpenVINO's benchmark_app figure, a private Mosquitto, the shared assets."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", ROOT.parent / "shared"))
COURSE = SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"


def benchmark_app_fps(xml: Path, device: str = "CPU", seconds: float = 6.0) -> float:
    """OpenVINO's own throughput figure for the bare model (throughput hint)."""
    if shutil.which("benchmark_app") is None:
        raise SystemExit("benchmark_app not on PATH (pip install openvino; run from the venv)")
    cmd = ["benchmark_app", "-m", str(xml), "-d", device, "-hint", "throughput", "-t", str(int(seconds))]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Throughput:\s+([\d.]+)\s+FPS", out).group(1))


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp / "mosquitto.conf"
    user = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{user}")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return proc, port


def median_ratio(num: list[float], den: list[float]) -> float:
    """On a shared VM (steal time of 50 % seen here) throughput swings by a third within a minute: runs
    of one round ran under nearly the same conditions, so the median of their ratios is the steady figure."""
    return statistics.median(x / y for x, y in zip(num, den, strict=True))


def tracker_settings(texts: list[str], prog: str) -> dict:
    """Repeated `--tracker KEY=VALUE,...` options as one dict of tracker settings, checked as the YAML's
    (`edgewatch evaluate`'s parser); a bad one ends the benchmark with its one-line error."""
    from edgewatch.errors import EdgewatchError
    from edgewatch.evaluation import runs

    knobs: dict = {}
    try:
        for text in texts:
            knobs.update(runs.parse_tracker(text, prog))
    except EdgewatchError as err:
        raise SystemExit(str(err)) from None
    return knobs
