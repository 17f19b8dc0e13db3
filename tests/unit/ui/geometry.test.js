'use strict';
// Lines and zones saved through the UI: the same rules as the worker's (shared cases), and the API
// (session, Origin, body limits, the worker's answer) against a real broker and a stand-in worker.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const { checkGeometry } = require(path.join(h.UI_DIR, 'src/geometry'));
const CASES = JSON.parse(fs.readFileSync(path.join(h.REPO, 'tests/fixtures/geometry_cases.json'), 'utf8'));
const PASSWORD = 'correct horse battery staple';

describe('geometry rules', () => {
  for (const c of CASES.cases) {
    it(`names the same key as the worker: ${c.case}`, () => {
      const r = checkGeometry(c.geometry, { width: CASES.frame[0], height: CASES.frame[1] });
      assert.equal(r.ok ? null : r.key, c.key, r.error);
    });
  }

  it("checks with a copy of the worker's schema that is the same file", () => {
    const ours = fs.readFileSync(path.join(h.UI_DIR, 'src/schemas/geometry.schema.json'), 'utf8');
    const worker = fs.readFileSync(path.join(h.REPO, 'inference/edgewatch/schemas/geometry.schema.json'), 'utf8');
    assert.equal(ours, worker, 'ui/src/schemas/geometry.schema.json differs from the worker\'s: copy it');
  });
});

describe('PUT /api/cameras/<camera>/geometry', () => {
  let broker;
  let ui;
  let pub;
  let api;
  let origin;
  const received = [];
  const LINE = { name: 'door', points: [[640, 0], [640, 432]] };
  const published = (extra = {}) => ({ camera: 'cam1', ts: h.now(), frame: { width: 768, height: 432 }, origin: 'config',
    lines: [LINE], zones: [], ...extra });

  before(async () => {
    broker = await h.startBroker();
    ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: h.tmpDir('data'), EDGEWATCH_UI_PASSWORD: PASSWORD });
    pub = await h.publisher(broker.url);
    api = await h.login(ui.base, PASSWORD);
    origin = ui.base;
    await h.brokerConnected(api);
    // A stand-in worker: what it counts on, and an answer to every save (a line named "refuse" is refused).
    await pub.publish('edgewatch/cam1/geometry', published(), { retain: true });
    pub.client.subscribe('edgewatch/cam1/config/geometry', { qos: 1 });
    pub.client.on('message', (topic, payload) => {
      if (!payload.length) return;
      const msg = JSON.parse(payload);
      received.push(msg);
      if (msg.lines.some((l) => l.name === 'refuse')) {
        pub.publish('edgewatch/cam1/events', h.eventMsg('cam1', received.length, {
          type: 'config_rejected', config_id: msg.id, by: msg.by, reason: 'lines.0.name: refused by the worker',
          track_id: undefined, duration_s: undefined, side: undefined,
        }));
      } else {
        pub.publish('edgewatch/cam1/geometry', published({ origin: 'ui', config_id: msg.id, by: msg.by, lines: msg.lines, zones: msg.zones }), { retain: true });
      }
    });
    await h.waitFor(async () => (await api('/api/cameras/cam1/geometry')).status === 200, { what: 'geometry known to the UI' });
  });

  after(async () => {
    await pub?.end();
    await ui?.stop();
    await broker?.stop();
  });

  const put = (body, headers = {}) => api('/api/cameras/cam1/geometry', {
    method: 'PUT', headers: { 'Content-Type': 'application/json', Origin: origin, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('saves, and answers once the worker applied it; GET shows it', async () => {
    const entry = { name: 'entry', points: [[0, 400], [768, 400]], min_frames: 2 };
    const r = await put({ lines: [entry], zones: [{ name: 'till', polygon: [[10, 10], [100, 10], [100, 100]], inertia: 3 }] });
    assert.equal(r.status, 200, await r.clone().text());
    const answer = await r.json();
    const msg = received.at(-1);
    assert.equal(msg.id, answer.id);
    assert.equal(msg.camera, 'cam1');
    assert.match(msg.by, /^session [0-9a-f]{12}$/);
    assert.deepEqual(msg.lines, [entry]);
    const now = await (await api('/api/cameras/cam1/geometry')).json();
    assert.equal(now.config_id, answer.id);
    assert.deepEqual(now.lines, [entry]);
  });

  it("reports the worker's refusal with its reason", async () => {
    const r = await put({ lines: [{ name: 'refuse', points: [[0, 0], [10, 10]] }] });
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { error: 'lines.0.name: refused by the worker', key: 'lines.0.name' });
  });

  it('refuses bad shapes with the item and key, and publishes nothing', async () => {
    const before = received.length;
    const cases = [
      [{ lines: [{ name: 'a', points: [[0, 0], [900, 10]] }] }, 'lines.0.points', /outside the 768x432 frame/],
      [{ zones: [{ name: 'z', polygon: [[1, 1], [2, 2]] }] }, 'zones.0.polygon', /must NOT have fewer than 3 items/],
      [{ lines: [LINE, LINE] }, 'lines', /duplicate name 'door'/],
      [{ zones: [{ name: 'z', polygon: Array.from({ length: 10000 }, (_, i) => [i % 700, i % 400]) }] }, 'zones.0.polygon', /more than 100/],
      ['{"lines": [', '', /not JSON/],
    ];
    for (const [body, key, error] of cases) {
      const r = await put(body);
      assert.equal(r.status, 400, `${key}: ${r.status}`);
      const answer = await r.json();
      assert.equal(answer.key, key);
      assert.match(answer.error, error);
    }
    // 10 MB: refused on its declared length, before a byte of it is read.
    const huge = await new Promise((resolve, reject) => {
      const req = http.request(`${ui.base}/api/cameras/cam1/geometry`, {
        method: 'PUT', headers: { cookie: api.cookie, Origin: origin, 'Content-Type': 'application/json',
          'Content-Length': String(10 * 1024 * 1024) },
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.write('{"lines": [');
    });
    assert.equal(huge.status, 413);
    assert.match(huge.text, /request body too large/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(received.length, before, 'a refused geometry reached the broker');
  });

  it('answers the history, and refuses a reversed or too long range with one line', async () => {
    const now = Math.floor(Date.now() / 1000);
    let r = await api(`/api/history?by=hour&from=${now - 3600}&to=${now}&camera=cam1`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.by, 'hour');
    assert.ok(typeof body.tz === 'string' && Array.isArray(body.buckets));
    r = await api(`/api/history.csv?by=day&from=${now - 86400}&to=${now}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-disposition'), /edgewatch-history-site-day\.csv/);
    assert.match(await r.text(), /^start_utc,start_/);
    r = await api(`/api/history.csv?by=day&from=${now - 86400}&to=${now}&chart=people`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^start_utc,start_[^,]+,avg_in_frame,max_in_frame,unique\r\n/);
    r = await api(`/api/history.csv?by=day&from=${now - 86400}&to=${now}&chart=pie`);
    assert.deepEqual([r.status, await r.json()], [400, { error: 'chart must be one of people, lines, zones, stay' }]);
    for (const [q, error] of [[`by=hour&from=${now}&to=${now - 60}`, 'from must be before to'],
      [`by=hour&from=${now - 40 * 86400}&to=${now}`, 'by hour covers at most 31 days'],
      [`by=day&from=${now - 500 * 86400}&to=${now}`, 'by day covers at most 400 days'],
      [`by=hour&from=${now - 60}`, 'from and to are required (Unix seconds)']]) {
      r = await api(`/api/history?${q}`);
      assert.equal(r.status, 400, q);
      assert.deepEqual(await r.json(), { error }, q);
    }
  });

  it('needs a session (401) and the UI\'s own Origin (403)', async () => {
    let r = await fetch(`${ui.base}/api/cameras/cam1/geometry`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Origin: origin }, body: '{}' });
    assert.equal(r.status, 401);
    r = await put({ lines: [] }, { Origin: 'http://evil.example' });
    assert.equal(r.status, 403);
    r = await api('/api/cameras/cam1/geometry', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(r.status, 403, 'no Origin at all');
    r = await api('/api/cameras/nope/geometry', { method: 'PUT', headers: { 'Content-Type': 'application/json', Origin: origin }, body: '{}' });
    assert.equal(r.status, 409);
    assert.match((await r.json()).error, /camera nope has not published its lines and zones/);
  });
});
