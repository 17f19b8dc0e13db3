"""The inference worker in the running stack, seen from MQTT: live state, presence, restarts.

These tests stop and kill the inference container and start it again; each leaves it running.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

STATE = "edgewatch/cam1/state"
STATUS = "edgewatch/cam1/status"
PERF = "edgewatch/cam1/perf"
OFFLINE_WITHIN_S = 10.0  # docs/mqtt.md: a stopped or killed worker shows offline within the keep-alive
BACK_WITHIN_S = 120.0  # start -> online + state again (model compile is cached on the state volume)


@pytest.fixture
def watcher(mqtt_client, passwords):
    """The ui user (read-only, as the UI server) subscribed to the camera's topics."""
    c = mqtt_client("ui", passwords["ui"])
    assert not c.connect().is_failure
    for topic in (STATE, STATUS, PERF):
        c.subscribe(topic)
    return c


def _after(topic: str, since: float, **fields):
    """Matches a message on `topic` that arrived at or after `since` (monotonic) whose JSON has `fields`.

    Arrival time, not the payload's ts, is what counts: the last will carries the ts of the
    worker's connect, and a retained message arrives again on every subscribe.
    """

    def match(m) -> bool:
        return m.topic == topic and m.at >= since and all(m.json().get(k) == v for k, v in fields.items())

    return match


def _wait_running(watcher, since: float) -> dict:
    """Waits for 'online' and then a state message, both arrived after `since`; returns that state."""
    online = watcher.wait_for(_after(STATUS, since, state="online"), BACK_WITHIN_S, "cam1 online")
    return watcher.wait_for(_after(STATE, online.at), BACK_WITHIN_S, "cam1 state after online").json()


def test_state_perf_and_status_match_their_schemas(watcher, schema):
    state_v, status_v, perf_v = schema("state"), schema("status"), schema("perf")
    since = time.monotonic()
    deadline = since + 30
    while len(watcher.messages(STATE, since)) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    states = [m.json() for m in watcher.messages(STATE, since)]
    assert len(states) >= 5, f"{len(states)} state messages in 30 s"
    for doc in states:
        state_v.validate(doc)
        assert doc["camera"] == "cam1"
    frames = [d["frame"] for d in states]
    assert frames[-1] > frames[0], f"frames do not advance: {frames}"

    status = watcher.wait_for(lambda m: m.topic == STATUS, 10, "retained status")
    assert status.retain
    status_v.validate(status.json())
    assert status.json()["state"] == "online"

    perf = watcher.wait_for(lambda m: m.topic == PERF, 15, "perf").json()
    perf_v.validate(perf)
    assert perf["model"] == "person-detection-retail-0013" and perf["fps"] > 0, perf


def test_rtsp_serves_the_annotated_video(stack):
    """With compose.rtsp.yaml (as .ci/stack.sh runs it) an NVR gets H.264 at rtsp://host:port/cam1."""
    res = stack.compose("port", "stream", "8554", check=False)
    if res.returncode != 0 or not res.stdout.strip():
        pytest.skip("RTSP not published: compose.rtsp.yaml is not among the stack's compose files")
    port = stack.port("stream", 8554)
    probe = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
                            "-show_entries", "stream=codec_name,width,height", "-of", "json",
                            f"rtsp://127.0.0.1:{port}/cam1"], capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    (stream,) = json.loads(probe.stdout)["streams"]
    assert stream == {"codec_name": "h264", "width": 768, "height": 432}, stream


def test_stop_marks_offline_and_start_restores_state(stack, watcher, schema):
    before = _wait_running(watcher, 0.0)
    stopped = time.monotonic()
    # Stop in the background: compose returns only once the container is gone, but the
    # offline message is due as soon as the worker hears SIGTERM.
    stopper = subprocess.Popen(stack.command("stop", "inference"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        msg = watcher.wait_for(_after(STATUS, stopped, state="offline"), OFFLINE_WITHIN_S, "cam1 offline after stop")
    finally:
        _, err = stopper.communicate(timeout=60)
    assert stopper.returncode == 0, err
    doc = msg.json()
    schema("status").validate(doc)
    assert doc["reason"] == "closed", doc
    total_before = max([before["total"]] + [m.json()["total"] for m in watcher.messages(STATE)])

    started = time.monotonic()
    stack.compose("start", "inference")
    after = _wait_running(watcher, started)
    schema("state").validate(after)
    assert after["total"] >= total_before, f"the day's total fell from {total_before} to {after['total']} across a restart"
    print(f"\nstop -> offline {msg.at - stopped:.1f} s; start -> state {time.monotonic() - started:.1f} s; "
          f"total {total_before} -> {after['total']}")


def test_killed_worker_goes_offline_by_last_will(stack, watcher, schema):
    _wait_running(watcher, 0.0)
    killed = time.monotonic()
    stack.compose("kill", "-s", "SIGKILL", "inference")
    try:
        msg = watcher.wait_for(_after(STATUS, killed, state="offline"), OFFLINE_WITHIN_S, "cam1 offline after kill")
        doc = msg.json()
        schema("status").validate(doc)
        assert doc["reason"] == "lost", f"a killed worker cannot say goodbye itself: {doc}"
        print(f"\nkill -> offline (last will) {msg.at - killed:.1f} s")
    finally:
        started = time.monotonic()
        stack.compose("start", "inference")
    _wait_running(watcher, started)
