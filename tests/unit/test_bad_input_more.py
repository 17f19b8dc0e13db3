"""Bad input the worker meets on a restart or from its broker: its own state file and outbox gone
bad, a broker that refuses its login. Each is answered with one line naming the cause, and nothing
already gathered is destroyed. (The command-line cases are in test_worker_bad_input.py.)"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

import pytest

from edgewatch import statefile
from edgewatch.config import MqttConfig
from edgewatch.errors import EdgewatchError
from edgewatch.publishers.mqtt import MqttPublisher
from edgewatch.types import Event

MODEL = "person-detection-retail-0013"


def _today_state(path: Path, analytics: object, camera: str = "cam1", date: str | None = None) -> bytes:
    data = json.dumps({"camera": camera, "date": date or dt.date.today().isoformat(), "analytics": analytics}).encode()
    path.write_bytes(data)
    return data


def test_unreadable_state_file_is_set_aside_not_overwritten(tmp_path, caplog):
    path = tmp_path / "state.json"
    torn = b'{"camera": "cam1", "date": "2026-11-25", "analytics": {"people": {"total": 4'  # cut mid-write
    path.write_bytes(torn)
    with caplog.at_level(logging.WARNING, logger="edgewatch.statefile"):
        assert statefile.load(str(path), "cam1") is None
    (record,) = caplog.records
    assert record.getMessage().startswith(f"ignoring unreadable state file {path} (kept as {path}.unreadable): ")
    assert "\n" not in record.getMessage()
    assert not path.exists()
    assert Path(f"{path}.unreadable").read_bytes() == torn  # the next save cannot destroy it
    statefile.save(str(path), "cam1", {"version": 1}, statefile.today())
    assert Path(f"{path}.unreadable").read_bytes() == torn


def test_state_file_of_another_camera_is_ignored_and_kept(tmp_path):
    path = tmp_path / "state.json"
    data = _today_state(path, {"version": 1}, camera="cam2")
    assert statefile.load(str(path), "cam1") is None
    assert path.read_bytes() == data


def test_state_file_of_an_earlier_day_is_returned_with_its_date(tmp_path):
    path = tmp_path / "state.json"
    _today_state(path, {"version": 1}, date="2001-01-01")
    saved = statefile.load(str(path), "cam1")
    assert saved is not None and saved.date == "2001-01-01" and saved.analytics == {"version": 1}
    assert saved.saved_at == pytest.approx(path.stat().st_mtime)


@pytest.mark.parametrize("analytics, expected", [
    ({"version": 1, "people": {"total": "many"}}, "analytics state: malformed snapshot (ValueError: "),
    ({"version": 99}, "analytics state: unsupported version 99"),
])
def test_malformed_state_snapshot_stops_the_worker_with_one_line(analytics, expected, tmp_path, videos, worker_env,
                                                                 edgewatch_cli):
    path = tmp_path / "state.json"
    data = _today_state(path, analytics)
    proc = edgewatch_cli(["-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-m", MODEL, "--camera", "cam1",
                          "--state-file", str(path), "--no-progress", "--summary", str(tmp_path / "s.json")],
                         worker_env, timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert lines == [lines[0]] and lines[0].startswith(f"edgewatch: error: {expected}"), proc.stderr
    assert "Traceback" not in proc.stderr
    assert path.read_bytes() == data  # the day's totals are still there for whoever repairs it
    assert not (tmp_path / "s.json").exists()


def test_corrupt_outbox_is_one_line_and_left_untouched(tmp_path):
    outbox = tmp_path / "outbox.sqlite"
    junk = b"this is not an SQLite database, but it may hold someone's events" * 100
    outbox.write_bytes(junk)
    with pytest.raises(EdgewatchError) as err:
        MqttPublisher(MqttConfig(host="127.0.0.1", port=1, outbox=str(outbox)), "cam1", "x")
    assert str(err.value).startswith(f"mqtt.outbox: cannot open {outbox}: file is not a database"), err.value
    assert "\n" not in str(err.value)
    assert outbox.read_bytes() == junk


def test_refused_login_is_logged_once_and_keeps_the_events(mosquitto_factory, tmp_path, caplog):
    broker = mosquitto_factory(users={"edge": "s3cret"})
    cfg = MqttConfig(host="127.0.0.1", port=broker.port, username="edge", password="wrong",
                     outbox=str(tmp_path / "outbox.sqlite"))
    with caplog.at_level(logging.WARNING):
        pub = MqttPublisher(cfg, "camx", "x")
        pub.start()
        pub.publish_events([Event("source_restored", 1, {"detail": "ok"})])
        time.sleep(4)  # paho retries after 1, 2 s: every retry is refused again
        report = pub.close(0.1)
    refusals = [r.getMessage() for r in caplog.records if "refused the connection" in r.getMessage()]
    assert len(refusals) == 1, refusals
    assert refusals[0].startswith(f"MQTT broker 127.0.0.1:{broker.port} refused the connection: ")
    assert refusals[0].endswith("(check mqtt.username / mqtt.password)")
    assert report.pending == 1  # kept in the outbox for when the password is fixed
