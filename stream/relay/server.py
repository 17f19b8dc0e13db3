"""HTTP side of the relay: ingest, live fMP4 (WebSocket and HTTP), HLS files, still pictures, health and stats."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

from aiohttp import WSMsgType, web

from .channel import Channel, FanoutOptions

log = logging.getLogger("relay")

CAMERA = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
HLS_FILE = re.compile(r"^(index\.m3u8|s\d+_\d+\.ts)$")
WWW = Path(__file__).resolve().parent.parent / "www"

# Typed keys where aiohttp has them (3.9+); Debian bookworm ships 3.8, which takes plain strings.
_key = getattr(web, "AppKey", lambda name, _type: name)
CHANNELS = _key("channels", dict)
SETTINGS = _key("settings", dict)


def _camera(request: web.Request) -> str:
    cam = request.match_info["cam"]
    if not CAMERA.fullmatch(cam):
        raise web.HTTPBadRequest(text=f"bad camera id {cam!r}: use 1-64 of A-Z a-z 0-9 _ -\n")
    return cam


def _channel(request: web.Request) -> Channel:
    cam = _camera(request)
    channels: dict[str, Channel] = request.app[CHANNELS]
    ch = channels.get(cam)
    if ch is None:
        s = request.app[SETTINGS]
        rtsp = s["rtsp"]
        ch = channels[cam] = Channel(cam, s["hls_root"] / cam, s["fanout"], rtsp.mount if rtsp else None)
    return ch


async def ingest(request: web.Request) -> web.Response:
    """The publisher: `ffmpeg ... -f mpegts http://relay:8888/ingest/<cam>` (chunked POST)."""
    ch = _channel(request)
    log.info("%s: publisher from %s", ch.name, request.remote)
    await ch.publish(request.content.iter_any())
    if not request.content.at_eof() and request.transport is not None:
        # Replaced by a newer publisher, or shutting down: hang up rather than let aiohttp
        # keep reading ("lingering close") the rest of an endless upload.
        request.transport.close()
    return web.Response(text="ended\n")


async def live_ws(request: web.Request) -> web.StreamResponse:
    """fMP4 over WebSocket: one binary message for the init segment, then one per frame."""
    ch = _channel(request)
    ws = web.WebSocketResponse(heartbeat=10, max_msg_size=1 << 16)
    await ws.prepare(request)
    # Waits for a publisher while the socket is open, so a viewer can connect first.
    s = await ch.wait_session(float(request.query.get("wait", 3600)))
    if s is None:
        await ws.close(code=1013, message=b"no publisher")
        return ws
    reader = asyncio.create_task(_drain(ws))
    try:
        async for data in ch.watch(s):
            if reader.done():
                break
            await ws.send_bytes(data)
    except ConnectionError:
        pass
    finally:
        reader.cancel()
        # 1012 "service restart": the publisher is gone or replaced; the player reconnects.
        await ws.close(code=1012, message=b"stream ended")
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:  # viewers send nothing we need; this notices their close
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            return


async def live_mp4(request: web.Request) -> web.StreamResponse:
    """The same fMP4 as one endless HTTP response (for fetch()+MSE, VLC, the RTSP packager).

    Query: wait=<s> waits that long for a publisher (default 0: 503 at once), gop=0 skips the cached GOP.
    """
    ch = _channel(request)
    s = await ch.wait_session(float(request.query.get("wait", 0)))
    if s is None:
        raise web.HTTPServiceUnavailable(text=f"no publisher on camera {ch.name}\n", headers={"Retry-After": "1"})
    resp = web.StreamResponse(headers={"Content-Type": "video/mp4", "Cache-Control": "no-store"})
    await resp.prepare(request)
    # ?gop=0: start at the next keyframe instead of the cached one. A consumer that paces
    # by timestamps (GStreamer) would otherwise keep the cached GOP's age as its delay.
    cached = request.query.get("gop", "1") != "0"
    try:
        async for data in ch.watch(s, cached):
            await resp.write(data)
    except ConnectionError:
        pass
    return resp


async def still_jpg(request: web.Request) -> web.Response:
    """The camera's latest picture as a JPEG, for overview tiles (made at most once a second, see still.py)."""
    cam = _camera(request)
    ch = request.app[CHANNELS].get(cam)  # a look-up only: asking for stills creates no channel
    jpeg = await ch.picture() if ch is not None else None
    if jpeg is None:
        raise web.HTTPServiceUnavailable(text=f"no picture from camera {cam} (yet)\n", headers={"Retry-After": "1"})
    return web.Response(body=jpeg, headers={"Content-Type": "image/jpeg", "Cache-Control": "no-store"})


async def hls(request: web.Request) -> web.StreamResponse:
    ch = _channel(request)
    name = request.match_info["file"]
    if not HLS_FILE.match(name):
        raise web.HTTPNotFound()
    path = ch.hls_dir / name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise web.HTTPNotFound(text=f"{name}: not (yet) there; is the publisher running?\n") from None
    ch.counters.bytes_hls += size
    playlist = name.endswith(".m3u8")
    return web.FileResponse(path, headers={
        "Content-Type": "application/vnd.apple.mpegurl" if playlist else "video/mp2t",
        # The playlist changes every segment; segments never change.
        "Cache-Control": "no-cache" if playlist else "max-age=60",
    })


def _status(app: web.Application) -> dict:
    rtsp = app[SETTINGS].get("rtsp")
    return {
        "time": time.time(),
        "rtsp": None if rtsp is None else {"port": rtsp.port, "running": rtsp.running, "cameras": list(rtsp.cameras)},
        "cameras": {
            name: {"live": ch.live, **vars(ch.counters), "stills": ch.still.decodes} for name, ch in app[CHANNELS].items()
        },
    }


async def healthz(request: web.Request) -> web.Response:
    st = _status(request.app)
    ok = st["rtsp"] is None or st["rtsp"]["running"]
    return web.json_response(st, status=200 if ok else 503)


async def static(request: web.Request) -> web.FileResponse:
    name = request.match_info.get("file") or "index.html"
    if name not in ("index.html", "player.js", "bench.html"):
        raise web.HTTPNotFound()
    return web.FileResponse(WWW / name, headers={"Cache-Control": "no-cache"})


def make_app(hls_root: Path, fanout: FanoutOptions, rtsp=None) -> web.Application:
    app = web.Application()
    app[CHANNELS] = {}
    app[SETTINGS] = {"hls_root": hls_root, "fanout": fanout, "rtsp": rtsp}
    app.router.add_route("POST", "/ingest/{cam}", ingest)
    app.router.add_route("PUT", "/ingest/{cam}", ingest)
    app.router.add_get("/{cam}/live.ws", live_ws)
    app.router.add_get("/{cam}/live.mp4", live_mp4)
    app.router.add_get("/{cam}/still.jpg", still_jpg)
    app.router.add_get("/{cam}/hls/{file}", hls)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", static)
    app.router.add_get("/{file:(index\\.html|player\\.js|bench\\.html)}", static)

    app.on_shutdown.append(close_channels)
    return app


async def close_channels(app: web.Application) -> None:
    """Stop every pipeline, which ends the long-lived ingest and viewer responses."""
    await asyncio.gather(*(ch.close() for ch in app[CHANNELS].values()))


