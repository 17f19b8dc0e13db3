'use strict';
// Shared test parts: a real Mosquitto on a free loopback port, the real UI server as a child
// process, an MQTT client (the UI's own mqtt package), and a logged-in fetch.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');

const REPO = path.resolve(__dirname, '..', '..', '..');
const UI_DIR = path.join(REPO, 'ui');
const uiRequire = createRequire(path.join(UI_DIR, 'package.json'));
const mqtt = uiRequire('mqtt');
const MOSQUITTO = process.env.EDGEWATCH_MOSQUITTO || '/usr/sbin/mosquitto';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function tmpDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ew-ui-${name}-`));
}

function waitFor(pred, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = async () => {
      let v;
      try {
        v = await pred();
      } catch (err) {
        v = undefined;
        if (Date.now() - t0 > timeoutMs) return reject(err);
      }
      if (v) return resolve(v);
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      return setTimeout(tick, intervalMs);
    };
    tick();
  });
}

/** Starts mosquitto on a free 127.0.0.1 port (anonymous allowed). Returns {url, stop()}. */
async function startBroker() {
  if (!fs.existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found: apt-get install mosquitto`);
  const dir = tmpDir('mosq');
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
  const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (c) => { stderr += c; });
  await waitFor(() => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }), { what: `mosquitto on ${port}: ${stderr}` });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      return undefined;
    }),
  };
}

/**
 * Starts `node [nodeArgs] ui/src/main.js` with the given env on a free port.
 * Returns {base, proc, log(), stop()}; log() is everything it printed so far.
 */
async function startUi(env, nodeArgs = []) {
  const proc = spawn(process.execPath, [...nodeArgs, path.join(UI_DIR, 'src', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      EDGEWATCH_UI_HOST: '127.0.0.1',
      EDGEWATCH_UI_LISTEN_PORT: '0',
      EDGEWATCH_STREAM_URL: 'http://127.0.0.1:9', // nothing listens there: the stream shows unreachable
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c) => { out += c; });
  proc.stderr.on('data', (c) => { out += c; });
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
  const m = await Promise.race([
    waitFor(() => /listening on http:\/\/[\d.]+:(\d+)/.exec(out), { what: 'UI to listen', timeoutMs: 15000 }),
    exited.then((e) => { throw new Error(`UI exited (${e.code ?? e.sig}) before listening:\n${out}`); }),
  ]);
  return {
    base: `http://127.0.0.1:${m[1]}`,
    proc,
    exited,
    log: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

/** Logs in and returns a fetch bound to the session cookie. */
async function login(base, password) {
  const r = await fetch(`${base}/login`, {
    method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password }).toString(),
  });
  if (r.status !== 303 || r.headers.get('location') !== '/') throw new Error(`login failed: ${r.status} ${r.headers.get('location')}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const authed = (p, opts = {}) => fetch(`${base}${p}`, { redirect: 'manual', ...opts, headers: { ...(opts.headers || {}), cookie } });
  authed.cookie = cookie;
  return authed;
}

/** Connected MQTT client; publish() resolves once the broker took the message. */
async function publisher(url) {
  const c = mqtt.connect(url, { reconnectPeriod: 0 });
  await new Promise((resolve, reject) => { c.once('connect', resolve); c.once('error', reject); });
  return {
    client: c,
    publish: (topic, payload, opts = {}) => new Promise((resolve, reject) => {
      c.publish(topic, typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), opts,
        (err) => (err ? reject(err) : resolve()));
    }),
    end: () => new Promise((resolve) => c.end(false, {}, resolve)),
  };
}

/** Reads an SSE stream; returns {events: [{type, data}], close()}. */
async function sse(authedFetch) {
  const ctrl = new AbortController();
  const r = await authedFetch('/api/live', { signal: ctrl.signal });
  if (r.status !== 200) throw new Error(`SSE status ${r.status}`);
  const events = [];
  const decoder = new TextDecoder();
  let buf = '';
  (async () => {
    try {
      for await (const chunk of r.body) {
        buf += decoder.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const type = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (type && data) events.push({ type: type[1], data: JSON.parse(data[1]) });
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return { events, close: () => ctrl.abort() };
}

const now = () => Date.now() / 1000;

function stateMsg(camera, overrides = {}) {
  return {
    camera, ts: now(), video_s: 12.3, frame: 123, in_frame: 1, total: 4, avg_duration_s: 17.2,
    tracks: [{ id: 4, box: [10, 20, 110, 220], enter_s: 10.1, duration_s: 2.2 }],
    lines: { door: { in: 3, out: 2 } }, zones: { table: { occupancy: 1, entered: 4, max_dwell_s: 15 } },
    ...overrides,
  };
}

function eventMsg(camera, seq, overrides = {}) {
  return {
    id: `ev-${camera}-${seq}-${Math.random().toString(16).slice(2, 10)}`, seq, camera, type: 'person_leave',
    ts: now(), video_s: 31.2, track_id: 4, duration_s: 17.2, side: 'left', ...overrides,
  };
}

/** Waits until the UI behind `api` (a signed-in fetch) reports its broker connected. */
function brokerConnected(api, what = 'UI connected to broker') {
  return waitFor(async () => (await (await api('/api/state')).json()).health.broker.connected, { what });
}

module.exports = {
  brokerConnected,
  REPO, UI_DIR, uiRequire, freePort, tmpDir, waitFor, startBroker, startUi, login, publisher, sse, stateMsg, eventMsg, now,
};
