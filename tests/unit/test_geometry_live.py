"""Lines and zones saved in the UI reach a running worker through the broker: applied between frames,
refused with a reason when bad, kept across a restart (state file) even when the broker forgot them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "inference/edgewatch/schemas"
# Across the floor near the bottom: every person in the course video walks in from the bottom edge.
ENTRY = {"name": "entry", "points": [[0, 400], [768, 400]]}


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def publish(broker, camera: str, payload: bytes | dict) -> None:
    c = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    c.connect(broker.host, broker.port)
    c.loop_start()
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    c.publish(f"edgewatch/{camera}/config/geometry", data, qos=1, retain=True).wait_for_publish(5)
    c.loop_stop()
    c.disconnect()


def start(broker, videos: Path, env: dict, tmp: Path) -> subprocess.Popen:
    cfg = tmp / "site.yaml"
    cfg.write_text(f"camera: shop\nstate_file: {tmp / 'shop.json'}\nmqtt:\n  drain_timeout_s: 3\n"
                   f"  outbox: {tmp / 'outbox.sqlite'}\nlines:\n  - name: door\n    points: [[640, 0], [640, 432]]\n")
    return subprocess.Popen([sys.executable, "-m", "edgewatch", "-i", str(videos / "Pedestrian_Detect_2_1_1.mp4"),
                             "--realtime", "--loop", "-c", str(cfg), "--mqtt-host", broker.host, "--mqtt-port",
                             str(broker.port), "-m", "person-detection-retail-0013", "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[1]


def events(sub, kind: str) -> list[dict]:
    return [e for e in (m.json() for m in sub.on("events")) if e["type"] == kind]


def latest_geometry(sub) -> dict | None:
    msgs = [m for m in sub.messages if m.topic.endswith("/geometry") and "/config/" not in m.topic and m.payload]
    return msgs[-1].json() if msgs else None


def test_saved_geometry_is_applied_live_refused_when_bad_and_kept(mosquitto, mqtt_subscriber, videos, worker_env,
                                                                  tmp_path):
    sub = mqtt_subscriber(mosquitto, "edgewatch/shop/#")
    proc = start(mosquitto, videos, worker_env, tmp_path)
    try:
        # The worker says what it counts on: the YAML's line, in its 768x432 frame.
        assert sub.wait_for(lambda m: latest_geometry(sub) is not None, 30), "no geometry published"
        g = latest_geometry(sub)
        jsonschema.validate(g, schema("geometry"))
        assert (g["origin"], g["frame"], [ln["name"] for ln in g["lines"]]) == ("config", {"width": 768, "height": 432}, ["door"])

        # The UI saves a new line (and drops the YAML's): applied within 2 s, counted from then on.
        publish(mosquitto, "shop", {"camera": "shop", "id": "cfg-1", "by": "session-a", "lines": [ENTRY], "zones": []})
        assert sub.wait_for(lambda m: events(sub, "config_change"), 2.5), "not applied within 2 s"
        change = events(sub, "config_change")[0]
        jsonschema.validate(change, schema("event"))
        assert change["lines"] == {"added": ["entry"], "removed": ["door"], "changed": []}
        assert change["final"]["lines"] == {"door": {"in": 0, "out": 0}}  # the removed line, one last time
        assert (change["by"], change["config_id"]) == ("session-a", "cfg-1")
        assert sub.wait_for(lambda m: (latest_geometry(sub) or {}).get("origin") == "ui", 5)
        assert latest_geometry(sub)["lines"][0]["name"] == "entry"
        # Person 1 walks in from the bottom at 6 s: the new line counts them.
        assert sub.wait_for(lambda m: [e for e in events(sub, "line_cross") if e["line"] == "entry"], 30), \
            "the saved line did not count"

        # A bad one (a point outside the frame) is refused with the item and key; the line keeps counting.
        bad = {"camera": "shop", "id": "cfg-2", "by": "session-b", "zones": [],
               "lines": [{"name": "entry", "points": [[0, 400], [900, 400]]}]}
        publish(mosquitto, "shop", bad)
        assert sub.wait_for(lambda m: events(sub, "config_rejected"), 5)
        rejected = events(sub, "config_rejected")[0]
        jsonschema.validate(rejected, schema("event"))
        assert rejected["reason"].startswith("lines.0.points: point (900, 400) of 'entry' is outside")
        assert rejected["by"] == "session-b"
        for payload, cause in ((b"{not json", "not JSON"), (json.dumps({"camera": "door", "lines": []}).encode(),
                                                             "camera 'door'")):
            publish(mosquitto, "shop", payload)
            assert sub.wait_for(lambda m, c=cause: any(c in e["reason"] for e in events(sub, "config_rejected")), 5), cause
        assert latest_geometry(sub)["config_id"] == "cfg-1"
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err

    # The broker forgets the saved geometry (its retained message cleared): the state file keeps it.
    publish(mosquitto, "shop", b"")
    sub.messages.clear()
    proc = start(mosquitto, videos, worker_env, tmp_path)
    try:
        assert sub.wait_for(lambda m: latest_geometry(sub) is not None, 30)
        g = latest_geometry(sub)
        assert (g["origin"], g["config_id"], [ln["name"] for ln in g["lines"]]) == ("ui", "cfg-1", ["entry"])
        state = [m.json() for m in sub.on("state")]
        assert sub.wait_for(lambda m: [s for s in (x.json() for x in sub.on("state")) if "entry" in s["lines"]], 10)
        state = [m.json() for m in sub.on("state")][-1]
        assert state["lines"]["entry"]["in"] + state["lines"]["entry"]["out"] >= 1  # the day's count carried on
        assert not events(sub, "config_change")  # nothing new was applied
    finally:
        err = stop(proc)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("case", ["huge", "points"])
def test_oversized_geometry_is_refused(case, tmp_path):
    from edgewatch.analytics import Analytics
    from edgewatch.cameras.geometry import apply
    from edgewatch.config import CameraConfig, ModelConfig

    a = Analytics(CameraConfig(), ModelConfig(), (768, 432))
    if case == "huge":
        payload = b'{"camera": "shop", "lines": [' + b" " * (10 * 1024 * 1024) + b"]}"
        cause = "more than 262144"
    else:
        payload = json.dumps({"camera": "shop", "zones": [{"name": "z", "polygon": [[1, 1]] * 10_000}]}).encode()
        cause = "zones.0.polygon: List should have at most 100 items"
    [ev] = apply(payload, "shop", a, 1.0)
    assert ev.type == "config_rejected" and cause in ev.data["reason"]
    assert a.geometry is None and a.cfg.zones == []


def test_saved_geometry_that_no_longer_fits_the_frame_is_set_aside(caplog):
    """The camera's resolution changed since the UI saved its lines: counting goes on with the YAML's."""
    from edgewatch.analytics import Analytics
    from edgewatch.config import CameraConfig, Geometry, LineConfig, ModelConfig

    big = Analytics(CameraConfig(), ModelConfig(), (1920, 1080))
    big.set_geometry(Geometry(lines=[LineConfig(name="far", points=[[1800, 0], [1800, 1080]])]), 1.0, {"config_id": "c"})
    snap = big.snapshot()
    small = Analytics(CameraConfig(lines=[LineConfig(name="door", points=[[640, 0], [640, 432]])]), ModelConfig(), (768, 432))
    small.restore(snap)
    assert list(small.day_totals()["lines"]) == ["door"] and small.geometry is None
    assert "do not fit this camera's frame (lines.0.points: point (1800, 0) of 'far' is outside" in caplog.text
