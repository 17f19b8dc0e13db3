"""The broker of the running stack: who may log in, who may publish and read, what is exposed."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# MQTT v5 CONNACK / PUBACK reason codes (spec 3.2.2.2, 3.4.2.1).
BAD_USER_OR_PASSWORD = 134
NOT_AUTHORIZED = 135


def test_anonymous_client_is_refused(mqtt_client):
    rc = mqtt_client().connect()
    assert rc.is_failure, f"anonymous login accepted: {rc}"
    assert rc.value in (BAD_USER_OR_PASSWORD, NOT_AUTHORIZED), rc


@pytest.mark.parametrize("user", ["worker", "ui"])
def test_wrong_password_is_refused(mqtt_client, passwords, user):
    wrong = passwords[user][::-1] + "x"
    rc = mqtt_client(user, wrong).connect()
    assert rc.is_failure, f"{user} logged in with a wrong password: {rc}"
    assert rc.value in (BAD_USER_OR_PASSWORD, NOT_AUTHORIZED), rc


def test_unknown_user_is_refused(mqtt_client, passwords):
    rc = mqtt_client("admin", passwords["worker"]).connect()
    assert rc.is_failure, f"an unknown user logged in with the worker's password: {rc}"


def test_ui_cannot_publish_and_worker_can(mqtt_client, passwords):
    topic = f"edgewatch/itest-{uuid.uuid4().hex[:8]}/acl-probe"
    watcher = mqtt_client("worker", passwords["worker"])
    assert not watcher.connect().is_failure
    watcher.subscribe(topic)
    time.sleep(0.5)  # SUBACK before the publishes below

    ui = mqtt_client("ui", passwords["ui"])
    assert not ui.connect().is_failure
    rc = ui.publish(topic, "from-ui")
    assert rc.value == NOT_AUTHORIZED, f"the broker acknowledged the ui user's publish with {rc}"

    worker = mqtt_client("worker", passwords["worker"])
    assert not worker.connect().is_failure
    assert not worker.publish(topic, "from-worker").is_failure
    # In-order delivery per topic: once the worker's message is here, the ui's would be too.
    watcher.wait_for(lambda m: m.topic == topic and m.payload == b"from-worker", 5, "the worker's message")
    time.sleep(1.0)
    assert [m.payload for m in watcher.messages(topic)] == [b"from-worker"], "the ui user's message reached a subscriber"


def test_worker_cannot_publish_outside_edgewatch(mqtt_client, passwords):
    topic = f"other/itest-{uuid.uuid4().hex[:8]}"
    worker = mqtt_client("worker", passwords["worker"])
    assert not worker.connect().is_failure
    assert worker.publish(topic, "x").value == NOT_AUTHORIZED


def test_ui_reads_worker_topics_over_mqtt_and_websockets(mqtt_client, ws_port, passwords):
    for transport, port in (("tcp", None), ("websockets", ws_port)):
        ui = mqtt_client("ui", passwords["ui"], transport=transport, port=port)
        rc = ui.connect()
        assert not rc.is_failure, f"ui login over {transport} failed: {rc}"
        ui.subscribe("edgewatch/cam1/status")
        msg = ui.wait_for(lambda m: m.topic == "edgewatch/cam1/status", 15, f"retained cam1 status over {transport}")
        assert msg.retain
        assert msg.json()["camera"] == "cam1"


def test_each_service_reads_only_its_own_mqtt_password(stack, passwords):
    own = stack.compose("exec", "-T", "inference", "cat", "/secrets/mqtt-worker-password")
    assert own.stdout.strip() == passwords["worker"]
    other = stack.compose("exec", "-T", "inference", "cat", "/secrets/mqtt-ui-password", check=False)
    assert other.returncode != 0 and "Permission denied" in other.stderr, "the worker container can read the ui password"
    if "ui" in stack.running_services():
        other = stack.compose("exec", "-T", "ui", "cat", "/secrets/mqtt-worker-password", check=False)
        assert other.returncode != 0 and "Permission denied" in other.stderr, "the ui container can read the worker password"


def test_services_run_as_non_root(stack):
    for service in sorted(stack.running_services()):
        uid = stack.compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid != "0", f"{service} runs as root"


def test_no_password_is_stored_in_images(stack, passwords):
    # Passwords live in the secrets volume only: not in any image's environment or layers' history.
    for service in ("broker", "inference"):
        image = stack.compose("images", "--format", "json", service).stdout
        ids = [row["ID"] for row in _json_rows(image)]
        assert ids, f"no image for {service}"
        for image_id in ids:
            inspect = subprocess.run(["docker", "image", "inspect", image_id], capture_output=True, text=True, check=True).stdout
            history = subprocess.run(["docker", "history", "--no-trunc", image_id], capture_output=True, text=True, check=True).stdout
            for pw in passwords.values():
                assert pw not in inspect and pw not in history, f"an MQTT password is part of the {service} image"


def test_default_stack_publishes_only_the_ui_on_loopback():
    # The production file alone (no test override): only the UI port leaves the compose network.
    # --env-file /dev/null: judge the shipped defaults, not a local .env.
    out = subprocess.run(["docker", "compose", "-f", str(REPO / "compose.yaml"), "--project-directory", str(REPO),
                          "--env-file", "/dev/null", "config", "--format", "json"], capture_output=True, text=True,
                         check=True, env=_env_without_overrides()).stdout
    services = json.loads(out)["services"]
    published = {name: svc.get("ports", []) for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"ui"}, f"published services: {sorted(published)}"
    (port,) = published["ui"]
    assert port["host_ip"] == "127.0.0.1" and port["target"] == 8080 and port["published"] == "8080", port


def _json_rows(text: str) -> list[dict]:
    text = text.strip()
    return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]


def _env_without_overrides() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EDGEWATCH_") and not k.startswith("COMPOSE_")}
