"""The day's totals: a camera running past midnight closes the day (day_end) and starts the next one;
a worker that was down at midnight reports the missed day from its state file when it starts."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import cv2
import jsonschema
import pytest

from edgewatch import statefile
from edgewatch.config import validate
from edgewatch.worker import Worker, prepare
from edgewatch.schemas import load_schema

MODEL = "person-detection-retail-0013"


def _clip(videos: Path, tmp: Path, length: float) -> Path:
    out = tmp / "clip.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-t", str(length), "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                    "-c", "copy", str(out)], check=True)
    return out


class Midnight:
    """A clock that says `first` for the first `switch` frames, `then` after, and stops the worker at
    `stop` (the worker asks once per frame)."""

    def __init__(self, switch: int, stop: int, first: str = "2026-12-01", then: str = "2026-12-02") -> None:
        self.calls, self.switch, self.stop, self.first, self.then = 0, switch, stop, first, then
        self.worker: Worker | None = None

    def __call__(self) -> str:
        self.calls += 1
        if self.calls >= self.stop and self.worker is not None:
            self.worker.request_stop()
        return self.first if self.calls <= self.switch else self.then


def test_a_camera_running_past_midnight_closes_the_day_and_starts_the_next(videos, models_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEWATCH_MODELS", str(models_dir))
    clip = _clip(videos, tmp_path, 48)  # persons 1 and 2 of the course video
    frames = int(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT))
    state = tmp_path / "state.json"
    # A looped file runs on like a camera; midnight falls after 40 % of the first pass, the run stops at its end.
    cfg = validate({"camera": "cam1", "state_file": str(state), "summary": str(tmp_path / "s.json"),
                    "source": {"input": str(clip), "loop": True},
                    "model": {"name": MODEL}, "lines": [{"name": "mid", "points": [[384, 0], [384, 432]]}]})
    clock = Midnight(switch=int(frames * 0.4), stop=frames)
    worker = Worker(cfg, prepare(cfg), progress=False, today=clock)
    clock.worker = worker
    worker.run()
    summary = worker.finish().summary

    events = summary["events"]
    (end,) = [i for i, e in enumerate(events) if e["type"] == "day_end"]
    day_end = events[end]
    jsonschema.validate({**day_end, "seq": 1}, load_schema("event"))
    before, after = events[:end], events[end + 1:]
    entered_before = {e["track_id"] for e in before if e["type"] == "person_enter"}
    left_before = {e["track_id"] for e in before if e["type"] == "person_leave"}
    assert day_end["date"] == "2026-12-01"
    assert day_end["total"] == len(entered_before) >= 1
    assert day_end["lines"]["mid"]["in"] + day_end["lines"]["mid"]["out"] == sum(e["type"] == "line_cross" for e in before)
    # The new day: the people in the frame at midnight, then everyone who came after.
    still_in = entered_before - left_before
    entered_after = {e["track_id"] for e in after if e["type"] == "person_enter"}
    assert entered_after, "nobody came after midnight: the test proves nothing"
    assert summary["total"] == len(still_in) + len(entered_after)
    assert {t["id"] for t in summary["tracks"]} == still_in | entered_after  # the old day's records are gone
    assert summary["lines"]["mid"]["in"] + summary["lines"]["mid"]["out"] == sum(e["type"] == "line_cross" for e in after)
    saved = statefile.load(str(state), "cam1")
    assert saved.date == "2026-12-02" and saved.analytics["people"]["total"] == summary["total"]


def _state_file(path: Path, date: str, analytics: dict) -> None:
    path.write_text(json.dumps({"camera": "cam1", "date": date, "analytics": analytics}))


def test_a_worker_down_at_midnight_reports_the_missed_day_when_it_starts(videos, worker_env, edgewatch_cli, tmp_path):
    state = tmp_path / "state.json"
    yesterday = {"version": 1, "people": {"total": 4, "next_id": 5, "finished": [
        {"id": i, "enter_s": 10.0 * i, "exit_s": 10.0 * i + 4, "enter_side": "left", "exit_side": "right",
         "duration_s": 4.0} for i in range(1, 5)]}, "lines": {}, "zones": {}}
    _state_file(state, "2026-11-30", yesterday)
    last_saved = state.stat().st_mtime
    clip = _clip(videos, tmp_path, 20)
    proc = edgewatch_cli(["-i", str(clip), "-m", MODEL, "--camera", "cam1", "--state-file", str(state), "--no-progress",
                          "--summary", str(tmp_path / "s.json")], worker_env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    first = summary["events"][0]
    assert first["type"] == "day_end" and first["date"] == "2026-11-30"
    assert first["total"] == 4 and first["avg_duration_s"] == 4.0
    assert first["ts"] == pytest.approx(last_saved, abs=0.01)  # when that day's totals were last known
    assert summary["total"] == sum(e["type"] == "person_enter" for e in summary["events"])  # today starts at 0
    assert [t["id"] for t in summary["tracks"]][:1] == [5]  # ids carry on: no clash in the history
    saved = json.loads(state.read_text())
    assert saved["date"] == statefile.today() and saved["analytics"]["people"]["total"] == summary["total"]


def test_an_unusable_saved_earlier_day_is_set_aside_and_the_camera_runs(videos, models_dir, tmp_path, monkeypatch,
                                                                         caplog):
    monkeypatch.setenv("EDGEWATCH_MODELS", str(models_dir))
    state = tmp_path / "state.json"
    _state_file(state, "2026-11-30", {"version": 1, "people": {"total": "four"}})
    clip = _clip(videos, tmp_path, 2)
    cfg = validate({"camera": "cam1", "state_file": str(state), "summary": str(tmp_path / "s.json"),
                    "source": {"input": str(clip)}, "model": {"name": MODEL}})
    with caplog.at_level(logging.WARNING, logger="edgewatch.cameras.day"):
        worker = Worker(cfg, prepare(cfg), progress=False)
    (record,) = caplog.records
    assert record.getMessage().startswith(f"cam1: cannot report the day 2026-11-30 from {state} (kept as {state}.unreadable): "
                                          "analytics state: malformed snapshot")
    assert json.loads(Path(f"{state}.unreadable").read_text())["analytics"]["people"]["total"] == "four"
    worker.run()
    assert all(e["type"] != "day_end" for e in worker.finish().summary["events"])
    assert json.loads(state.read_text())["date"] == statefile.today()


def test_without_a_summary_file_the_worker_keeps_no_events(videos, models_dir, tmp_path, monkeypatch):
    """A camera that runs for months must not pile up its events for a summary nobody asked for."""
    monkeypatch.setenv("EDGEWATCH_MODELS", str(models_dir))
    cfg = validate({"camera": "cam1", "source": {"input": str(_clip(videos, tmp_path, 20))}, "model": {"name": MODEL}})
    worker = Worker(cfg, prepare(cfg), progress=False)
    worker.run()
    summary = worker.finish().summary
    assert summary["total"] >= 1 and summary["events"] == []


def test_a_clock_set_back_does_not_start_a_new_day(videos, models_dir, tmp_path, monkeypatch):
    """NTP correcting a clock that ran ahead, or someone setting it by hand: the day goes on."""
    monkeypatch.setenv("EDGEWATCH_MODELS", str(models_dir))
    state = tmp_path / "state.json"
    cfg = validate({"camera": "cam1", "state_file": str(state), "summary": str(tmp_path / "s.json"),
                    "source": {"input": str(_clip(videos, tmp_path, 20)), "loop": True}, "model": {"name": MODEL}})
    clock = Midnight(switch=100, stop=400, first="2026-12-02", then="2026-12-01")
    worker = Worker(cfg, prepare(cfg), progress=False, today=clock)
    clock.worker = worker
    worker.run()
    summary = worker.finish().summary
    assert clock.calls >= 400 and all(e["type"] != "day_end" for e in summary["events"])
    assert statefile.load(str(state), "cam1").date == "2026-12-02"
