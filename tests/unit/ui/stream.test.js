'use strict';
// The video proxy against the real relay (stream/, Python + FFmpeg) fed with a real video:
// HLS and the WebSocket low-latency path through the UI's one origin, behind the login.

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const PYTHON = process.env.EDGEWATCH_PYTHON || 'python3';
const SHARED = process.env.EDGEWATCH_SHARED || path.join(h.REPO, '..', 'shared');
const VIDEO = path.join(SHARED, 'videos', 'Pedestrian_Detect_2_1_1.mp4');
const PASSWORD = 'stream-test-pw';

function missing() {
  if (!fs.existsSync(path.join(h.REPO, 'stream', 'relay', '__main__.py'))) return 'stream/relay is not in this tree';
  if (spawnSync(PYTHON, ['-c', 'import aiohttp'], { stdio: 'ignore' }).status !== 0) return `${PYTHON} lacks aiohttp (the relay's dependency)`;
  if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status !== 0) return 'ffmpeg not installed';
  if (!fs.existsSync(VIDEO)) return `${VIDEO} not found (set EDGEWATCH_SHARED)`;
  return null;
}

/** Raw WebSocket handshake; resolves {status, bytes} after ms of reading. */
function wsRead(port, pathname, cookie, ms) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let head = '';
    let status = null;
    let bytes = 0;
    sock.on('connect', () => {
      sock.write(`GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n`
        + `${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`);
    });
    sock.on('data', (c) => {
      if (status === null) {
        head += c.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = Number(head.split(' ')[1]);
        bytes += Buffer.byteLength(head.slice(end + 4), 'latin1');
      } else {
        bytes += c.length;
      }
    });
    sock.on('error', reject);
    sock.on('close', () => resolve({ status, bytes }));
    setTimeout(() => sock.destroy(), ms);
  });
}

const why = missing();

describe('video proxy with the real relay', { skip: why || false }, () => {
  let relay;
  let ffmpeg;
  let ui;
  let api;
  let relayPort;

  before(async () => {
    relayPort = await h.freePort();
    relay = spawn(PYTHON, ['-m', 'relay', '--host', '127.0.0.1', '--port', String(relayPort), '--rtsp-port', '0'],
      { cwd: path.join(h.REPO, 'stream'), stdio: ['ignore', 'ignore', 'pipe'] });
    let relayLog = '';
    relay.stderr.on('data', (c) => { relayLog += c; });
    await h.waitFor(async () => (await fetch(`http://127.0.0.1:${relayPort}/healthz`).catch(() => null))?.ok, { what: `relay: ${relayLog}` });
    ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', VIDEO, '-c', 'copy',
      '-f', 'mpegts', '-method', 'POST', `http://127.0.0.1:${relayPort}/ingest/cam1`], { stdio: 'ignore' });
    ui = await h.startUi({
      EDGEWATCH_MQTT_URL: 'mqtt://127.0.0.1:9', EDGEWATCH_UI_DATA: h.tmpDir('stream'), EDGEWATCH_UI_PASSWORD: PASSWORD,
      EDGEWATCH_STREAM_URL: `http://127.0.0.1:${relayPort}`, EDGEWATCH_STREAM_PROBE_MS: '300',
    });
    api = await h.login(ui.base, PASSWORD);
  });

  after(async () => {
    await ui?.stop();
    ffmpeg?.kill('SIGTERM');
    if (relay && relay.exitCode === null) {
      relay.kill('SIGTERM');
      await new Promise((r) => relay.once('exit', r));
    }
  });

  it('shows the relay reachable and the camera live', async () => {
    const st = await h.waitFor(async () => {
      const s = (await (await api('/api/state')).json()).health.stream;
      return s.ok && s.cameras.cam1?.live ? s : null;
    }, { what: 'stream health', timeoutMs: 15000 });
    assert.equal(st.status, 200);
  });

  it('proxies HLS playlists and segments', async () => {
    const playlist = await h.waitFor(async () => {
      const r = await api('/stream/cam1/hls/index.m3u8');
      return r.status === 200 ? r.text() : null;
    }, { what: 'HLS playlist', timeoutMs: 20000 });
    assert.match(playlist, /^#EXTM3U/);
    const seg = playlist.split('\n').find((l) => l.endsWith('.ts'));
    const r = await api(`/stream/cam1/hls/${seg}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'video/mp2t');
    const body = Buffer.from(await r.arrayBuffer());
    assert.ok(body.length > 10000, `segment of ${body.length} bytes`);
    assert.equal(body[0], 0x47, 'not an MPEG-TS segment');
    assert.equal((await api('/stream/cam1/hls/nope.ts')).status, 404);
  });

  it('pipes the WebSocket low-latency stream, only with a session', async () => {
    const { port } = new URL(ui.base);
    const live = await wsRead(Number(port), '/stream/cam1/live.ws', api.cookie, 3000);
    assert.equal(live.status, 101);
    assert.ok(live.bytes > 50000, `only ${live.bytes} bytes of video in 3 s`);
    const anon = await wsRead(Number(port), '/stream/cam1/live.ws', null, 1000);
    assert.equal(anon.status, 401);
    assert.equal(anon.bytes, 0);
    const health = await h.waitFor(async () => {
      const s = (await (await api('/api/state')).json()).health;
      return s.video_out_bps > 0 ? s : null;
    }, { what: 'video bandwidth', timeoutMs: 5000 });
    assert.ok(health.video_out_bps > 0);
  });

  it('shows the relay unreachable soon after it stops', async () => {
    relay.kill('SIGTERM');
    await new Promise((r) => relay.once('exit', r));
    const t0 = Date.now();
    await h.waitFor(async () => (await (await api('/api/state')).json()).health.stream.ok === false, { what: 'stream down', timeoutMs: 5000 });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal((await api('/stream/cam1/hls/index.m3u8')).status, 502);
  });
});
