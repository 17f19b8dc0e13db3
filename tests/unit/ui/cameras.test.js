'use strict';
// Many cameras: each camera's input (status `input`, source events as the fallback, kept across a
// restart), the overview's stills through the stream proxy, and sign-in back to a linked camera page.

const assert = require('node:assert/strict');
const http = require('node:http');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const PASSWORD = 'many cameras';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);

/** A stand-in relay: /<camera>/still.jpg for cam1 only; `asked` lists the paths it was asked for. */
async function fakeRelay() {
  const asked = [];
  const server = http.createServer((req, res) => {
    asked.push(req.url);
    if (req.url.startsWith('/cam1/still.jpg')) {
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': JPEG.length, 'Cache-Control': 'no-store' });
      res.end(JPEG);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such camera\n');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, asked, close: () => new Promise((r) => server.close(r)) };
}

const status = (camera, extra = {}) => ({ state: 'online', ts: h.now(), camera, source: 'rtsp://cam/stream', ...extra });
const sourceEvent = (camera, type, ts, detail) => ({ id: `${type}-${camera}-${ts}`, seq: 1, camera, type, ts, detail });

describe('many cameras', () => {
  let broker;
  let relay;
  let ui;
  let dataDir;
  let pub;
  let api;
  const env = () => ({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir, EDGEWATCH_UI_PASSWORD: PASSWORD, EDGEWATCH_STREAM_URL: relay.url });
  const camera = async (id) => (await (await api('/api/state')).json()).cameras[id];

  before(async () => {
    broker = await h.startBroker();
    relay = await fakeRelay();
    dataDir = h.tmpDir('cameras');
    ui = await h.startUi(env());
    pub = await h.publisher(broker.url);
    api = await h.login(ui.base, PASSWORD);
    await h.brokerConnected(api);
  });

  after(async () => {
    await pub?.end();
    await ui?.stop();
    await relay?.close();
    await broker?.stop();
  });

  it('proxies a camera\'s still behind the login, with its cache-busting query', async () => {
    assert.equal((await (await api('/api/config')).json()).still_path, '{camera}/still.jpg');
    const r = await api('/stream/cam1/still.jpg?t=1700000000123');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'image/jpeg');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), JPEG);
    assert.ok(relay.asked.includes('/cam1/still.jpg?t=1700000000123'), relay.asked.join(' '));
    assert.equal((await api('/stream/cam9/still.jpg?t=1')).status, 404, 'a camera without a picture: the relay\'s 404');
    const anon = await fetch(`${ui.base}/stream/cam1/still.jpg?t=2`);
    assert.equal(anon.status, 401);
    assert.ok(!relay.asked.includes('/cam1/still.jpg?t=2'), 'a request without a session reached the relay');
  });

  it('takes the still path from EDGEWATCH_STREAM_STILL_PATH and refuses a bad one', async () => {
    const other = await h.startUi({ ...env(), EDGEWATCH_UI_DATA: h.tmpDir('still'), EDGEWATCH_STREAM_STILL_PATH: 'snap/{camera}.jpg' });
    try {
      const a = await h.login(other.base, PASSWORD);
      assert.equal((await (await a('/api/config')).json()).still_path, 'snap/{camera}.jpg');
    } finally {
      await other.stop();
    }
    await assert.rejects(h.startUi({ ...env(), EDGEWATCH_UI_DATA: h.tmpDir('still'), EDGEWATCH_STREAM_STILL_PATH: '../x.jpg' }),
      /configuration: EDGEWATCH_STREAM_STILL_PATH=\.\.\/x\.jpg must be a relative path/);
  });

  it('reports each camera\'s input from its status, and over SSE', async () => {
    const live = await h.sse(api);
    try {
      await h.waitFor(() => live.events.find((e) => e.type === 'snapshot'), { what: 'snapshot' });
      await pub.publish('edgewatch/in-ok/status', status('in-ok', { input: { state: 'ok', detail: '1920x1080' } }), { qos: 1, retain: true });
      await pub.publish('edgewatch/in-lost/status', status('in-lost', { input: { state: 'lost', detail: 'connection refused' } }), { qos: 1, retain: true });
      await pub.publish('edgewatch/in-wait/status', status('in-wait', { input: { state: 'waiting', detail: '' } }), { qos: 1, retain: true });
      const lost = await h.waitFor(async () => (await camera('in-lost'))?.input, { what: 'in-lost input' });
      assert.deepEqual({ ...lost, ts: 0 }, { state: 'lost', detail: 'connection refused', ts: 0, from: 'status' });
      assert.equal((await camera('in-ok')).input.state, 'ok');
      assert.deepEqual((await h.waitFor(async () => (await camera('in-wait'))?.input)).detail, '');
      const msg = await h.waitFor(() => live.events.find((e) => e.type === 'status' && e.data.camera === 'in-lost'), { what: 'status over SSE' });
      assert.equal(msg.data.input.state, 'lost');
      assert.equal(msg.data.worker.state, 'online', 'a lost source is not an offline worker');
    } finally {
      live.close();
    }
  });

  it('falls back to the last source event when the status says nothing of the input', async () => {
    const live = await h.sse(api);
    try {
      const t0 = h.now();
      await pub.publish('edgewatch/old/status', status('old', { ts: t0 }), { qos: 1, retain: true });
      await h.waitFor(async () => camera('old'), { what: 'camera old' });
      assert.equal((await camera('old')).input, null);
      await pub.publish('edgewatch/old/events', sourceEvent('old', 'source_lost', t0 + 1, 'EOF'), { qos: 1 });
      const sent = await h.waitFor(() => live.events.find((e) => e.type === 'input' && e.data.camera === 'old'), { what: 'input over SSE' });
      assert.deepEqual(sent.data.input, { state: 'lost', detail: 'EOF', ts: t0 + 1, from: 'event' });
      await pub.publish('edgewatch/old/events', sourceEvent('old', 'source_restored', t0 + 2, 'reopened'), { qos: 1 });
      await h.waitFor(async () => (await camera('old')).input.state === 'ok', { what: 'restored' });
      // A later status (the worker restarted) outdates the event, with or without an input of its own.
      await pub.publish('edgewatch/old/events', sourceEvent('old', 'source_lost', t0 + 3, 'EOF again'), { qos: 1 });
      await h.waitFor(async () => (await camera('old')).input.state === 'lost', { what: 'lost again' });
      await pub.publish('edgewatch/old/status', status('old', { ts: t0 + 4 }), { qos: 1, retain: true });
      await h.waitFor(async () => (await camera('old')).input === null, { what: 'event outdated by a newer status' });

      // An event alone does not list a camera; it is kept for when the camera's first message comes.
      await pub.publish('edgewatch/early/events', sourceEvent('early', 'source_lost', t0 + 5, 'no route to host'), { qos: 1 });
      await h.waitFor(async () => (await (await api('/api/events?camera=early')).json()).events.length === 1, { what: 'event stored' });
      assert.equal(await camera('early'), undefined);
      await pub.publish('edgewatch/early/status', status('early', { ts: t0 }), { qos: 1, retain: true });
      const early = await h.waitFor(async () => (await camera('early'))?.input, { what: 'early input' });
      assert.equal(early.state, 'lost');
      assert.equal(early.detail, 'no route to host');
    } finally {
      live.close();
    }
  });

  it('keeps the last source event of each camera across a restart', async () => {
    const t0 = h.now() - 60;
    await pub.publish('edgewatch/kept/status', status('kept', { ts: t0 }), { qos: 1, retain: true });
    await pub.publish('edgewatch/kept/events', sourceEvent('kept', 'source_lost', t0 + 1, 'first'), { qos: 1 });
    await pub.publish('edgewatch/kept/events', sourceEvent('kept', 'source_lost', t0 + 3, 'last'), { qos: 1 });
    await pub.publish('edgewatch/kept/events', sourceEvent('kept', 'source_restored', t0 + 2, 'between'), { qos: 1 });
    await h.waitFor(async () => (await (await api('/api/events?camera=kept')).json()).events.length === 3, { what: 'events stored' });
    await ui.stop();
    ui = await h.startUi(env());
    api = await h.login(ui.base, PASSWORD);
    // The retained status comes back from the broker; the input from the stored events.
    const input = await h.waitFor(async () => (await camera('kept'))?.input, { what: 'kept input after restart' });
    assert.equal(input.state, 'lost');
    assert.equal(input.detail, 'last');
  });

  it('sends a visitor linked to a camera page back to it after sign-in', async () => {
    const get = (p) => fetch(`${ui.base}${p}`, { redirect: 'manual' });
    assert.equal((await get('/?camera=cam-2')).headers.get('location'), '/login?camera=cam-2');
    assert.equal((await get('/?camera=%2F%2Fevil.example')).headers.get('location'), '/login');
    const signIn = (form) => fetch(`${ui.base}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    assert.equal((await signIn({ password: PASSWORD, camera: 'cam-2' })).headers.get('location'), '/?camera=cam-2');
    assert.equal((await signIn({ password: PASSWORD, camera: '//evil.example' })).headers.get('location'), '/');
    assert.equal((await signIn({ password: PASSWORD })).headers.get('location'), '/');
    const wrong = await signIn({ password: 'nope', camera: 'cam-2' });
    assert.equal(wrong.headers.get('location'), '/login?failed=1&camera=cam-2');
  });
});
