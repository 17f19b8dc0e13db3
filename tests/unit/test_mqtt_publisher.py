"""MqttPublisher against a real Mosquitto: contract, schemas, last will, broker restarts, outbox across runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from edgewatch.config import MqttConfig, TlsConfig
from edgewatch.errors import EdgewatchError
from edgewatch.publishers.mqtt import MqttPublisher, check_host
from edgewatch.schemas import load_schema
from edgewatch.types import (
    Event,
    Frame,
    FrameFacts,
    LineCount,
    ModelOutput,
    Segmentation,
    Track,
    ZoneState,
)
from mosquitto_fixture import Mosquitto, MqttSubscriber, Received, free_port, make_tls_files

REPO = Path(__file__).resolve().parents[2]
SCHEMA_OF = {"status": "status", "state": "state", "events": "event", "perf": "perf", "segmentation": "segmentation"}
VALIDATORS = {leaf: jsonschema.Draft202012Validator(load_schema(name)) for leaf, name in SCHEMA_OF.items()}


def validate(msg: Received) -> dict[str, Any]:
    leaf = msg.topic.rsplit("/", 1)[1]
    payload = msg.json()
    VALIDATORS[leaf].validate(payload)
    return payload


def facts(index: int, in_frame: int, total: int, *, seg: bool = False) -> FrameFacts:
    frame = Frame(index=index, video_s=index / 10, captured_at=time.time(), image=np.zeros((48, 64, 3), np.uint8))
    tracks = [Track(id=i + 1, box=(1.0 + i, 2.0, 11.5, 30.25), score=0.9, enter_s=0.5, last_seen_s=index / 10) for i in range(in_frame)]
    segmentation = Segmentation(np.zeros((4, 4), np.uint8), {"road": 0.41, "background": 0.59}) if seg else None
    output = ModelOutput(frame=frame, infer_ms=8.0, detections=None if seg else [], segmentation=segmentation)
    return FrameFacts(
        output=output,
        tracks=tracks,
        in_frame=in_frame,
        total=total,
        avg_duration_s=3.25,
        lines=[LineCount("door", in_count=total, out_count=1)],
        zones=[ZoneState("table", occupancy=in_frame, entered=total, max_dwell_s=4.5)],
        events=[],
    )


def one_of_each_event() -> list[Event]:
    return [
        Event("person_enter", 1.0, {"track_id": 1, "side": "left"}),
        Event("person_leave", 2.0, {"track_id": 1, "duration_s": 1.0, "side": None}),
        Event("line_cross", 1.5, {"track_id": 1, "line": "door", "direction": "in"}),
        Event("zone_enter", 1.6, {"track_id": 1, "zone": "table"}),
        Event("zone_leave", 1.9, {"track_id": 1, "zone": "table", "dwell_s": 0.3}),
        Event("alert", 1.7, {"rule": "max_people", "value": 5, "limit": 4}),
        Event("alert", 1.8, {"rule": "max_dwell", "value": 31.0, "limit": 30.0, "track_id": 1}),
        Event("class_begin", 3.0, {"class": "person", "score": np.float32(0.875)}),  # numpy scalar on purpose
        Event("class_end", 4.0, {"class": "person", "score": 0.2}),
        Event("source_lost", 5.0, {"detail": "rtsp timeout"}),
        Event("source_restored", 6.0, {"detail": "reopened"}),
    ]


def cfg(broker: Mosquitto | int, tmp_path: Path, **kw: Any) -> MqttConfig:
    port = broker if isinstance(broker, int) else broker.port
    return MqttConfig(host="127.0.0.1", port=port, outbox=str(tmp_path / "outbox.sqlite"), **kw)


def wait_until(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return bool(cond())


def event_ids(sub: MqttSubscriber) -> list[str]:
    return [m.json()["id"] for m in sub.on("events")]


def test_every_topic_round_trips_and_matches_its_schema(mosquitto, mqtt_subscriber, tmp_path):
    sub = mqtt_subscriber(mosquitto, "edgewatch/#")
    pub = MqttPublisher(cfg(mosquitto, tmp_path), "cam1", "rtsp://user:secret@10.0.0.5/stream")
    pub.start()
    assert wait_until(lambda: pub.connected, 5)
    events = one_of_each_event()
    pub.publish_state(facts(10, in_frame=2, total=3))
    pub.publish_events(events)
    pub.publish_perf({"fps": 9.9, "infer_ms_p50": 8.1, "infer_ms_p95": 9.4, "latency_ms_p50": 40.2, "latency_ms_p95": float("nan"),
                      "mqtt_bps": 812.0, "video_bps": None, "model": "person-detection-retail-0013", "precision": "FP16",
                      "device": "CPU", "frames": 10})
    pub.publish_segmentation(facts(11, 0, 3, seg=True))
    report = pub.close(5)
    assert (report.delivered, report.pending) == (len(events), 0)
    assert sub.wait_for(lambda ms: any(m.topic.endswith("/status") and m.json()["state"] == "offline" for m in ms), 5)

    by_leaf: dict[str, list[dict[str, Any]]] = {}
    for m in sub.messages:
        by_leaf.setdefault(m.topic.rsplit("/", 1)[1], []).append(validate(m))
    assert all(m.topic.startswith("edgewatch/cam1/") for m in sub.messages)
    assert [s["state"] for s in by_leaf["status"]] == ["online", "offline"]
    assert by_leaf["status"][1]["reason"] == "closed"
    assert by_leaf["status"][0]["source"] == "rtsp://10.0.0.5/stream"  # credentials never published
    state = by_leaf["state"][-1]
    assert (state["in_frame"], state["total"], state["frame"]) == (2, 3, 10)
    assert state["tracks"][0] == {"id": 1, "box": [1.0, 2.0, 11.5, 30.2], "enter_s": 0.5, "duration_s": 0.5}
    assert state["lines"] == {"door": {"in": 3, "out": 1}}
    assert state["zones"] == {"table": {"occupancy": 2, "entered": 3, "max_dwell_s": 4.5}}
    assert by_leaf["perf"][-1]["latency_ms_p95"] is None
    assert by_leaf["segmentation"][-1]["classes"] == {"road": 0.41, "background": 0.59}
    got = by_leaf["events"]
    assert [e["id"] for e in got] == [e.id for e in events]
    assert [e["seq"] for e in got] == list(range(1, len(events) + 1))
    assert got[7]["score"] == 0.875
    # bytes_sent counts topic + payload of exactly what the broker passed on
    assert pub.bytes_sent == sum(len(m.topic) + len(m.payload) for m in sub.messages)

    # status/state/perf/segmentation are retained, events are not
    late = mqtt_subscriber(mosquitto, "edgewatch/#")
    assert late.wait_for(lambda ms: len(ms) >= 4, 3)
    time.sleep(0.2)
    assert sorted(m.topic.rsplit("/", 1)[1] for m in late.messages) == ["perf", "segmentation", "state", "status"]
    assert all(m.retain for m in late.messages)


def test_state_rate_limited_but_latest_state_always_arrives(mosquitto, mqtt_subscriber, tmp_path):
    sub = mqtt_subscriber(mosquitto, "edgewatch/cam1/state")
    pub = MqttPublisher(cfg(mosquitto, tmp_path, state_hz=5.0), "cam1", "video.mp4")
    pub.start()
    assert wait_until(lambda: pub.connected, 5)
    t0 = time.monotonic()
    total = 0
    while time.monotonic() - t0 < 1.5:  # 100 frames a second, every one a change
        total += 1
        pub.publish_state(facts(total, in_frame=total % 3, total=total))
        time.sleep(0.01)
    offered_for_s = time.monotonic() - t0
    # the last change arrives at the next slot without more frames, before close(): the worker's loop polls
    # every 50 ms (no thread per message)
    deadline = time.monotonic() + 1.0
    while not sub.wait_for(lambda ms: bool(ms) and ms[-1].json()["total"] == total, 0.05):
        assert time.monotonic() < deadline, "latest state never published"
        pub.flush_due()
    arrivals = [m.at for m in sub.messages]
    assert 5 <= len(arrivals) <= offered_for_s * 5 + 2, f"{len(arrivals)} state messages in {offered_for_s:.2f} s at state_hz=5"
    gaps = np.diff(arrivals)
    assert gaps.min() > 0.15, f"two state messages {gaps.min():.3f} s apart"
    for m in sub.messages:
        validate(m)
    pub.close(1)


@pytest.mark.parametrize(
    "sig,within_s",
    [
        (signal.SIGKILL, 3.0),  # process gone: the kernel closes the socket, the broker sends the will at once
        # hung worker, socket open: the 5 s keep-alive runs out; Mosquitto 2.0.11 drops it ~10 s after its last packet
        (signal.SIGSTOP, 14.0),
    ],
    ids=["killed", "hung"],
)
def test_last_will_says_offline_when_the_worker_vanishes(sig, within_s, mosquitto, mqtt_subscriber, tmp_path):
    sub = mqtt_subscriber(mosquitto, "edgewatch/camk/status")
    child = textwrap.dedent(f"""
        import time
        from edgewatch.config import MqttConfig
        from edgewatch.publishers.mqtt import MqttPublisher
        pub = MqttPublisher(MqttConfig(host="127.0.0.1", port={mosquitto.port}, outbox={str(tmp_path / 'k.sqlite')!r}), "camk", "cam0")
        pub.start()
        while not pub.connected:
            time.sleep(0.01)
        print("ready", flush=True)
        time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "inference")}
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        assert sub.wait_for(lambda ms: any(m.json()["state"] == "online" for m in ms), 5)
        vanished_at = time.monotonic()
        proc.send_signal(sig)
        assert sub.wait_for(lambda ms: ms[-1].json()["state"] == "offline", within_s), f"no last will within {within_s} s"
    finally:
        proc.kill()
        proc.wait()
    will = sub.messages[-1]
    assert validate(will)["reason"] == "lost"
    assert will.at - vanished_at < within_s


def test_broker_restart_mid_stream_loses_no_event(mosquitto_factory, mqtt_subscriber, tmp_path):
    broker = mosquitto_factory(persistence=True)
    # persistent QoS 1 session: the broker keeps what arrives for us while we are away
    sub = mqtt_subscriber(broker, "edgewatch/cam2/events", client_id="edgewatch-test-sub", clean_session=False)
    pub = MqttPublisher(cfg(broker, tmp_path), "cam2", "video.mp4")
    pub.start()
    assert wait_until(lambda: pub.connected, 5)
    sent: list[str] = []
    pending_while_down = 0
    i = 0
    while i < 200:
        burst = 30 if i == 70 else 1
        evs = [Event("person_enter", (i + k) / 10, {"track_id": i + k, "side": None}) for k in range(burst)]
        sent += [e.id for e in evs]
        pub.publish_events(evs)
        i += burst
        if i == 100:
            broker.stop()  # right after a burst: often some of it is not acknowledged yet
        if i == 170:
            pending_while_down = pub.pending_events
            broker.start()
        time.sleep(0.005)
    assert len(sent) == 200
    assert pending_while_down >= 70, f"only {pending_while_down} events queued while the broker was down"
    report = pub.close(20)
    assert report.pending == 0 and report.delivered == 200, report
    assert sub.wait_for(lambda ms: {m.json()["id"] for m in ms} >= set(sent), 15)
    received = event_ids(sub)
    assert set(received) == set(sent), f"missing {len(set(sent) - set(received))}"
    for m in sub.on("events"):
        validate(m)


def test_events_in_flight_when_the_broker_dies_are_sent_again(mosquitto_factory, mqtt_subscriber, tmp_path):
    broker = mosquitto_factory(persistence=False)
    pub = MqttPublisher(cfg(broker, tmp_path), "cam6", "video.mp4")
    pub.start()
    assert wait_until(lambda: pub.connected, 5)
    broker.pause()  # hung broker: the events reach its socket but are never acknowledged
    evs = [Event("line_cross", i, {"track_id": i, "line": "door", "direction": "out"}) for i in range(30)]
    pub.publish_events(evs)
    time.sleep(0.2)
    assert pub.pending_events == 30
    broker.kill()  # dies without having read them
    broker.start()  # an empty broker on the same port
    sub = mqtt_subscriber(broker, "edgewatch/cam6/events")
    assert not pub.connected, "publisher reconnected before the subscriber was ready; test inconclusive"
    report = pub.close(10)
    assert (report.delivered, report.pending) == (30, 0)
    assert sub.wait_for(lambda ms: len(ms) >= 30, 5)
    assert event_ids(sub) == [e.id for e in evs]


def test_events_kept_on_disk_when_broker_is_down_are_sent_by_the_next_run(mosquitto_factory, mqtt_subscriber, tmp_path):
    broker = mosquitto_factory(start=False)
    first = MqttPublisher(cfg(broker, tmp_path), "cam3", "video.mp4")
    first.start()
    old = [Event("person_enter", i, {"track_id": i, "side": "top"}) for i in range(20)]
    first.publish_events(old)
    t0 = time.monotonic()
    report = first.close(0.3)  # broker unreachable: not fatal, bounded wait
    assert time.monotonic() - t0 < 2
    assert (report.delivered, report.pending) == (0, 20)
    assert Path(report.outbox).is_file()

    broker.start()
    sub = mqtt_subscriber(broker, "edgewatch/cam3/events")
    second = MqttPublisher(cfg(broker, tmp_path), "cam3", "video.mp4")
    assert second.pending_events == 20
    second.start()
    new = [Event("person_leave", 30, {"track_id": 99, "duration_s": 1.5, "side": "bottom"})]
    second.publish_events(new)
    report = second.close(10)
    assert (report.delivered, report.pending) == (21, 0)
    assert sub.wait_for(lambda ms: len(ms) >= 21, 5)
    got = [validate(m) for m in sub.on("events")]
    assert [e["id"] for e in got] == [e.id for e in old + new]  # earlier run's events first, in order
    assert [e["seq"] for e in got] == list(range(1, 22))  # seq continues across runs


def test_events_survive_a_killed_worker(mosquitto_factory, mqtt_subscriber, tmp_path):
    broker = mosquitto_factory(start=False)
    outbox = tmp_path / "killed.sqlite"
    child = textwrap.dedent(f"""
        import time
        from edgewatch.config import MqttConfig
        from edgewatch.publishers.mqtt import MqttPublisher
        from edgewatch.types import Event
        pub = MqttPublisher(MqttConfig(host="127.0.0.1", port={broker.port}, outbox={str(outbox)!r}), "cam4", "cam0")
        pub.start()
        evs = [Event("zone_enter", i, {{"track_id": i, "zone": "z"}}) for i in range(15)]
        pub.publish_events(evs)
        print(" ".join(e.id for e in evs), flush=True)
        time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO / "inference")}
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        ids = proc.stdout.readline().decode().split()
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
    finally:
        proc.kill()
        proc.wait()
    assert len(ids) == 15
    broker.start()
    sub = mqtt_subscriber(broker, "edgewatch/cam4/events")
    pub = MqttPublisher(MqttConfig(host="127.0.0.1", port=broker.port, outbox=str(outbox)), "cam4", "cam0")
    pub.start()
    report = pub.close(10)
    assert (report.delivered, report.pending) == (15, 0)
    assert sub.wait_for(lambda ms: len(ms) >= 15, 5)
    assert event_ids(sub) == ids


def test_unreachable_broker_is_not_fatal(tmp_path):
    port = free_port()  # nothing listens here
    pub = MqttPublisher(cfg(port, tmp_path), "cam5", "video.mp4")
    pub.start()
    pub.publish_state(facts(1, 1, 1))
    pub.publish_perf({"fps": 1.0, "frames": 1})
    pub.publish_events([Event("source_lost", 0, {"detail": "x"})])
    time.sleep(0.3)
    assert not pub.connected
    assert pub.bytes_sent == 0
    report = pub.close(0.2)
    assert (report.delivered, report.pending) == (0, 1)


@pytest.mark.parametrize(
    "host",
    ["mqtt://broker", "broker:1883", "", "   ", "bad host", "-broker", "broker..lan", "bröker", "a" * 64 + ".lan"],
)
def test_malformed_host_is_a_one_line_error(host, tmp_path):
    with pytest.raises(EdgewatchError, match=r"^mqtt\.host: ") as err:
        MqttPublisher(MqttConfig(host=host, outbox=str(tmp_path / "o.sqlite")), "cam1", "x")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("host", ["broker", "mosquitto_1", "broker.example.lan", "10.0.0.7", "::1", "[::1]"])
def test_well_formed_hosts_are_accepted(host):
    assert check_host(host) in (host, "::1")


def test_missing_tls_file_is_a_one_line_error(tmp_path):
    with pytest.raises(EdgewatchError, match=r"^mqtt\.tls\.ca: file not found: "):
        MqttPublisher(cfg(1883, tmp_path, tls=TlsConfig(ca=str(tmp_path / "nope.crt"))), "cam1", "x")


def test_username_and_password(mosquitto_factory, mqtt_subscriber, tmp_path):
    broker = mosquitto_factory(users={"edge": "s3cret"})
    sub = mqtt_subscriber(broker, "edgewatch/#", username="edge", password="s3cret")
    wrong = MqttPublisher(cfg(broker, tmp_path / "w", username="edge", password="nope"), "camw", "x")
    wrong.start()
    right = MqttPublisher(cfg(broker, tmp_path / "r", username="edge", password="s3cret"), "camr", "x")
    right.start()
    assert wait_until(lambda: right.connected, 5)
    right.publish_events([Event("source_restored", 1, {"detail": "ok"})])
    wrong.publish_events([Event("source_restored", 1, {"detail": "ok"})])
    assert right.close(5).delivered == 1
    time.sleep(0.5)
    assert not wrong.connected
    assert wrong.close(0.1).pending == 1  # refused: kept for later, not fatal
    topics = {m.topic for m in sub.messages}
    assert "edgewatch/camr/events" in topics and not any(t.startswith("edgewatch/camw/") for t in topics)


def test_tls_with_own_ca(mosquitto_factory, mqtt_subscriber, tmp_path):
    pytest.importorskip("cryptography")
    tls = make_tls_files(tmp_path / "tls")
    broker = mosquitto_factory(tls=tls)
    sub = mqtt_subscriber(broker, "edgewatch/#", ca=tls.ca)
    pub = MqttPublisher(cfg(broker, tmp_path, tls=TlsConfig(ca=str(tls.ca))), "camt", "x")
    pub.start()
    assert wait_until(lambda: pub.connected, 5)
    pub.publish_events([Event("source_restored", 1, {"detail": "tls"})])
    assert pub.close(5).delivered == 1
    assert sub.wait_for(lambda ms: any(m.topic == "edgewatch/camt/events" for m in ms), 5)

    # a client that does not trust the CA never connects, and that is not fatal either
    untrusted = MqttPublisher(cfg(broker, tmp_path / "u", tls=TlsConfig()), "camu", "x")
    untrusted.start()
    time.sleep(0.5)
    assert not untrusted.connected
    untrusted.close(0)
