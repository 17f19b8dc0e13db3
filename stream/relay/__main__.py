"""`python -m relay`: run the relay (HTTP on --port, RTSP on --rtsp-port)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from aiohttp import web

from .channel import FanoutOptions
from .rtsp import RtspSupervisor
from .server import close_channels, make_app


def parse(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    ap = argparse.ArgumentParser(prog="relay", description="Edgewatch video relay")
    ap.add_argument("--host", default=env("STREAM_HOST", "0.0.0.0"))
    ap.add_argument("--port", type=int, default=int(env("STREAM_PORT", "8888")))
    ap.add_argument("--rtsp-port", type=int, default=int(env("STREAM_RTSP_PORT", "8554")), help="0 = no RTSP")
    ap.add_argument("--rtsp-python", default=env("STREAM_RTSP_PYTHON", sys.executable), help="a Python with PyGObject (gi)")
    ap.add_argument("--hls-dir", default=env("STREAM_HLS_DIR"), help="default: a fresh temporary folder")
    ap.add_argument("--hls-time", type=float, default=float(env("STREAM_HLS_TIME", "1")))
    ap.add_argument("--ffmpeg", default=env("STREAM_FFMPEG", "ffmpeg"))
    return ap.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    if shutil.which(args.ffmpeg) is None:
        raise SystemExit(f"relay: ffmpeg not found: {args.ffmpeg}")
    hls_root = Path(args.hls_dir) if args.hls_dir else Path(tempfile.mkdtemp(prefix="edgewatch-hls-"))
    rtsp = None
    if args.rtsp_port:
        rtsp = RtspSupervisor(args.rtsp_python, args.rtsp_port, args.host,
                              f"http://127.0.0.1:{args.port}/{{cam}}/live.mp4?wait=5&gop=0")
    if os.environ.get("STREAM_RTSP_CAMERAS"):
        logging.getLogger("relay").warning("STREAM_RTSP_CAMERAS is ignored: every camera that pushes is served over RTSP")
    app = make_app(hls_root, FanoutOptions(ffmpeg=args.ffmpeg, hls_time=args.hls_time), rtsp)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    logging.getLogger("relay").info("http on %s:%d, hls in %s", args.host, args.port, hls_root)
    rtsp_task = asyncio.create_task(rtsp.run()) if rtsp else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if rtsp and rtsp_task:
        await rtsp.stop()
        rtsp_task.cancel()
    # Before cleanup: aiohttp would otherwise wait for the endless ingest/viewer responses to finish.
    await close_channels(app)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    asyncio.run(serve(parse(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
