"""The real UI server (node ui/src/main.js) on 127.0.0.1, a stand-in video relay and a publishing
worker, for browser tests that need no compose stack (tests/unit/test_ui_overview_browser.py).

The relay answers only what the overview asks of it: `/healthz` and `/<camera>/still.jpg` (a JPEG
drawn per request for the cameras it has pictures of, 404 for the others); it counts the stills asked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

REPO = Path(__file__).resolve().parents[2]
UI_DIR = REPO / "ui"
NODE = shutil.which("node") or "/usr/bin/node"


def ui_missing() -> str | None:
    """Why the UI server cannot run here, or None."""
    if not Path(NODE).exists():
        return "node not installed"
    if not (UI_DIR / "node_modules" / "better-sqlite3").is_dir():
        return "the UI's npm packages are not installed (cd ui && npm ci)"
    return None


def jpeg(text: str, n: int) -> bytes:
    """A 320x180 JPEG with `text` and a counter, different each time (a live camera's still)."""
    import cv2
    import numpy as np

    img = np.zeros((180, 320, 3), np.uint8)
    img[:] = (60 + (n * 40) % 120, 90, 40)
    cv2.putText(img, f"{text} #{n}", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


class FakeRelay:
    """Stand-in for the stream relay's still endpoint; `stills[camera]` lists the query strings asked."""

    def __init__(self, pictures: set[str]) -> None:
        self.pictures = pictures
        self.stills: dict[str, list[str]] = {}
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path, _, query = self.path.partition("?")
                m = re.fullmatch(r"/([A-Za-z0-9_-]+)/still\.jpg", path)
                if path == "/healthz":
                    self._send(200, "application/json",
                               json.dumps({"cameras": {c: {"live": True} for c in relay.pictures}}).encode())
                elif m:
                    cam = m.group(1)
                    relay.stills.setdefault(cam, []).append(query)
                    if cam in relay.pictures:
                        self._send(200, "image/jpeg", jpeg(cam, len(relay.stills[cam])))
                    else:
                        self._send(404, "text/plain", b"no picture of this camera yet\n")
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, status: int, ctype: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, camera: str) -> int:
        return len(self.stills.get(camera, []))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class UiServer:
    """`node ui/src/main.js` on a free loopback port; `base` is its URL once it listens."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        full = {"PATH": os.environ.get("PATH", ""), "EDGEWATCH_UI_HOST": "127.0.0.1", "EDGEWATCH_UI_LISTEN_PORT": "0",
                "EDGEWATCH_UI_DATA": str(data_dir), **env}
        self.proc = subprocess.Popen([NODE, str(UI_DIR / "src" / "main.js")], env=full, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.out: list[str] = []
        listening = threading.Event()
        self.base = ""

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.out.append(line)
                m = re.search(r"listening on http://[\d.]+:(\d+)", line)
                if m:
                    self.base = f"http://127.0.0.1:{m.group(1)}"
                    listening.set()

        threading.Thread(target=read, daemon=True).start()
        if not listening.wait(20):
            self.stop()
            raise RuntimeError(f"the UI server did not listen:\n{''.join(self.out)}")

    @classmethod
    def for_site(cls, broker: Any, relay: FakeRelay, password: str, data_dir: Path) -> UiServer:
        """The UI of a test site: its broker (host, port), the stand-in relay, a known password."""
        return cls({"EDGEWATCH_MQTT_URL": f"mqtt://{broker.host}:{broker.port}", "EDGEWATCH_UI_PASSWORD": password,
                    "EDGEWATCH_STREAM_URL": relay.url, "EDGEWATCH_STREAM_PROBE_MS": "500"}, data_dir)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Worker:
    """Publishes as the worker does: retained status/state/perf, QoS 1 events; `beat()` keeps cameras fresh."""

    def __init__(self, host: str, port: int, prefix: str = "edgewatch") -> None:
        self.prefix = prefix
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        self.retained: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def publish(self, camera: str, kind: str, payload: dict[str, Any], retain: bool = True) -> None:
        topic = f"{self.prefix}/{camera}/{kind}"
        msg = {"camera": camera, "ts": time.time(), **payload}
        if retain:
            self.retained[topic] = msg
        self.client.publish(topic, json.dumps(msg), qos=1, retain=retain).wait_for_publish(5)

    def beat(self, every_s: float = 2.0) -> None:
        """Republishes each retained state and perf now and then, as a running worker does (no 'stale')."""
        def run() -> None:
            while not self._stop.wait(every_s):
                online = {t.rsplit("/", 2)[-2] for t, m in self.retained.items()
                          if t.endswith("/status") and m["state"] == "online"}
                for topic, msg in list(self.retained.items()):
                    if topic.endswith(("/state", "/perf")) and topic.rsplit("/", 2)[-2] in online:
                        self.client.publish(topic, json.dumps({**msg, "ts": time.time()}), qos=1, retain=True)

        self._beat = threading.Thread(target=run, daemon=True)
        self._beat.start()

    def close(self) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join(5)
        self.client.loop_stop()
        self.client.disconnect()
