// Two ways to play a camera through the UI's /stream/ proxy:
//  - live: fragmented MP4 over a WebSocket fed to Media Source Extensions (sub-second latency);
//  - hls:  the relay's HLS playlist, natively (Safari, iOS) or with hls.js served by the UI.

function codecOf(init) {
  // avc1.PPCCLL from the avcC box of the init segment: profile, constraints, level.
  const b = new Uint8Array(init);
  for (let i = 4; i + 8 < b.length; i++) {
    if (b[i] === 0x61 && b[i + 1] === 0x76 && b[i + 2] === 0x63 && b[i + 3] === 0x43) {
      const hex = (v) => v.toString(16).padStart(2, '0');
      return `avc1.${hex(b[i + 5])}${hex(b[i + 6])}${hex(b[i + 7])}`;
    }
  }
  return 'avc1.42E01E';
}

function concat(parts) {
  const n = parts.reduce((s, p) => s + p.byteLength, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(new Uint8Array(p), o); o += p.byteLength; }
  return out.buffer;
}

function playLive(video, path, onState) {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  let stopped = false, ws = null, retryMs = 500, objectUrl = null;

  function connect() {
    if (stopped) return;
    const ms = new MediaSource();
    let sb = null;
    const queue = [];
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(ms);
    video.src = objectUrl;
    ms.addEventListener('sourceopen', () => {
      ws = new WebSocket(url.href);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => onState('waiting for video');
      ws.onmessage = (e) => {
        if (!sb) {
          try {
            sb = ms.addSourceBuffer(`video/mp4; codecs="${codecOf(e.data)}"`);
          } catch (err) {
            onState(`cannot decode: ${err.message}`);
            ws.close();
            return;
          }
          sb.mode = 'segments';
          sb.addEventListener('updateend', () => { chase(); pump(); });
          onState('live');
          retryMs = 500;
        }
        queue.push(e.data);
        if (queue.length > 300) queue.splice(0, queue.length - 300); // a stalled decoder must not hoard memory
        pump();
      };
      ws.onclose = () => {
        if (stopped) return;
        onState('reconnecting');
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 2000); // short: a restarted relay plays again within seconds
      };
    }, { once: true });

    function pump() {
      if (!sb || sb.updating || !queue.length || ms.readyState !== 'open') return;
      try {
        sb.appendBuffer(queue.length > 1 ? concat(queue.splice(0)) : queue.shift());
      } catch {
        ws.close(); // quota or decode error: start over with a fresh MediaSource
      }
    }

    function chase() {
      // Stay near the live edge after stalls or a hidden tab.
      const b = video.buffered;
      if (!b.length) return;
      const start = b.start(b.length - 1), end = b.end(b.length - 1);
      if (end - video.currentTime > 0.5 || video.currentTime < start) video.currentTime = Math.max(start, end - 0.05);
      if (video.paused) video.play().catch(() => {});
      if (!sb.updating && video.currentTime - b.start(0) > 10) sb.remove(0, video.currentTime - 4);
    }
  }

  connect();
  return () => {
    stopped = true;
    if (ws) ws.close();
    video.removeAttribute('src');
    video.load();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}

let hlsScript = null;
function loadHlsJs() {
  hlsScript = hlsScript || new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/vendor/hls.min.js';
    s.onload = () => resolve(window.Hls);
    s.onerror = () => reject(new Error('hls.js did not load'));
    document.head.append(s);
  });
  return hlsScript;
}

function playHls(video, path, onState) {
  let stopped = false, hls = null;
  onState('loading HLS');
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = path;
    video.play().catch(() => {});
    onState('HLS (native)');
  } else {
    loadHlsJs().then((Hls) => {
      if (stopped) return;
      if (!Hls.isSupported()) { onState('HLS not supported here'); return; }
      hls = new Hls({ liveSyncDurationCount: 2, lowLatencyMode: false, backBufferLength: 10 });
      hls.on(Hls.Events.MANIFEST_PARSED, () => { onState('HLS'); video.play().catch(() => {}); });
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        onState(`HLS error: ${data.details}; retrying`);
        setTimeout(() => { if (!stopped) { hls.loadSource(path); hls.startLoad(); } }, 3000);
      });
      hls.loadSource(path);
      hls.attachMedia(video);
    }).catch((err) => onState(err.message));
  }
  return () => {
    stopped = true;
    if (hls) hls.destroy();
    video.removeAttribute('src');
    video.load();
  };
}

/** Starts playback; returns a stop function. mode: 'live' | 'hls'. */
export function play(video, mode, path, onState = () => {}) {
  video.muted = true; // autoplay needs it
  video.playsInline = true;
  return mode === 'hls' ? playHls(video, path, onState) : playLive(video, path, onState);
}
