'use strict';
// Bad input reaching the real UI server (child process) from a real Mosquitto and over HTTP: each
// case is answered with one line naming the cause, the server keeps serving, and nothing already
// stored is lost. The fuzz of thousands of random payloads is in server.test.js
// ('stays alive and serving through thousands of malformed payloads'); these are the named cases.

const assert = require('node:assert/strict');
const net = require('node:net');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const PASSWORD = 'bad input never wins';

describe('UI server given bad input', () => {
  let broker;
  let ui;
  let pub;
  let api;
  let kept; // an event stored before any bad input arrives; must survive all of it

  before(async () => {
    broker = await h.startBroker();
    ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: h.tmpDir('data'), EDGEWATCH_UI_PASSWORD: PASSWORD });
    pub = await h.publisher(broker.url);
    api = await h.login(ui.base, PASSWORD);
    await h.brokerConnected(api);
    kept = h.eventMsg('keep', 1);
    await pub.publish('edgewatch/keep/events', kept, { qos: 1 });
    await h.waitFor(async () => (await (await api('/api/events?camera=keep')).json()).events.length === 1, { what: 'kept event stored' });
  });

  after(async () => {
    await pub?.end();
    await ui?.stop();
    await broker?.stop();
  });

  /** Publishes one payload on its own camera's topic; returns the UI's log line about it. */
  async function dropLine(camera, kind, payload) {
    const topic = `edgewatch/${camera}/${kind}`;
    await pub.publish(topic, payload, { qos: 1 });
    const line = await h.waitFor(() => ui.log().split('\n').find((l) => l.includes(`dropped MQTT message on ${topic}:`)),
      { what: `drop line for ${topic}` });
    if (kind === 'events') {
      assert.deepEqual((await (await api(`/api/events?camera=${camera}`)).json()).events, [], `${camera} event was stored`);
    } else {
      assert.equal((await (await api('/api/state')).json()).cameras[camera], undefined, `${camera} ${kind} was taken in`);
    }
    return line;
  }

  const mqttCases = [
    ['not JSON', 'nojson', 'state', 'hello, world', /: payload is not JSON$/],
    ['not UTF-8', 'noutf8', 'state', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /: payload is not UTF-8$/],
    ['huge (2 MB)', 'huge', 'state', Buffer.alloc(2 * 1024 * 1024, 0x20), /: payload of 2097152 bytes exceeds 65536$/],
    ['JSON that is not an object', 'arr', 'status', '[1, 2, 3]', /: payload is not a JSON object$/],
    ['wrong shape: total as a string', 'shape', 'state', JSON.stringify(h.stateMsg('shape', { total: 'seven' })), /: total must be a finite number$/],
    ['wrong shape: unknown event type', 'evtype', 'events', JSON.stringify(h.eventMsg('evtype', 1, { type: 'party' })), /: type="party" is not allowed$/],
    ['camera in payload differs from topic', 'mine', 'state', JSON.stringify(h.stateMsg('other')), /: camera in payload differs from topic$/],
    ['topic that is not ours', 'x', 'unknown', '{}', /: topic is not <prefix>\/<camera>\/<kind>$/],
  ];
  for (const [name, camera, kind, payload, re] of mqttCases) {
    it(`MQTT payload ${name}: logged with its cause and dropped`, async () => {
      const line = await dropLine(camera, kind, payload);
      assert.match(line, / WARN dropped MQTT message on /);
      assert.match(line, re);
      assert.ok(line.length < 300, `log line of ${line.length} chars`);
      assert.equal(ui.proc.exitCode, null, 'server exited');
    });
  }

  it('after every bad payload a good one is still taken in and the stored event is still there', async () => {
    await pub.publish('edgewatch/nojson/state', h.stateMsg('nojson', { total: 3 }), { qos: 1 });
    await h.waitFor(async () => (await (await api('/api/state')).json()).cameras.nojson?.state?.total === 3, { what: 'good state after bad' });
    const events = (await (await api('/api/events?camera=keep')).json()).events;
    assert.deepEqual(events.map((e) => e.id), [kept.id]);
  });

  const queryCases = [
    ['/api/events?limit=-1', 'limit must be an integer from 1 to 5000'],
    ['/api/events?limit=abc', 'limit must be an integer from 1 to 5000'],
    ['/api/events?limit=1000000000000', 'limit must be an integer from 1 to 5000'],
    ['/api/events?limit=1e3', 'limit must be an integer from 1 to 5000'],
    ['/api/events?camera=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'camera must be 1 to 64 letters, digits, _ or -'],
    ['/api/events?before=NaN', 'before must be a time in Unix seconds'],
    ['/api/events?before=-5', 'before must be a time in Unix seconds'],
    ['/api/counts?minutes=0', 'minutes must be an integer from 1 to 44640'],
    ['/api/counts?minutes=Infinity', 'minutes must be an integer from 1 to 44640'],
    ['/api/events.csv?camera=..%2F..%2Fetc', 'camera must be 1 to 64 letters, digits, _ or -'],
  ];
  for (const [url, message] of queryCases) {
    it(`GET ${url}: 400 "${message}"`, async () => {
      const r = await api(url);
      assert.equal(r.status, 400);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.deepEqual(await r.json(), { error: message });
    });
  }

  it('good query values still work: limit, camera and before', async () => {
    const r = await (await api(`/api/events?limit=5000&camera=keep&before=${h.now() + 60}`)).json();
    assert.deepEqual(r.events.map((e) => e.id), [kept.id]);
    assert.equal((await (await api(`/api/events?before=${kept.ts - 1}`)).json()).events.length, 0);
  });

  it('bad paths: 404 or 400 with one line, never a stack trace', async () => {
    const cases = [
      ['/api/nope', 404, '{"error":"no such API"}'],
      ['/nope.html', 404, 'not found\n'],
      ['/%E0%A4%A', 400, 'bad request\n'], // broken percent-encoding
      ['/%00', 404, 'not found\n'],
      ['/stream/cam1/%3Cscript%3E', 400, 'bad stream path\n'],
    ];
    for (const [p, status, body] of cases) {
      const r = await api(p);
      assert.equal(r.status, status, `${p} answered ${r.status}`);
      assert.equal(await r.text(), body, p);
    }
  });

  /** Sends raw bytes and returns the status line of the answer (or 'reset' if the server cut it off). */
  async function raw(bytes) {
    const { port } = new URL(ui.base);
    return new Promise((resolve) => {
      const sock = net.connect(Number(port), '127.0.0.1');
      let got = '';
      sock.on('data', (c) => { got += c; });
      sock.on('error', () => resolve(got.split('\r\n')[0] || 'reset'));
      sock.on('close', () => resolve(got.split('\r\n')[0] || 'reset'));
      sock.write(bytes);
      setTimeout(() => sock.destroy(), 5000);
    });
  }

  it('oversized bodies and headers: 413/431/400 before the body is read', async () => {
    // A login body declared 10 MB: refused on the header, nothing buffered.
    let r = await fetch(`${ui.base}/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': String(10 * 1024 * 1024) }, body: '{}',
      duplex: 'half',
    }).catch((err) => ({ status: `reset (${err.cause?.code || err.message})` }));
    assert.ok(r.status === 413 || String(r.status).startsWith('reset'), `declared 10 MB got ${r.status}`);
    // The same, chunked (no length given): cut off at 4096 bytes.
    const chunked = await raw(`POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`
      + `2000\r\n${'x'.repeat(0x2000)}\r\n0\r\n\r\n`);
    assert.equal(chunked, 'HTTP/1.1 413 Payload Too Large');
    // A GET carrying a body.
    const getBody = await raw(`GET /api/state HTTP/1.1\r\nHost: x\r\nCookie: ${api.cookie}\r\nContent-Length: 5\r\n\r\nhello`);
    assert.equal(getBody, 'HTTP/1.1 413 Payload Too Large');
    // 20 kB of headers (the limit is 16 kB).
    const headers = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: ${'a'.repeat(20000)}\r\n\r\n`);
    assert.match(headers, /^HTTP\/1.1 (431|400) /);
    // Not HTTP at all.
    assert.match(await raw('\x16\x03\x01\x02\x00hello TLS\r\n\r\n'), /^HTTP\/1.1 400 /);
    // A method the server does not do.
    r = await api('/api/events', { method: 'DELETE' });
    assert.equal(r.status, 405);
    assert.equal(await r.text(), 'method not allowed\n');
  });

  it('a malformed login body is a wrong password, not a crash', async () => {
    const r = await fetch(`${ui.base}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"password":' });
    assert.equal(r.status, 401);
    assert.deepEqual(await r.json(), { error: 'wrong password' });
  });

  it('is alive and has lost nothing after all of it', async () => {
    assert.equal(ui.proc.exitCode, null, 'server exited');
    assert.equal((await fetch(`${ui.base}/healthz`)).status, 200);
    const s = await (await api('/api/state')).json();
    assert.ok(s.health.broker.connected);
    assert.ok(s.health.mqtt_dropped >= mqttCases.length, `${s.health.mqtt_dropped} dropped`);
    assert.deepEqual((await (await api('/api/events?camera=keep')).json()).events.map((e) => e.id), [kept.id]);
    assert.doesNotMatch(ui.log(), /ERROR|TypeError|ReferenceError|at .*\.js:\d+/);
  });
});
