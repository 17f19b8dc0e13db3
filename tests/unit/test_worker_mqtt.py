"""The worker publishing to a real Mosquitto: what it counts arrives, validated, and survives a broker restart."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import jsonschema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "inference/edgewatch/schemas"


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def _clip(videos: Path, tmp: Path, start: float, length: float) -> Path:
    out = tmp / f"clip-{start:g}-{length:g}.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-ss", str(start), "-t", str(length), "-i",
                    str(videos / "Pedestrian_Detect_2_1_1.mp4"), "-c", "copy", str(out)], check=True)
    return out


def _args(broker, camera: str, tmp: Path, extra: list[str]) -> list[str]:
    cfg = tmp / f"{camera}.yaml"
    cfg.write_text(f"mqtt:\n  drain_timeout_s: 3\n  outbox: {tmp / (camera + '-outbox.sqlite')}\n")
    return ["--mqtt-host", broker.host, "--mqtt-port", str(broker.port), "--camera", camera, "-c", str(cfg),
            "-m", "person-detection-retail-0013", "--summary", str(tmp / f"{camera}.json"), *extra]


def test_everything_counted_is_published_and_valid(mosquitto, mqtt_subscriber, videos, worker_env, edgewatch_cli,
                                                   tmp_path):
    sub = mqtt_subscriber(mosquitto, "edgewatch/clip/#")
    clip = _clip(videos, tmp_path, 0, 48)  # persons 1 and 2
    proc = edgewatch_cli(["-i", str(clip), *_args(mosquitto, "clip", tmp_path, [])], worker_env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "clip.json").read_text())
    assert summary["total"] == 2
    assert sub.wait_for(lambda msgs: sum(m.topic.endswith("/events") for m in msgs) >= len(summary["events"]), 10)

    events = [m.json() for m in sub.on("events")]
    for e in events:
        jsonschema.validate(e, schema("event"))
    assert [e["id"] for e in events] == [e["id"] for e in summary["events"]]  # all, once, in order
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [e["type"] for e in events] == ["person_enter", "person_leave"] * 2

    states = [m.json() for m in sub.on("state")]
    for s in states[:: max(1, len(states) // 50)] + states[-1:]:
        jsonschema.validate(s, schema("state"))
    assert max(s["in_frame"] for s in states) == 1
    assert states[-1]["total"] == 2 and states[-1]["in_frame"] == 0
    perf = [m.json() for m in sub.on("perf")]
    assert perf and perf[-1]["model"] == "person-detection-retail-0013" and perf[-1]["device"] == "CPU"
    for p in perf:
        jsonschema.validate(p, schema("perf"))
    status = [m.json() for m in sub.on("status")]
    assert status[0]["state"] == "online" and status[-1]["state"] == "offline"


def test_a_broker_restart_in_the_middle_of_a_run_loses_no_event(mosquitto, mqtt_subscriber, videos, worker_env,
                                                                tmp_path):
    # A persistent session: the broker keeps QoS 1 messages for the subscriber across the restart.
    sub = mqtt_subscriber(mosquitto, "edgewatch/restart/events", client_id="restart-watcher", clean_session=False)
    proc = subprocess.Popen([sys.executable, "-m", "edgewatch", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                             *_args(mosquitto, "restart", tmp_path, [])],
                            env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sub.wait_for(lambda msgs: len(msgs) >= 1, 120), "no first event"
        mosquitto.stop()
        time.sleep(4)  # the worker keeps counting meanwhile; its events wait in the outbox
        mosquitto.start()
        _, stderr = proc.communicate(timeout=600)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    produced = [e["id"] for e in json.loads((tmp_path / "restart.json").read_text())["events"]]
    assert len(produced) == 12
    assert sub.wait_for(lambda msgs: len({json.loads(m.payload)["id"] for m in msgs}) >= len(produced), 20)
    received = {m.json()["id"] for m in sub.on("events")}
    assert received == set(produced)


def test_events_kept_on_disk_when_the_broker_is_away_are_sent_by_the_next_run(mosquitto_factory, mqtt_subscriber,
                                                                              videos, worker_env, edgewatch_cli,
                                                                              tmp_path):
    broker = mosquitto_factory(start=False)
    image = tmp_path / "person.jpg"
    cap = cv2.VideoCapture(str(videos / "Pedestrian_Detect_2_1_1.mp4"))
    cap.set(cv2.CAP_PROP_POS_MSEC, 30_000)
    cv2.imwrite(str(image), cap.read()[1])
    cap.release()
    first = edgewatch_cli(["-i", str(image), *_args(broker, "away", tmp_path, [])], worker_env)
    assert first.returncode == 0, first.stderr  # an unreachable broker is not fatal
    assert "2 MQTT events not delivered; kept on disk" in first.stderr
    lost = [e["id"] for e in json.loads((tmp_path / "away.json").read_text())["events"]]

    broker.start()
    sub = mqtt_subscriber(broker, "edgewatch/away/events")
    second = edgewatch_cli(["-i", str(image), *_args(broker, "away", tmp_path, [])], worker_env)
    assert second.returncode == 0, second.stderr
    assert "not delivered" not in second.stderr
    assert sub.wait_for(lambda msgs: len(msgs) >= 4, 10)
    ids = [m.json()["id"] for m in sub.on("events")]
    assert ids[:2] == lost  # the first run's events go first


def test_no_broker_configured_says_so_once(videos, worker_env, edgewatch_cli, tmp_path):
    proc = edgewatch_cli(["-i", str(videos / "car-detection.mp4"), "-m", "person-detection-retail-0013"], worker_env)
    assert proc.returncode == 0
    assert proc.stderr.count("no MQTT broker configured") == 1
