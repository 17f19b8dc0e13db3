#!/usr/bin/env python3
"""Endurance: the whole compose stack on the looped course video for --minutes (default 30).

Brings up its own compose project (default edgewatch-soak, never the CI's edgewatch-test) with
compose.yaml + tests/integration/compose.test.yaml (broker published on loopback), then:
  - every --interval s (default 10) samples each container's memory and CPU with
    `docker stats --no-stream --format json`;
  - every minute reads the memory of each container's largest process from /proc inside it
    (anonymous = its own; `docker stats` also counts the page cache of the files it reads);
  - reads the worker's state from MQTT as the read-only `ui` user and, at every wrap of the
    looped video, checks that the day's unique total grew by exactly --per-loop (6 on the course
    video: 139.4 s per pass).
Prints each container's memory slope (MiB/hour, least squares; whole run and after --warmup-min),
the same for its main process's anonymous memory, and mean CPU, the per-loop counts, writes the samples the loops and the state trace as CSV to
$EDGEWATCH_ARTIFACTS/soak/ and brings its project down (volumes too).
Exit 0 = every complete loop counted exactly --per-loop and no container restarted; 1 otherwise.

    python bench/soak.py [--minutes 30] [--project edgewatch-soak] [--ui-port 18090] [--build]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from edgewatch import media

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", ROOT.parent / "shared")).resolve()
ARTIFACTS = Path(os.environ.get("EDGEWATCH_ARTIFACTS", ROOT / "artifacts")) / "soak"
FILES = (ROOT / "compose.yaml", ROOT / "tests" / "integration" / "compose.test.yaml")
VIDEO = "Pedestrian_Detect_2_1_1.mp4"
STATE = "edgewatch/{camera}/state"
WRAP_DROP_S = 10.0  # video_s falling by more than this = the loop started again
_UNITS = {"b": 1 / 2**20, "kib": 1 / 1024, "mib": 1.0, "gib": 1024.0,
          "kb": 1e3 / 2**20, "mb": 1e6 / 2**20, "gb": 1e9 / 2**20}


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the soak started
    service: str
    mem_mib: float
    cpu_pct: float  # of one core, as docker stats reports it


@dataclass(frozen=True)
class ProcSample:
    """The container's largest process, from /proc inside it: its own memory, without the page cache
    of files it reads (the looped video, its libraries), which `docker stats` counts and the kernel
    can reclaim."""

    t: float
    service: str
    process: str
    anon_mib: float  # RssAnon
    file_mib: float  # RssFile: mapped files (libraries, models)


@dataclass(frozen=True)
class Loop:
    index: int
    ended_t: float  # seconds since the soak started
    total_before: int
    total_after: int
    complete: bool = True  # False: the worker restarted, or the day's totals started again, during this pass

    @property
    def counted(self) -> int:
        return self.total_after - self.total_before


@dataclass
class StateWatch:
    """Follows edgewatch/<camera>/state and closes a Loop each time video_s passes a multiple of loop_s.

    In --loop mode the worker keeps the video clock running across passes (video_s does not go back
    to 0), so pass k covers video_s in [k*loop_s, (k+1)*loop_s). video_s going back means the worker
    restarted: that pass is closed as incomplete. The total going down means a new day began (local
    midnight, day_end): the pass in progress cannot be checked and is closed as incomplete at its end.
    """

    t0: float
    loop_s: float
    loops: list[Loop] = field(default_factory=list)
    trace: list[tuple[float, float, int, int]] = field(default_factory=list)  # (t, video_s, frame, total)
    last: dict | None = None
    messages: int = 0
    _loop_start_total: int = 0  # fresh volumes: the first pass starts from 0
    _broken: str = ""  # why the pass in progress cannot be checked
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _close(self, total: int, complete: bool, why: str = "") -> None:
        loop = Loop(len(self.loops) + 1, time.monotonic() - self.t0, self._loop_start_total, total, complete)
        self.loops.append(loop)
        self._loop_start_total = total
        note = "" if complete else f" ({why}: incomplete pass)"
        print(f"[{loop.ended_t:7.0f} s] loop {loop.index}: total {loop.total_before} -> {loop.total_after} "
              f"(+{loop.counted}){note}", flush=True)

    def on_state(self, doc: dict) -> None:
        with self._lock:
            self.messages += 1
            self.trace.append((time.monotonic() - self.t0, doc["video_s"], doc["frame"], doc["total"]))
            prev, self.last = self.last, doc
            if prev is None:
                return
            if doc["video_s"] < prev["video_s"] - 1.0:
                self._close(prev["total"], complete=False, why="worker restarted")
                self._broken = ""
                return
            if doc["total"] < prev["total"]:
                self._broken = "a new day began"
            # The newest state of the ending pass carries its total; everything after is the next pass.
            for _ in range(int(doc["video_s"] // self.loop_s) - int(prev["video_s"] // self.loop_s)):
                self._close(prev["total"], complete=not self._broken, why=self._broken)
                self._broken = ""


def loop_seconds(video: Path) -> float:
    """Length of one pass of the video (139.4 s for the course video): frame count / fps."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        frames, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    if not frames or not fps:
        raise SystemExit(f"soak: cannot read the length of {video}")
    return frames / fps


def compose(project: str, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["docker", "compose", "-p", project, "--project-directory", str(ROOT)]
    for f in FILES:
        cmd += ["-f", str(f)]
    res = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise SystemExit(f"soak: docker compose {' '.join(args)} exited {res.returncode}: {res.stderr.strip()[-2000:]}")
    return res


def mib(text: str) -> float:
    """'123.4MiB' -> 123.4 (docker stats' MemUsage, first half)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]+)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"unreadable memory figure from docker stats: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def containers(project: str) -> dict[str, str]:
    """container id -> compose service, for the project's containers. Images built by Compose carry the
    project and service labels too, so a container run by hand from one would pass for the service:
    only Compose's own containers have a container number."""
    out = subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project={project}",
                          "--filter", "label=com.docker.compose.container-number",
                          "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}'],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def sample(project: str, t0: float) -> list[Sample]:
    ids = containers(project)
    if not ids:
        return []
    t = time.monotonic() - t0
    out = subprocess.run(["docker", "stats", "--no-stream", "--no-trunc", "--format", "json", *ids],
                         capture_output=True, text=True, timeout=60).stdout
    rows = []
    for line in out.splitlines():
        if not line.strip():
            continue
        doc = json.loads(line)
        service = next((s for cid, s in ids.items() if doc["ID"].startswith(cid) or cid.startswith(doc["ID"])), doc["Name"])
        rows.append(Sample(t, service, mib(doc["MemUsage"].split("/")[0]), float(doc["CPUPerc"].rstrip("%"))))
    return rows


# Prints "<name> <RssAnon kB> <RssFile kB>" for every process of the container (mawk is in every
# Debian image, so this needs nothing installed).
_PROC_STATUS = ("for s in /proc/[0-9]*/status; do awk '/^Name:/{n=$2} /^RssAnon:/{a=$2} /^RssFile:/{f=$2} "
                "END{if (a) print n, a, f}' \"$s\" 2>/dev/null; done")


def process_sample(project: str, t0: float) -> list[ProcSample]:
    rows = []
    for cid, service in containers(project).items():
        res = subprocess.run(["docker", "exec", cid, "sh", "-c", _PROC_STATUS], capture_output=True, text=True, timeout=60)
        procs = [p for p in (line.split() for line in res.stdout.splitlines()) if len(p) == 3 and p[1].isdigit() and p[2].isdigit()]
        if procs:
            name, anon, mapped = max(procs, key=lambda p: int(p[1]))
            rows.append(ProcSample(time.monotonic() - t0, service, name, int(anon) / 1024, int(mapped) / 1024))
    return rows


def slope_mib_per_hour(samples: list, key: str = "mem_mib") -> float | None:
    if len(samples) < 3:
        return None
    t = np.array([s.t for s in samples]) / 3600.0
    return float(np.polyfit(t, np.array([getattr(s, key) for s in samples]), 1)[0])


def restart_counts(project: str) -> dict[str, int]:
    ids = containers(project)
    if not ids:
        return {}
    out = subprocess.run(["docker", "inspect", "--format", "{{.Id}} {{.RestartCount}}", *ids],
                         capture_output=True, text=True, timeout=60).stdout
    counts = {}
    for line in out.splitlines():
        cid, n = line.split()
        counts[next(s for i, s in ids.items() if cid.startswith(i))] = int(n)
    return counts


def free_port(want: int) -> int:
    for port in (want, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SystemExit("soak: no free port")


def watch_state(project: str, camera: str, watch: StateWatch) -> mqtt.Client:
    port = int(compose(project, "port", "broker", "1883").stdout.strip().rpartition(":")[2])
    password = compose(project, "exec", "-T", "broker", "cat", "/secrets/mqtt-ui-password").stdout.strip()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"soak-{os.getpid()}")
    client.username_pw_set("ui", password)
    topic = STATE.format(camera=camera)
    client.on_connect = lambda c, u, flags, rc, props: c.subscribe(topic, qos=0)
    client.on_message = lambda c, u, m: watch.on_state(json.loads(m.payload))
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    return client


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def per_service(items: list, warmup_s: float, key: str):
    """For each service: its rows, and the slope of `key` over the whole run and after the warm-up, printable."""
    fmt = lambda v: "n/a" if v is None else f"{v:+.2f}"  # noqa: E731
    for service in sorted({x.service for x in items}):
        rows = [x for x in items if x.service == service]
        after = [x for x in rows if x.t >= warmup_s]
        yield service, rows, fmt(slope_mib_per_hour(rows, key)), fmt(slope_mib_per_hour(after, key))


def report_processes(procs: list[ProcSample], warmup_s: float) -> None:
    print("\nmain process  anonymous MiB first->last   slope MiB/h (all)   slope MiB/h (after warm-up)   mapped files MiB")
    for service, rows, all_, after in per_service(procs, warmup_s, "anon_mib"):
        print(f"{service:10s} {rows[-1].process[:12]:12s} {rows[0].anon_mib:7.1f} -> {rows[-1].anon_mib:7.1f}"
              f"   {all_:>17s}   {after:>27s}   {rows[-1].file_mib:16.1f}")


def report(samples: list[Sample], loops: list[Loop], per_loop: int, warmup_s: float, restarts: dict[str, int]) -> bool:
    print("\ncontainer   mem first->last MiB   slope MiB/h (all)   slope MiB/h (after warm-up)   mean CPU %   max CPU %")
    for service, rows, all_, after in per_service(samples, warmup_s, "mem_mib"):
        print(f"{service:10s}  {rows[0].mem_mib:7.1f} -> {rows[-1].mem_mib:7.1f}   {all_:>17s}"
              f"   {after:>27s}   {np.mean([s.cpu_pct for s in rows]):10.1f}   {max(s.cpu_pct for s in rows):9.1f}")
    counts = [lp.counted if lp.complete else f"{lp.counted} (incomplete)" for lp in loops]
    print(f"\nloops: {len(loops)}; counted per loop: {counts}")
    print(f"container restarts: {restarts}")
    wrong = [lp for lp in loops if lp.complete and lp.counted != per_loop]
    ok = any(lp.complete for lp in loops) and not wrong and not any(restarts.values())
    if not any(lp.complete for lp in loops):
        print("FAIL: no complete loop of the video was seen")
    for lp in wrong:
        print(f"FAIL: loop {lp.index} counted {lp.counted}, expected {per_loop}")
    if any(restarts.values()):
        print("FAIL: a container restarted during the soak")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=10.0, help="seconds between docker stats samples")
    ap.add_argument("--project", default="edgewatch-soak", help="compose project (never edgewatch-test)")
    ap.add_argument("--ui-port", type=int, default=18090)
    ap.add_argument("--camera", default="cam1")
    ap.add_argument("--per-loop", type=int, default=6, help="people counted per pass of the course video")
    ap.add_argument("--warmup-min", type=float, default=5.0, help="minutes left out of the second slope")
    ap.add_argument("--build", action="store_true", help="rebuild the images first")
    ap.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    args = ap.parse_args(argv)
    if args.project == "edgewatch-test":
        raise SystemExit("soak: edgewatch-test is the CI's project; pick another --project")
    if not (SHARED / "videos" / VIDEO).is_file():
        raise SystemExit(f"soak: {SHARED / 'videos' / VIDEO} missing (set EDGEWATCH_SHARED)")

    ca = os.environ.get("EDGEWATCH_BUILD_CA") or (
        "/etc/ssl/certs/ca-certificates.crt" if Path("/etc/ssl/certs/ca-certificates.crt").is_file() else "/dev/null")
    # The demo config names the videos by their published names; ../shared calls the course video otherwise:
    # the worker's own copy from a folder finds them by their catalogued checksums.
    media_dir = ARTIFACTS / "media"
    media.fetch(root=media_dir, from_dir=SHARED / "videos")
    os.environ.update(EDGEWATCH_MODELS_DIR=str(SHARED / "models"), EDGEWATCH_MEDIA_DIR=str(media_dir),
                      EDGEWATCH_TEST_MIRROR_DIR=str(media_dir),  # compose.test.yaml's mirror serves the same
                      EDGEWATCH_BUILD_CA=ca, EDGEWATCH_UI_BIND="127.0.0.1",
                      EDGEWATCH_UI_PORT=str(free_port(args.ui_port)), EDGEWATCH_CAMERA=args.camera,
                      EDGEWATCH_INPUT="/media/one-by-one-person-detection.mp4")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    print(f"soak: project {args.project}, UI 127.0.0.1:{os.environ['EDGEWATCH_UI_PORT']}, {args.minutes:g} min, "
          f"started {stamp}", flush=True)

    compose(args.project, "down", "-v", "--remove-orphans", check=False)  # leftovers of an aborted run
    if args.build:
        compose(args.project, "build", timeout=3600)
    samples: list[Sample] = []
    procs: list[ProcSample] = []
    loops: list[Loop] = []
    restarts: dict[str, int] = {}
    trace: list[tuple[float, float, int, int]] = []
    client = None
    try:
        t_up = time.monotonic()
        compose(args.project, "up", "-d", "--wait", "--wait-timeout", "300")
        print(f"soak: stack up in {time.monotonic() - t_up:.0f} s", flush=True)
        t0 = time.monotonic()
        watch = StateWatch(t0, loop_seconds(SHARED / "videos" / VIDEO))
        client = watch_state(args.project, args.camera, watch)
        end = t0 + args.minutes * 60
        next_print = t0 + 60
        while time.monotonic() < end:
            tick = time.monotonic()
            samples.extend(sample(args.project, t0))
            if time.monotonic() >= next_print:
                next_print += 60
                procs.extend(process_sample(args.project, t0))
                mem = {s.service: round(s.mem_mib) for s in samples[-4:]}
                last = watch.last or {}
                print(f"[{time.monotonic() - t0:7.0f} s] mem MiB {mem}; video_s {last.get('video_s')}, "
                      f"total {last.get('total')}", flush=True)
            time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
        loops = list(watch.loops)
        trace = list(watch.trace)
        restarts = restart_counts(args.project)
        if watch.messages == 0:
            print("soak: no state message arrived from the worker")
    finally:
        if client is not None:
            client.loop_stop()
            client.disconnect()
        logs = compose(args.project, "logs", "--no-color", "--timestamps", check=False, timeout=120)
        (ARTIFACTS / f"compose-{stamp}.log").write_text(logs.stdout + logs.stderr)
        if not args.keep:
            compose(args.project, "down", "-v", "--remove-orphans", "--timeout", "20", check=False)

    write_csv(ARTIFACTS / f"samples-{stamp}.csv", ["t_s", "service", "mem_mib", "cpu_pct"],
              [[f"{s.t:.1f}", s.service, f"{s.mem_mib:.2f}", f"{s.cpu_pct:.2f}"] for s in samples])
    write_csv(ARTIFACTS / f"processes-{stamp}.csv", ["t_s", "service", "process", "rss_anon_mib", "rss_file_mib"],
              [[f"{p.t:.1f}", p.service, p.process, f"{p.anon_mib:.2f}", f"{p.file_mib:.2f}"] for p in procs])
    write_csv(ARTIFACTS / f"loops-{stamp}.csv", ["loop", "ended_t_s", "total_before", "total_after", "counted", "complete"],
              [[lp.index, f"{lp.ended_t:.1f}", lp.total_before, lp.total_after, lp.counted, lp.complete] for lp in loops])
    write_csv(ARTIFACTS / f"state-{stamp}.csv", ["t_s", "video_s", "frame", "total"],
              [[f"{t:.2f}", v, f, n] for t, v, f, n in trace])
    ok = report(samples, loops, args.per_loop, args.warmup_min * 60, restarts)
    report_processes(procs, args.warmup_min * 60)
    print(f"\nsoak: samples and loops in {ARTIFACTS} (stamp {stamp})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
