"""RTSP re-stream for NVRs: GStreamer's RTSP server, fed by the relay's own live fMP4.

Runs as its own process (it needs PyGObject and a GLib main loop; the relay does not).
Each camera is mounted at rtsp://host:PORT/<cam>. All clients of a camera share one
pipeline that pulls http://127.0.0.1:<http>/<cam>/live.mp4 and re-packs the H.264
into RTP without re-encoding. When the publisher goes away the pipeline ends and
clients are dropped; NVRs reconnect and get the new publisher's stream.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--source", default="http://127.0.0.1:8888/{cam}/live.mp4?wait=5&gop=0", help="URL template, {cam} = camera id")
    ap.add_argument("--cameras", default="cam1", help="comma-separated camera ids to mount")
    args = ap.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.bind)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for cam in filter(None, (c.strip() for c in args.cameras.split(","))):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(args.source.format(cam=cam)))
        factory.set_shared(True)
        factory.set_latency(0)  # the source is already live; a jitter buffer here only adds delay (measured 0.6 -> 0.43 s)
        # TCP only: NVRs on the compose network and behind NAT both cope; UDP ports would need publishing.
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
        mounts.add_factory(f"/{cam}", factory)
    if server.attach(None) == 0:
        print(f"rtsp: cannot listen on {args.bind}:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    # Drop sessions whose clients vanished without TEARDOWN.
    GLib.timeout_add_seconds(2, lambda: (server.get_session_pool().cleanup(), True)[1])
    print(f"rtsp: listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
