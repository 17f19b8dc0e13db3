"""The inference worker in the running stack, seen from MQTT: live state, presence, restarts.

These tests stop and kill the inference container and start it again; each leaves it running.
"""

from __future__ import annotations

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


def _fresh(topic: str, since_wall: float, **fields):
    """Matches a message on `topic`, stamped after `since_wall`, whose JSON has `fields`."""

    def match(m) -> bool:
        if m.topic != topic:
            return False
        doc = m.json()
        return doc.get("ts", 0) >= since_wall and all(doc.get(k) == v for k, v in fields.items())

    return match


def _arrived_after(topic: str, since_monotonic: float, **fields):
    """Matches a message on `topic` that arrived after `since_monotonic` and whose JSON has `fields`.

    For status, arrival time is what counts: the last will carries the ts of the worker's connect.
    """

    def match(m) -> bool:
        return m.topic == topic and m.at >= since_monotonic and all(m.json().get(k) == v for k, v in fields.items())

    return match


def _wait_running(stack, watcher) -> dict:
    """Waits until the worker is online and publishing state; returns the first fresh state."""
    t0 = time.time()
    # Messages arrive in order: an older retained 'offline' is passed over until 'online' comes.
    watcher.wait_for(lambda m: m.topic == STATUS and m.json().get("state") == "online", BACK_WITHIN_S, "cam1 online")
    return watcher.wait_for(_fresh(STATE, t0), BACK_WITHIN_S, "fresh cam1 state").json()


def test_state_perf_and_status_match_their_schemas(stack, watcher, schema):
    state_v, status_v, perf_v = schema("state"), schema("status"), schema("perf")
    t0 = time.time()
    states = []
    deadline = time.monotonic() + 30
    while len(states) < 5:
        states.append(watcher.wait_for(_fresh(STATE, t0), deadline - time.monotonic(), "5 fresh state messages").json())
    for doc in states:
        state_v.validate(doc)
        assert doc["camera"] == "cam1"
    frames = [d["frame"] for d in states]
    assert frames == sorted(frames) and frames[-1] > frames[0], f"frames do not advance: {frames}"

    status = watcher.wait_for(lambda m: m.topic == STATUS, 10, "retained status")
    status_v.validate(status.json())
    assert status.json()["state"] == "online"

    perf = watcher.wait_for(lambda m: m.topic == PERF, 15, "perf").json()
    perf_v.validate(perf)
    assert perf["model"] == "person-detection-retail-0013" and perf["fps"] > 0, perf


def test_stop_marks_offline_and_start_restores_state(stack, watcher, schema):
    before = _wait_running(stack, watcher)
    started = time.monotonic()
    stopper = subprocess.Popen(["docker", "compose", "-p", stack.project, "--project-directory", str(stack.files[0].parent),
                                *sum((["-f", str(f)] for f in stack.files), []), "stop", "inference"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        msg = watcher.wait_for(_arrived_after(STATUS, started, state="offline"), OFFLINE_WITHIN_S, "cam1 offline after stop")
    finally:
        _, err = stopper.communicate(timeout=60)
    offline_after = msg.at - started
    doc = msg.json()
    schema("status").validate(doc)
    assert doc["reason"] == "closed", doc
    assert stopper.returncode == 0, err
    last = [m.json() for m in watcher.drain() if m.topic == STATE]
    total_before = max([before["total"]] + [d["total"] for d in last])

    t_start = time.time()
    stack.compose("start", "inference")
    after = _wait_running(stack, watcher)
    back_after = time.time() - t_start
    schema("state").validate(after)
    assert after["total"] >= total_before, f"the day's total fell from {total_before} to {after['total']} across a restart"
    print(f"stop -> offline {offline_after:.1f} s; start -> fresh state {back_after:.1f} s")


def test_killed_worker_goes_offline_by_last_will(stack, watcher):
    _wait_running(stack, watcher)
    started = time.monotonic()
    stack.compose("kill", "-s", "SIGKILL", "inference")
    try:
        msg = watcher.wait_for(_arrived_after(STATUS, started, state="offline"), OFFLINE_WITHIN_S, "cam1 offline after kill")
        doc = msg.json()
        assert doc["reason"] == "lost", f"a killed worker cannot say goodbye itself: {doc}"
        print(f"kill -> offline (last will) {msg.at - started:.1f} s")
    finally:
        stack.compose("start", "inference")
    _wait_running(stack, watcher)
