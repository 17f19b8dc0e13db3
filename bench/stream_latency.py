#!/usr/bin/env python
"""Frame-to-screen latency and bandwidth of the stream relay's paths, with real FFmpeg.

A sender encodes frames of the course video with the frame number burned into a
black/white strip at the top (as the worker would: libx264 veryfast zerolatency,
one keyframe a second), pushes them over a protocol, and a receiver decodes each path
and reads the number back; latency = receive time - send time of that frame.

  python bench/stream_latency.py                 # everything (~3 min)
  python bench/stream_latency.py --only relay    # one group: ingest, relay, browser, bandwidth

Receivers: FFmpeg decoding with low-delay flags (the "decoder side"), and for the live
WebSocket path headless Chromium (Debian's /usr/bin/chromium via Playwright) playing
the page the UI uses, timed at the moment the compositor presents each frame.
Needs: ffmpeg, aiohttp; for RTSP Debian's python3-gi + gir1.2-gst-rtsp-server-1.0;
for the browser playwright (pip) + chromium (apt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEWATCH_SHARED", REPO.parent / "shared"))
VIDEO = SHARED / "videos" / "Pedestrian_Detect_2_1_1.mp4"
W, H, FPS = 768, 432, 10
STRIP, BITS = 48, 16
FRAME = W * H * 3 // 2  # yuv420p
GI_PYTHON = os.environ.get("STREAM_RTSP_PYTHON", "/usr/bin/python3")

# What the worker uses (and what the relay's README tells it to use).
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", str(FPS), "-bf", "0",
          "-b:v", "800k", "-maxrate", "800k", "-bufsize", "400k", "-pix_fmt", "yuv420p", "-flush_packets", "1",
          *os.environ.get("BENCH_ENCODE_EXTRA", "").split()]
# The relay's ingest: FLV in a chunked HTTP POST (measured fastest; see stream/README.md).
INGEST = ["-f", "flv"]
# Low-delay decoding at the receiver: no probe wait, no frame threads (each would add a frame).
DECODE = ["-fflags", "nobuffer", "-flags", "low_delay", "-threads", "1", "-probesize", "32768", "-analyzeduration", "0"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- frame stamps

def load_frames(n: int) -> list[bytes]:
    """`n` consecutive yuv420p frames of the course video (from 30 s in, when people are in view)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", "30", "-i", str(VIDEO), "-frames:v", str(n), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
        capture_output=True, check=True).stdout
    return [raw[i * FRAME:(i + 1) * FRAME] for i in range(len(raw) // FRAME)]


def stamp(frame: bytes, n: int) -> bytes:
    """Burn 16 blocks into the top strip: marker 1, 14 bits of n, marker 0 (luma only, chroma neutral)."""
    code = (1 << 15) | ((n & 0x3FFF) << 1)
    f = bytearray(frame)
    bw = W // BITS
    for i in range(BITS):
        v = 235 if code >> (BITS - 1 - i) & 1 else 16
        row = bytes([v]) * bw
        for y in range(STRIP):
            f[y * W + i * bw: y * W + (i + 1) * bw] = row
    cw = W // 2
    for y in range(STRIP // 2):  # U and V planes of the strip
        f[W * H + y * cw: W * H + (y + 1) * cw] = b"\x80" * cw
        f[W * H * 5 // 4 + y * cw: W * H * 5 // 4 + (y + 1) * cw] = b"\x80" * cw
    return bytes(f)


def read_stamp(strip: bytes, width: int = W) -> int | None:
    bw = width // BITS
    code = 0
    for i in range(BITS):
        code = code << 1 | (strip[(STRIP // 2) * width + i * bw + bw // 2] > 128)
    if code >> 15 != 1 or code & 1:
        return None
    return (code >> 1) & 0x3FFF


# ---------------------------------------------------------------- sender / receiver

class Sender:
    """Encodes stamped frames in real time with the worker's settings and pushes them to `url`."""

    def __init__(self, frames: list[bytes], out_args: list[str], url: str) -> None:
        self.frames = frames
        self.sent: dict[int, float] = {}
        self.proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", str(FPS),
             "-i", "pipe:0", *ENCODE, *out_args, url],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, bufsize=0)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        t0 = time.time()
        n = 0
        while not self._stop.is_set():
            due = t0 + n / FPS
            if (d := due - time.time()) > 0:
                time.sleep(d)
            try:
                self.sent[n] = time.time()
                self.proc.stdin.write(stamp(self.frames[n % len(self.frames)], n))
            except (BrokenPipeError, ValueError, OSError):
                return
            n += 1

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(2)
        if self.thread.is_alive():  # stuck writing into a stalled encoder: do not wait on its lock
            self.proc.kill()
            self.thread.join(2)
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Receiver:
    """Decodes `in_args` with FFmpeg and notes when each stamped frame comes out."""

    def __init__(self, in_args: list[str], stdin=subprocess.DEVNULL) -> None:
        self.got: dict[int, float] = {}
        self.proc = subprocess.Popen(
            ["ffmpeg", "-v", "error", *DECODE, *in_args,
             "-vf", f"crop={W}:{STRIP}:0:0,format=gray", "-fps_mode", "passthrough", "-f", "rawvideo", "-flush_packets", "1", "pipe:1"],
            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        size = W * STRIP
        while True:
            buf = self.proc.stdout.read(size)
            if len(buf) < size:
                return
            n = read_stamp(buf)
            if n is not None and n not in self.got:
                self.got[n] = time.time()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Result:
    name: str
    lat_ms: list[float] = field(default_factory=list)
    sent: int = 0
    note: str = ""

    def row(self) -> str:
        if not self.lat_ms:
            return f"| {self.name} | - | - | 0/{self.sent} | {self.note or 'no frames'} |"
        q = statistics.quantiles(self.lat_ms, n=20) if len(self.lat_ms) > 1 else [self.lat_ms[0]] * 19
        return (f"| {self.name} | {statistics.median(self.lat_ms):.0f} | {q[18]:.0f} | "
                f"{len(self.lat_ms)}/{self.sent} | {self.note} |")


def compare(name: str, sent: dict[int, float], got: dict[int, float], skip_s: float = 2.0, note: str = "") -> Result:
    """Latency of frames received; the first `skip_s` of the stream (joining, probing) is left out."""
    if not sent:
        return Result(name, note=note)
    first = min(sent.values())
    lat = [(got[n] - t) * 1000 for n, t in sent.items() if n in got and t - first >= skip_s]
    counted = sum(1 for t in sent.values() if t - first >= skip_s)
    return Result(name, lat, counted, note)


# ---------------------------------------------------------------- the relay under test

class Relay:
    def __init__(self, rtsp: bool = True) -> None:
        self.http, self.rtsp_port = free_port(), (free_port() if rtsp else 0)
        self.base = f"http://127.0.0.1:{self.http}"
        self.log = open(os.devnull, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "--host", "127.0.0.1", "--port", str(self.http),
             "--rtsp-port", str(self.rtsp_port), "--rtsp-python", GI_PYTHON],
            cwd=REPO / "stream", stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                st = self.status()
                if not rtsp or st["rtsp"]["running"]:
                    time.sleep(0.5 if rtsp else 0)  # let GStreamer bind
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("relay did not start")

    def status(self) -> dict:
        with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
            return json.loads(r.read())

    def wait_live(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status()["cameras"].get("cam1", {}).get("live"):
                return
            time.sleep(0.1)
        raise SystemExit("publisher never went live on the relay")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WsToPipe:
    """Reads the relay's live WebSocket and writes the fMP4 bytes into a process's stdin (browser stand-in)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.bytes = 0
        self.r, self.w = os.pipe()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),), daemon=True)
        self.thread.start()

    async def _run(self) -> None:
        import aiohttp
        out = os.fdopen(self.w, "wb", buffering=0)
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(self.url) as ws:
                self.ws = ws
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        break
                    self.bytes += len(msg.data)
                    out.write(msg.data)
        except (BrokenPipeError, asyncio.CancelledError):
            pass
        finally:
            out.close()

    def stop(self) -> None:
        for t in asyncio.all_tasks(self.loop):
            self.loop.call_soon_threadsafe(t.cancel)
        self.thread.join(3)


# ---------------------------------------------------------------- groups

def run_pair(name: str, frames, out_args, url, in_args, seconds, listener_first=True, note="") -> Result:
    if listener_first:
        rx = Receiver(in_args)
        time.sleep(0.7)
        tx = Sender(frames, out_args, url)
    else:
        tx = Sender(frames, out_args, url)
        time.sleep(0.5)
        rx = Receiver(in_args)
    time.sleep(seconds)
    tx.stop()
    time.sleep(0.5)
    rx.stop()
    return compare(name, tx.sent, rx.got, note=note)


def group_ingest(frames, seconds: float) -> list[Result]:
    """Protocols from the worker's FFmpeg to an FFmpeg receiver, no relay: what each transport costs."""
    out = []
    p = free_port()
    out.append(run_pair("MPEG-TS over TCP", frames, ["-f", "mpegts"], f"tcp://127.0.0.1:{p}",
                        ["-f", "mpegts", "-i", f"tcp://127.0.0.1:{p}?listen=1"], seconds))
    p = free_port()
    out.append(run_pair("MPEG-TS over TCP, -omit_video_pes_length 0", frames,
                        ["-f", "mpegts", "-omit_video_pes_length", "0"], f"tcp://127.0.0.1:{p}",
                        ["-f", "mpegts", "-i", f"tcp://127.0.0.1:{p}?listen=1"], seconds))
    p = free_port()
    out.append(run_pair("FLV over TCP", frames, ["-f", "flv"], f"tcp://127.0.0.1:{p}",
                        ["-f", "flv", "-i", f"tcp://127.0.0.1:{p}?listen=1"], seconds))
    p = free_port()
    out.append(run_pair("MPEG-TS over SRT (latency 120 ms, libsrt default)", frames,
                        ["-f", "mpegts", "-omit_video_pes_length", "0"], f"srt://127.0.0.1:{p}?mode=caller",
                        ["-f", "mpegts", "-i", f"srt://127.0.0.1:{p}?mode=listener"], seconds))
    p = free_port()
    out.append(run_pair("MPEG-TS over SRT (latency 20 ms)", frames,
                        ["-f", "mpegts", "-omit_video_pes_length", "0"], f"srt://127.0.0.1:{p}?mode=caller&latency=20000",
                        ["-f", "mpegts", "-i", f"srt://127.0.0.1:{p}?mode=listener&latency=20000"], seconds))
    p = free_port()
    out.append(run_pair("RTSP push (ANNOUNCE/RECORD) over TCP", frames, ["-f", "rtsp", "-rtsp_transport", "tcp"],
                        f"rtsp://127.0.0.1:{p}/cam1",
                        ["-rtsp_flags", "listen", "-rtsp_transport", "tcp", "-i", f"rtsp://127.0.0.1:{p}/cam1"], seconds))
    return out


def group_relay(frames, seconds: float) -> list[Result]:
    """Through the relay: HTTP POST ingest -> each output path, decoded by FFmpeg."""
    out = []
    relay = Relay()
    try:
        ingest = f"{relay.base}/ingest/cam1"
        for label, args in ((", ingest MPEG-TS", ["-f", "mpegts"]),
                            (", ingest MPEG-TS -omit_video_pes_length 0", ["-f", "mpegts", "-omit_video_pes_length", "0"]),
                            (", ingest FLV", INGEST)):
            tx = Sender(frames, args, ingest)
            relay.wait_live()
            ws = WsToPipe(relay.base.replace("http:", "ws:") + "/cam1/live.ws")
            rx = Receiver(["-f", "mp4", "-i", "pipe:0"], stdin=ws.r)
            time.sleep(seconds)
            rx.stop(); ws.stop()
            out.append(compare(f"relay fMP4/WebSocket{label}", tx.sent, rx.got, note="decoder side"))
            tx.stop()
            time.sleep(1.5)
        tx = Sender(frames, INGEST, ingest)
        relay.wait_live()
        time.sleep(0.5)
        rtsp = Receiver(["-rtsp_transport", "tcp", "-i", f"rtsp://127.0.0.1:{relay.rtsp_port}/cam1"])
        mj_src = subprocess.Popen(  # what an MJPEG endpoint would do: decode + re-encode every frame
            ["ffmpeg", "-v", "error", *DECODE, "-i", f"{relay.base}/cam1/live.mp4", "-c:v", "mjpeg", "-q:v", "5",
             "-f", "mpjpeg", "-flush_packets", "1", "pipe:1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        mjpeg = Receiver(["-f", "mpjpeg", "-i", "pipe:0"], stdin=mj_src.stdout)
        mj_src.stdout.close()  # the receiver holds it now; ours would keep the pipe alive after it exits
        time.sleep(4)  # HLS: a player joins a playlist that already has segments
        hls = Receiver(["-live_start_index", "-3", "-i", f"{relay.base}/cam1/hls/index.m3u8"])
        time.sleep(seconds + 4)
        for r in (rtsp, mjpeg, hls):
            r.stop()
        mj_src.kill(); mj_src.wait()
        tx.stop()
        out.append(compare("relay RTSP (GStreamer, TCP)", tx.sent, rtsp.got, note="decoder side"))
        out.append(compare("MJPEG over HTTP (transcode, q=5)", tx.sent, mjpeg.got, note="decoder side; not served, candidate only"))
        out.append(compare("relay HLS (1 s segments, joins 3 back)", tx.sent, hls.got, skip_s=6, note="ffmpeg HLS client"))
    finally:
        relay.stop()
    return out


def group_browser(frames, seconds: float) -> list[Result]:
    """Headless Chromium plays the live path with stream/www/player.js; time = frame presentation."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [Result("Chromium, fMP4/WebSocket/MSE", note="playwright not installed")]
    relay = Relay(rtsp=False)
    try:
        tx = Sender(frames, INGEST, f"{relay.base}/ingest/cam1")
        relay.wait_live()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page()
            page.goto(f"{relay.base}/bench.html?cam=cam1")
            time.sleep(seconds)
            samples = page.evaluate("window.samples")
            dropped = page.evaluate("(() => { const q = document.getElementById('v').getVideoPlaybackQuality(); return [q.totalVideoFrames, q.droppedVideoFrames, window.player.stats.seeks]; })()")
            browser.close()
        tx.stop()
    finally:
        relay.stop()
    got: dict[int, float] = {}
    for code, t in samples:
        if code >> 15 == 1 and not code & 1:
            got.setdefault((code >> 1) & 0x3FFF, t / 1000)
    return [compare("Chromium, fMP4/WebSocket/MSE (frame presented)", tx.sent, got, skip_s=5,
                    note=f"headless, software decode; decoded {dropped[0]}, dropped {dropped[1]}, live-edge seeks {dropped[2]}")]


def group_bandwidth(seconds: float) -> list[str]:
    """Bytes/s of each path on the course video, encoded as the worker does (800 kbit/s cap)."""
    relay = Relay()
    rows = []
    try:
        pub = subprocess.Popen(
            ["ffmpeg", "-v", "error", "-re", "-ss", "20", "-i", str(VIDEO), "-an", *ENCODE, *INGEST, f"{relay.base}/ingest/cam1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        relay.wait_live()
        ws = WsToPipe(relay.base.replace("http:", "ws:") + "/cam1/live.ws")
        sink = subprocess.Popen(["cat"], stdin=ws.r, stdout=subprocess.DEVNULL)
        rtsp_proxy = CountingProxy(relay.rtsp_port)
        rtsp = subprocess.Popen(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", f"rtsp://127.0.0.1:{rtsp_proxy.port}/cam1",
                                 "-c", "copy", "-f", "null", "-"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        mjpeg = subprocess.Popen(["ffmpeg", "-v", "error", *DECODE, "-i", f"{relay.base}/cam1/live.mp4", "-c:v", "mjpeg",
                                  "-q:v", "5", "-f", "mpjpeg", "pipe:1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        mj_bytes = [0]
        threading.Thread(target=lambda: _count(mjpeg.stdout, mj_bytes), daemon=True).start()
        time.sleep(3)
        s0, t0 = relay.status()["cameras"]["cam1"], time.time()
        w0, r0, m0 = ws.bytes, rtsp_proxy.down, mj_bytes[0]
        hls_bytes = _poll_hls(relay.base, seconds)
        s1, t1 = relay.status()["cameras"]["cam1"], time.time()
        dt = t1 - t0
        mjpeg.terminate(); mjpeg.wait()
        mj_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        for p in (rtsp, pub):
            p.terminate(); p.wait()
        ws.stop(); sink.wait()
        rtsp_proxy.close()
        kb = lambda b: f"{b / dt / 1000:.1f} kB/s ({b * 8 / dt / 1000:.0f} kbit/s)"
        rows = [
            f"| ingest (worker -> relay, FLV over HTTP POST) | {kb(s1['bytes_in'] - s0['bytes_in'])} |",
            f"| live fMP4 over WebSocket, one viewer | {kb(ws.bytes - w0)} |",
            f"| HLS, one viewer (playlists + segments) | {kb(hls_bytes)} |",
            f"| RTSP over TCP, one client | {kb(rtsp_proxy.down - r0)} |",
            f"| MJPEG q=5 (candidate, transcoded) | {kb(mj_bytes[0] - m0)} ; transcoder CPU {100 * ((mj_cpu.ru_utime + mj_cpu.ru_stime) - (before.ru_utime + before.ru_stime)) / (dt + 3):.0f} % of a core |",
        ]
    finally:
        relay.stop()
    return rows


def _count(stream, box: list[int]) -> None:
    while chunk := stream.read(65536):
        box[0] += len(chunk)


def _poll_hls(base: str, seconds: float) -> int:
    """Behave like an HLS player: reload the playlist every half segment, fetch each new segment once."""
    seen: set[str] = set()
    total = 0
    end = time.time() + seconds
    while time.time() < end:
        with urllib.request.urlopen(f"{base}/cam1/hls/index.m3u8", timeout=5) as r:
            text = r.read()
        total += len(text)
        for line in text.decode().splitlines():
            if line.endswith(".ts") and line not in seen:
                seen.add(line)
                if len(seen) > 3:  # a player starts three segments back; count from then on
                    with urllib.request.urlopen(f"{base}/cam1/hls/{line}", timeout=5) as r:
                        total += len(r.read())
        time.sleep(0.5)
    return total


class CountingProxy:
    """TCP pass-through that counts server->client bytes (RTSP interleaved RTP included)."""

    def __init__(self, target: int) -> None:
        self.down = 0
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.target = target
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                c, _ = self.srv.accept()
                u = socket.create_connection(("127.0.0.1", self.target))
                threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
                threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()
        except OSError:
            return

    def _pipe(self, a: socket.socket, b: socket.socket, down: bool) -> None:
        try:
            while data := a.recv(65536):
                if down:
                    self.down += len(data)
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.srv.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["ingest", "relay", "browser", "bandwidth"], action="append")
    ap.add_argument("--seconds", type=float, default=12, help="measured seconds per path")
    args = ap.parse_args()
    if not VIDEO.is_file():
        print(f"course video missing: {VIDEO} (set EDGEWATCH_SHARED)", file=sys.stderr)
        return 2
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            print(f"{tool} not found (apt-get install ffmpeg)", file=sys.stderr)
            return 2
    groups = args.only or ["ingest", "relay", "browser", "bandwidth"]
    frames = load_frames(40)
    print(f"# stream latency, {W}x{H} @ {FPS} fps, libx264 veryfast zerolatency g={FPS}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    lat: list[Result] = []
    if "ingest" in groups:
        lat += group_ingest(frames, args.seconds)
    if "relay" in groups:
        lat += group_relay(frames, args.seconds)
    if "browser" in groups:
        lat += group_browser(frames, args.seconds + 8)
    if lat:
        print("\n| path | p50 ms | p95 ms | frames seen | note |\n|---|---|---|---|---|")
        for r in lat:
            print(r.row(), flush=True)
    if "bandwidth" in groups:
        print("\n| path (course video, 30 s) | bytes/s |\n|---|---|")
        for row in group_bandwidth(30):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
