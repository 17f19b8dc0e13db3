"""RTSP re-stream for NVRs: GStreamer's RTSP server, fed by the relay's own live fMP4.

Runs as its own process (it needs PyGObject and a GLib main loop; the relay does not).
The relay writes each camera id on this process's stdin, one a line, once that camera has
pushed, and it is mounted at rtsp://host:PORT/<cam> while the server runs; stdin closing
means the relay is gone, and this process ends. All clients of a camera share one
pipeline that pulls http://127.0.0.1:<http>/<cam>/live.mp4 and re-packs the H.264
into RTP without re-encoding. When the publisher goes away the pipeline ends and
clients are dropped; NVRs reconnect and get the new publisher's stream.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

CAMERA = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def launch_line(source_url: str) -> str:
    # qtdemux reads fragmented MP4 in push mode; rtph264pay takes its AVC output as is.
    # SPS/PPS travel in the SDP (sprop-parameter-sets), not in-band: with in-band copies
    # (config-interval=-1) FFmpeg-based clients, i.e. most NVRs, split every keyframe in two
    # and decode smeared pictures (measured with FFmpeg 5.1; GStreamer clients were fine).
    return (
        f'( souphttpsrc location="{source_url}" is-live=true timeout=10 '
        "! qtdemux ! queue max-size-time=2000000000 leaky=downstream "
        "! rtph264pay name=pay0 pt=96 config-interval=0 )"
    )


def make_factory(source_url: str) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch_line(source_url))
    factory.set_shared(True)
    factory.set_latency(0)  # the source is already live; a jitter buffer here only adds delay (measured 0.6 -> 0.43 s)
    # TCP only: NVRs on the compose network and behind NAT both cope; UDP ports would need publishing.
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
    return factory


class Mounts:
    """Camera ids from the relay on stdin -> mount points, each added once."""

    def __init__(self, server: GstRtspServer.RTSPServer, source: str, loop: GLib.MainLoop) -> None:
        self._mounts = server.get_mount_points()
        self._source = source
        self._loop = loop
        self._mounted: set[str] = set()
        self._buf = b""

    def on_input(self, fd: int, cond: GLib.IOCondition) -> bool:
        # os.read, not sys.stdin: a buffered reader could swallow several lines on one wake-up.
        data = os.read(fd, 4096) if cond & GLib.IOCondition.IN else b""
        if not data:
            self._loop.quit()  # the relay is gone
            return False
        *lines, self._buf = (self._buf + data).split(b"\n")
        for line in lines:
            self.mount(line.decode("ascii", "replace").strip())
        return True

    def mount(self, cam: str) -> None:
        if cam in self._mounted:
            return
        if not CAMERA.fullmatch(cam):
            print(f"rtsp: ignored a bad camera id {cam!r}", file=sys.stderr, flush=True)
            return
        self._mounts.add_factory(f"/{cam}", make_factory(self._source.format(cam=cam)))
        self._mounted.add(cam)
        print(f"rtsp: serving /{cam}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--source", default="http://127.0.0.1:8888/{cam}/live.mp4?wait=5&gop=0", help="URL template, {cam} = camera id")
    args = ap.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.bind)
    server.set_service(str(args.port))
    if server.attach(None) == 0:
        print(f"rtsp: cannot listen on {args.bind}:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    mounts = Mounts(server, args.source, loop)
    GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, sys.stdin.fileno(),
                          GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR, mounts.on_input)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    # Drop sessions whose clients vanished without TEARDOWN.
    GLib.timeout_add_seconds(2, lambda: (server.get_session_pool().cleanup(), True)[1])
    print(f"rtsp: listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
