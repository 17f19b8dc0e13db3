// Live view: fragmented MP4 over a WebSocket, appended to a <video> through Media Source Extensions.
// Usage: import { playLive } from "./player.js"; const p = playLive(videoEl, "/stream/cam1/live.ws"); ... p.stop();
// The relay sends the init segment first, then one fragment per frame starting at a keyframe.
// When the publisher restarts the relay closes the socket; we reconnect and start a fresh MediaSource.

function codecOf(init) {
  // avc1.PPCCLL from the avcC box: profile, constraint flags, level.
  const b = new Uint8Array(init);
  for (let i = 4; i + 8 < b.length; i++) {
    if (b[i] === 0x61 && b[i + 1] === 0x76 && b[i + 2] === 0x63 && b[i + 3] === 0x43) {
      const hex = (x) => x.toString(16).padStart(2, "0");
      return `avc1.${hex(b[i + 5])}${hex(b[i + 6])}${hex(b[i + 7])}`;
    }
  }
  return "avc1.42E01E";
}

function wsUrl(path) {
  if (/^wss?:/.test(path)) return path;
  const u = new URL(path, location.href);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

// MediaSource everywhere but iPhone; iOS 17.1+ Safari has ManagedMediaSource instead (older iOS: use HLS).
const MS = globalThis.MediaSource || globalThis.ManagedMediaSource;
export const liveSupported = Boolean(MS && MS.isTypeSupported('video/mp4; codecs="avc1.42E01E"'));

export function playLive(video, path, { maxLagS = 0.15, jumpLagS = 1.0, onState = () => {} } = {}) {
  const url = wsUrl(path);
  let stopped = false, ws = null, retryMs = 500;
  const stats = { seeks: 0, reconnects: 0 };
  video.muted = true; // autoplay needs it
  video.playsInline = true;
  video.disableRemotePlayback = true; // required by ManagedMediaSource

  function connect() {
    if (stopped) return;
    const ms = new MS();
    let sb = null;
    const queue = [];
    video.src = URL.createObjectURL(ms);
    ms.addEventListener("sourceopen", () => {
      ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => onState("waiting");
      ws.onmessage = (e) => {
        if (!sb) {
          sb = ms.addSourceBuffer(`video/mp4; codecs="${codecOf(e.data)}"`);
          sb.mode = "segments";
          sb.addEventListener("updateend", () => { chase(); pump(); });
          onState("live");
          retryMs = 500;
        }
        queue.push(e.data);
        pump();
      };
      ws.onclose = () => {
        onState("reconnecting");
        stats.reconnects++;
        if (!stopped) setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      };
    }, { once: true });

    function pump() {
      if (!sb || sb.updating || queue.length === 0 || ms.readyState !== "open") return;
      try {
        sb.appendBuffer(queue.length > 1 ? concat(queue.splice(0)) : queue.shift());
      } catch (err) { // QuotaExceeded or a decode error: start over
        ws.close();
      }
    }

    function chase() {
      // Stay near the live edge. Seeking re-decodes from the last keyframe (dropped frames, CPU),
      // so only jump when far behind (start, GOP burst, hidden tab); otherwise play slightly faster.
      const b = video.buffered;
      if (!b.length) return;
      const start = b.start(b.length - 1), end = b.end(b.length - 1), lag = end - video.currentTime;
      if (lag > jumpLagS || video.currentTime < start) {
        video.currentTime = Math.max(start, end - 0.05);
        stats.seeks++;
      } else {
        video.playbackRate = lag > maxLagS ? 1.25 : 1.0;
      }
      if (video.paused) video.play().catch(() => {});
      // Keep a few seconds only: edge boxes and phones have little memory.
      if (!sb.updating && video.currentTime - b.start(0) > 10) sb.remove(0, video.currentTime - 4);
    }
  }

  connect();
  return { stats, stop() { stopped = true; if (ws) ws.close(); video.removeAttribute("src"); video.load(); } };
}

function concat(bufs) {
  const n = bufs.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const b of bufs) { out.set(new Uint8Array(b), o); o += b.byteLength; }
  return out.buffer;
}
