'use strict';
// The real UI server (child process) against a real Mosquitto: login, live state, SSE, history.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const PASSWORD = 'correct horse battery staple';

describe('UI server with a real broker', () => {
  let broker;
  let ui;
  let dataDir;
  let pub;
  let api;

  before(async () => {
    broker = await h.startBroker();
    dataDir = h.tmpDir('data');
    ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir, EDGEWATCH_UI_PASSWORD: PASSWORD });
    pub = await h.publisher(broker.url);
    api = await h.login(ui.base, PASSWORD);
    await h.brokerConnected(api);
  });

  after(async () => {
    await pub?.end();
    await ui?.stop();
    await broker?.stop();
  });

  it('requires a login for the page, the API and the video proxy', async () => {
    let r = await fetch(`${ui.base}/`, { redirect: 'manual' });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get('location'), '/login');
    for (const p of ['/api/state', '/api/events', '/api/events.csv', '/api/live', '/stream/cam1/hls/index.m3u8', '/app.js']) {
      r = await fetch(`${ui.base}${p}`, { redirect: 'manual' });
      assert.ok([401, 303].includes(r.status), `${p} answered ${r.status} without a session`);
    }
    r = await fetch(`${ui.base}/login`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /type="password"/);
    r = await fetch(`${ui.base}/api/state`, { headers: { cookie: 'ew_session=forged' } });
    assert.equal(r.status, 401);
  });

  it('sets a strict session cookie and security headers', async () => {
    const r = await fetch(`${ui.base}/login`, {
      method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `password=${encodeURIComponent(PASSWORD)}`,
    });
    const cookie = r.headers.get('set-cookie');
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page = await api('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
  });

  it('slows down repeated wrong passwords and refuses parallel guesses', async () => {
    const attempt = async () => {
      const t0 = Date.now();
      const r = await fetch(`${ui.base}/login`, {
        method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/json' }, body: '{"password":"nope"}',
      });
      return { status: r.status, ms: Date.now() - t0 };
    };
    const first = await attempt();
    assert.equal(first.status, 401);
    const second = await attempt();
    const third = await attempt();
    assert.ok(second.ms >= 450, `second failure answered after ${second.ms} ms`);
    assert.ok(third.ms >= 950, `third failure answered after ${third.ms} ms`);
    const parallel = await Promise.all([attempt(), attempt()]);
    assert.deepEqual(parallel.map((p) => p.status).sort(), [401, 429]);
    // The right password still works (after its delay) and clears the counter.
    const ok = await h.login(ui.base, PASSWORD);
    assert.equal((await ok('/api/state')).status, 200);
  });

  it('serves nothing outside public/ and bounds request bodies', async () => {
    for (const p of ['/../package.json', '/%2e%2e/src/main.js', '/src/main.js', '/package.json', '/node_modules/mqtt/package.json',
      '/..%2fpackage.json', '/stream/..%2f..%2fetc/passwd', '/.env']) {
      const r = await api(p);
      assert.ok([400, 404].includes(r.status), `${p} answered ${r.status}`);
    }
    const vendor = await api('/vendor/hls.min.js');
    assert.equal(vendor.status, 200);
    assert.match(vendor.headers.get('content-type'), /javascript/);
    const big = await fetch(`${ui.base}/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `password=${'x'.repeat(100000)}`,
    }).catch((err) => ({ status: `reset (${err.cause?.code || err.message})` }));
    assert.ok(big.status === 413 || String(big.status).startsWith('reset'), `100 kB body got ${big.status}`);
    const put = await api('/api/state', { method: 'PUT' });
    assert.equal(put.status, 405);
  });

  it('reflects status, state, perf and segmentation in the API and over SSE', async () => {
    const live = await h.sse(api);
    try {
      await h.waitFor(() => live.events.find((e) => e.type === 'snapshot'), { what: 'snapshot' });
      await pub.publish('edgewatch/camA/status', { state: 'online', ts: h.now(), camera: 'camA', source: 'v.mp4' }, { qos: 1, retain: true });
      await pub.publish('edgewatch/camA/state', h.stateMsg('camA', { in_frame: 2, total: 7 }));
      await pub.publish('edgewatch/camA/perf', {
        camera: 'camA', ts: h.now(), fps: 9.9, infer_ms_p50: 8.1, infer_ms_p95: 9.4, latency_ms_p50: 40, latency_ms_p95: 61,
        mqtt_bps: 812, video_bps: 98000, model: 'person-detection-retail-0013', precision: 'FP16', device: 'CPU', frames: 1234,
      });
      await pub.publish('edgewatch/camA/segmentation', { camera: 'camA', ts: h.now(), video_s: 1, classes: { road: 0.4, background: 0.6 } });
      const st = await h.waitFor(async () => {
        const s = (await (await api('/api/state')).json()).cameras.camA;
        return s && s.segmentation && s.perf && s.state && s.state.total === 7 ? s : null;
      }, { what: 'camA in /api/state' });
      assert.equal(st.state.in_frame, 2);
      assert.deepEqual(st.state.lines, { door: { in: 3, out: 2 } });
      assert.equal(st.state.zones.table.occupancy, 1);
      assert.equal(st.perf.model, 'person-detection-retail-0013');
      assert.equal(st.status.state, 'online');
      assert.equal(st.worker.state, 'online');
      assert.equal(st.series.at(-1)[1], 2);
      await h.waitFor(() => live.events.find((e) => e.type === 'state' && e.data.camera === 'camA' && e.data.value.total === 7), { what: 'state over SSE' });
      await h.waitFor(() => live.events.find((e) => e.type === 'segmentation' && e.data.value.classes.road === 0.4), { what: 'segmentation over SSE' });

      // The worker's last will: offline must show at once.
      await pub.publish('edgewatch/camA/status', { state: 'offline', ts: h.now(), camera: 'camA', source: 'v.mp4', reason: 'lost' }, { qos: 1, retain: true });
      const off = await h.waitFor(() => live.events.find((e) => e.type === 'status' && e.data.value.state === 'offline'), { what: 'offline over SSE', timeoutMs: 3000 });
      assert.equal(off.data.worker.state, 'offline');
      const health = await h.waitFor(() => live.events.find((e) => e.type === 'health' && e.data.workers.camA?.state === 'offline'), { what: 'health' });
      assert.equal(health.data.broker.connected, true);
      assert.equal(health.data.stream.ok, false, 'nothing listens on the stream URL, so it must show unreachable');
    } finally {
      live.close();
    }
  });

  it('stores each event once although QoS 1 may deliver it twice', async () => {
    const live = await h.sse(api);
    try {
      await h.waitFor(() => live.events.find((e) => e.type === 'snapshot'), { what: 'snapshot' });
      const ev = h.eventMsg('camB', 1);
      const other = h.eventMsg('camB', 2, { type: 'line_cross', line: 'door', direction: 'in', duration_s: undefined, side: undefined });
      for (let i = 0; i < 3; i++) await pub.publish('edgewatch/camB/events', ev, { qos: 1 });
      await pub.publish('edgewatch/camB/events', other, { qos: 1 });
      const list = await h.waitFor(async () => {
        const r = await (await api('/api/events?camera=camB')).json();
        return r.events.length >= 2 ? r.events : null;
      }, { what: 'events stored' });
      await new Promise((r) => setTimeout(r, 300));
      const again = (await (await api('/api/events?camera=camB')).json()).events;
      assert.equal(again.length, 2);
      assert.deepEqual(list.map((e) => e.id).sort(), [ev.id, other.id].sort());
      assert.equal(live.events.filter((e) => e.type === 'event' && e.data.id === ev.id).length, 1, 'duplicate pushed to browsers');
    } finally {
      live.close();
    }
  });

  it('exports events as CSV with formula cells defused', async () => {
    const ev = h.eventMsg('camC', 1, { type: 'source_lost', detail: '=HYPERLINK("http://x","y"), "quoted"', track_id: undefined, duration_s: undefined, side: undefined });
    await pub.publish('edgewatch/camC/events', ev, { qos: 1 });
    await h.waitFor(async () => (await (await api('/api/events?camera=camC')).json()).events.length === 1, { what: 'camC event' });
    const r = await api('/api/events.csv?camera=camC');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/csv/);
    assert.match(r.headers.get('content-disposition'), /attachment; filename="edgewatch-events-.*\.csv"/);
    const lines = (await r.text()).trim().split('\r\n');
    assert.equal(lines.length, 2);
    assert.ok(lines[0].startsWith('id,seq,camera,type,time_utc,ts'));
    assert.ok(lines[1].startsWith(`${ev.id},1,camC,source_lost,${new Date(ev.ts * 1000).toISOString()},`));
    assert.ok(lines[1].endsWith(`"'=HYPERLINK(""http://x"",""y""), ""quoted""",,`), lines[1]);
    const all = await (await api('/api/events.csv')).text();
    assert.ok(all.includes(ev.id));
  });

  it('keeps a day_end with the day\'s totals, in the history and the CSV', async () => {
    const day = { date: '2026-11-30', total: 214, avg_duration_s: 9.5, lines: { door: { in: 120, out: 118 } }, zones: { table: { occupancy: 0, entered: 40, max_dwell_s: 610 } } };
    const ev = h.eventMsg('camD', 1, { type: 'day_end', ...day, track_id: undefined, duration_s: undefined, side: undefined });
    await pub.publish('edgewatch/camD/events', ev, { qos: 1 });
    await h.waitFor(async () => (await (await api('/api/events?camera=camD')).json()).events.length === 1, { what: 'camD event' });
    const [stored] = (await (await api('/api/events?camera=camD')).json()).events;
    assert.deepEqual({ date: stored.date, total: stored.total, avg_duration_s: stored.avg_duration_s, lines: stored.lines, zones: stored.zones }, day);
    const [header, row] = (await (await api('/api/events.csv?camera=camD')).text()).trim().split('\r\n');
    assert.ok(header.endsWith(',detail,date,total'), header);
    assert.ok(row.startsWith(`${ev.id},1,camD,day_end,`) && row.endsWith(',2026-11-30,214'), row);
  });

  it('streams a large CSV export to a slow reader, every event once', async () => {
    const n = 1500;
    // In batches, each stored before the next: Mosquitto queues at most max_queued_messages (1000
    // here) for a subscriber that is behind, and this publishes faster than any camera.
    const stored = async () => (await (await api('/api/events?camera=camBig&limit=1')).json()).total;
    const before = await stored();
    for (let b = 0; b < n; b += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, i) => pub.publish('edgewatch/camBig/events', h.eventMsg('camBig', b + i, { detail: 'x'.repeat(200) }), { qos: 1 })));
      await h.waitFor(async () => (await stored()) >= before + b + 250, { what: `batch ${b / 250 + 1} stored`, timeoutMs: 20000 });
    }
    const r = await api('/api/events.csv?camera=camBig');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      text += decoder.decode(chunk, { stream: true });
      await new Promise((resolve) => setTimeout(resolve, 2)); // a client slower than the server
    }
    const rows = text.trim().split('\r\n').slice(1);
    assert.equal(rows.length, n);
    assert.equal(new Set(rows.map((l) => l.split(',')[0])).size, n);
  });

  it('keeps per-minute counts', async () => {
    await pub.publish('edgewatch/camD/state', h.stateMsg('camD', { in_frame: 3, total: 9 }));
    await pub.publish('edgewatch/camD/state', h.stateMsg('camD', { in_frame: 1, total: 9 }));
    const counts = await h.waitFor(async () => {
      const c = (await (await api('/api/counts?camera=camD&minutes=5')).json()).counts;
      return c.length && c.at(-1).max_in_frame === 3 && c.at(-1).avg_in_frame === 2 ? c : null;
    }, { what: 'camD minute counts' });
    assert.equal(counts.at(-1).total, 9);
  });

  it('stays alive and serving through thousands of malformed payloads', async () => {
    const kinds = ['status', 'state', 'events', 'perf', 'segmentation'];
    let seed = 12345;
    const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
    const pick = (a) => a[Math.floor(rnd() * a.length)];
    const junkValues = [null, true, -1, 1e308, -0, 'x', '', [], {}, [1, 2], { a: 1 }, 'A'.repeat(1000), 3.5, NaN];
    const valid = {
      status: { state: 'online', ts: 1, camera: 'fz', source: 's' },
      state: h.stateMsg('fz'),
      events: h.eventMsg('fz', 1),
      perf: { camera: 'fz', ts: 1, fps: 1, frames: 1 },
      segmentation: { camera: 'fz', ts: 1, video_s: 0, classes: { road: 0.5 } },
    };
    const mutate = (obj) => {
      const o = JSON.parse(JSON.stringify(obj));
      const keys = Object.keys(o);
      const k = pick(keys);
      const r = rnd();
      if (r < 0.4) o[k] = pick(junkValues);
      else if (r < 0.6) delete o[k];
      else if (r < 0.8) o[pick(['tracks', 'lines', 'zones', 'classes'])] = pick(junkValues);
      else o[`extra${Math.floor(rnd() * 1e6)}`] = pick(junkValues);
      return JSON.stringify(o);
    };
    const generators = [
      () => Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256))), // random bytes
      () => Buffer.from([0xff, 0xfe, 0x7b, 0x7d, 0xc3, 0x28]), // not UTF-8
      () => JSON.stringify(valid[pick(kinds)]).slice(0, Math.floor(rnd() * 60)), // truncated JSON
      () => pick(['null', '42', '"str"', '[]', '[{}]', 'true', '{}', '{"__proto__":{"polluted":1}}']),
      () => '['.repeat(5000) + ']'.repeat(5000), // deep nesting
      () => mutate(valid[pick(kinds)]),
      () => mutate(valid[pick(kinds)]),
      () => JSON.stringify({ ...h.stateMsg('fz'), tracks: Array.from({ length: 1000 }, (_, i) => ({ id: i, box: [0, 0, 1, 1], enter_s: 0, duration_s: 0 })) }),
    ];
    const topics = [...kinds.map((k) => `edgewatch/fz/${k}`), 'edgewatch/fz/unknown', 'edgewatch/a/b/c', 'edgewatch/bad cam!/state', 'edgewatch/fz'];
    const before = (await (await api('/api/state')).json()).health.mqtt_dropped;
    const N = 3000;
    for (let i = 0; i < N; i++) {
      await pub.publish(pick(topics), pick(generators)(), { qos: i % 100 === 0 ? 1 : 0 });
    }
    await pub.publish('edgewatch/fz/state', Buffer.alloc(2 * 1024 * 1024, 0x20), { qos: 1 }); // 2 MB of spaces: too large
    // After the flood, a valid message is still processed and the server still serves.
    await pub.publish('edgewatch/fz/state', h.stateMsg('fz', { in_frame: 5, total: 55 }), { qos: 1 });
    const st = await h.waitFor(async () => {
      const s = await (await api('/api/state')).json();
      return s.cameras.fz?.state?.total === 55 ? s : null;
    }, { what: 'valid state after fuzz', timeoutMs: 20000 });
    assert.equal(ui.proc.exitCode, null, 'server exited');
    assert.ok(st.health.mqtt_dropped - before > N / 2, `only ${st.health.mqtt_dropped - before} of ${N} dropped`);
    assert.equal(({}).polluted, undefined);
    assert.equal((await fetch(`${ui.base}/healthz`)).status, 200);
    assert.ok(ui.log().includes('dropped MQTT message'), 'drops are logged');
    assert.ok(ui.log().split('\n').filter((l) => l.includes('dropped MQTT message')).length < 200, 'drop logging is rate-limited');
  });

  it('disconnects an SSE client that stops reading instead of buffering for it', async () => {
    const net = require('node:net');
    const { port } = new URL(ui.base);
    const sock = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`GET /api/live HTTP/1.1\r\nHost: x\r\nCookie: ${api.cookie}\r\n\r\n`);
    await new Promise((r) => sock.once('data', r));
    sock.pause(); // the "tab" stops reading
    let closed = false;
    sock.on('close', () => { closed = true; });
    const fat = h.stateMsg('slow', { tracks: Array.from({ length: 200 }, (_, i) => ({ id: i, box: [1.5, 2.5, 3.5, 4.5], enter_s: 1.25, duration_s: 2.75 })) });
    const dropped0 = (await (await api('/api/state')).json()).health.sse_dropped;
    const t0 = Date.now();
    let sent = 0;
    while (!closed && Date.now() - t0 < 30000 && sent < 4000) {
      await pub.publish('edgewatch/slow/state', { ...fat, ts: h.now() });
      sent += 1;
      if (sent % 50 === 0) {
        const n = (await (await api('/api/state')).json()).health.sse_clients;
        if (n === 0) break;
      }
    }
    const clients = await h.waitFor(async () => {
      const n = (await (await api('/api/state')).json()).health.sse_clients;
      return n === 0 ? 'none' : null;
    }, { what: 'slow client dropped', timeoutMs: 10000 });
    assert.equal(clients, 'none');
    assert.ok(ui.log().includes('SSE client too slow'), 'drop is logged');
    const { health } = await (await api('/api/state')).json();
    assert.equal(health.sse_dropped, dropped0 + 1, 'the cut-off client is counted in health');
    assert.ok(health.server_memory.rss_mib > health.server_memory.heap_used_mib && health.server_memory.heap_used_mib > 0,
      `server memory figures implausible: ${JSON.stringify(health.server_memory)}`);
    sock.destroy();
  });
});

describe('history and password across restarts', () => {
  it('keeps events and minute counts, and prints a generated password once', async () => {
    const broker = await h.startBroker();
    const dataDir = h.tmpDir('restart');
    try {
      let ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir });
      const m = /generated UI password "([^"]+)"/.exec(ui.log());
      assert.ok(m, `no generated password in the log:\n${ui.log()}`);
      const password = m[1];
      assert.equal(fs.readFileSync(path.join(dataDir, 'ui-password'), 'utf8').trim(), password);
      assert.equal(fs.statSync(path.join(dataDir, 'ui-password')).mode & 0o077, 0, 'password file readable by others');
      let api = await h.login(ui.base, password);
      await h.brokerConnected(api, 'broker');
      const pub = await h.publisher(broker.url);
      const ev = h.eventMsg('camR', 1);
      await pub.publish('edgewatch/camR/events', ev, { qos: 1 });
      await pub.publish('edgewatch/camR/state', h.stateMsg('camR', { in_frame: 4, total: 11 }));
      await h.waitFor(async () => (await (await api('/api/events?camera=camR')).json()).events.length === 1, { what: 'event' });
      await h.waitFor(async () => (await (await api('/api/counts?camera=camR')).json()).counts.length === 1, { what: 'count' });
      const exit = await ui.stop();
      assert.equal(exit.code, 0, `UI did not stop cleanly:\n${ui.log()}`);

      ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir });
      assert.ok(!ui.log().includes(password), 'the stored password was printed again');
      api = await h.login(ui.base, password);
      const events = (await (await api('/api/events?camera=camR')).json()).events;
      assert.deepEqual(events.map((e) => e.id), [ev.id]);
      const counts = (await (await api('/api/counts?camera=camR')).json()).counts;
      assert.equal(counts.length, 1);
      assert.equal(counts[0].max_in_frame, 4);
      const series = (await (await api('/api/state')).json()).cameras.camR.series;
      assert.ok(series.length > 0 && series.every((p) => p[1] === 4), 'chart not seeded from the stored minute');
      // A redelivery after the restart is still recognised as a duplicate.
      await h.brokerConnected(api, 'broker');
      await pub.publish('edgewatch/camR/events', ev, { qos: 1 });
      await pub.publish('edgewatch/camR/events', h.eventMsg('camR', 2), { qos: 1 });
      await h.waitFor(async () => (await (await api('/api/events?camera=camR')).json()).events.length === 2, { what: 'second event' });
      await pub.end();
      await ui.stop();
    } finally {
      await broker.stop();
    }
  });

  it('keeps every event it took through a SIGKILL (each insert is committed, nothing waits for a flush)', async () => {
    const broker = await h.startBroker();
    const dataDir = h.tmpDir('killed');
    const env = { EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir, EDGEWATCH_UI_PASSWORD: 'pw' };
    try {
      let ui = await h.startUi(env);
      let api = await h.login(ui.base, 'pw');
      await h.brokerConnected(api, 'broker');
      const pub = await h.publisher(broker.url);
      const n = 40;
      for (let i = 1; i <= n; i += 1) await pub.publish('edgewatch/camK/events', h.eventMsg('camK', i), { qos: 1 });
      await pub.end();
      // The instant the last one is visible, kill: no shutdown handler runs.
      await h.waitFor(async () => (await (await api('/api/events?camera=camK&limit=1000')).json()).events.length === n, { what: 'events', intervalMs: 5 });
      ui.proc.kill('SIGKILL');
      assert.equal((await ui.exited).sig, 'SIGKILL');
      ui = await h.startUi(env);
      api = await h.login(ui.base, 'pw');
      const ids = (await (await api('/api/events?camera=camK&limit=1000')).json()).events.map((e) => e.seq);
      assert.equal(ids.length, n, `events lost by the kill: ${n - ids.length}`);
      await ui.stop();
    } finally {
      await broker.stop();
    }
  });

  it('moves an unreadable database aside instead of failing to start', async () => {
    const broker = await h.startBroker();
    const dataDir = h.tmpDir('corrupt');
    fs.writeFileSync(path.join(dataDir, 'edgewatch-ui.sqlite'), 'this is not a database');
    try {
      const ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: dataDir, EDGEWATCH_UI_PASSWORD: 'pw' });
      assert.match(ui.log(), /unreadable .* moved to/);
      assert.ok(fs.readdirSync(dataDir).some((f) => f.startsWith('edgewatch-ui.sqlite.corrupt-')));
      await ui.stop();
    } finally {
      await broker.stop();
    }
  });

  it('refuses a bad configuration with one clear line', async () => {
    await assert.rejects(h.startUi({ EDGEWATCH_MQTT_URL: 'http://broker', EDGEWATCH_UI_DATA: h.tmpDir('cfg') }), /configuration: EDGEWATCH_MQTT_URL=http:\/\/broker must use mqtt:/);
    await assert.rejects(h.startUi({ EDGEWATCH_UI_PASSWORD_FILE: '/nonexistent/pw', EDGEWATCH_UI_DATA: h.tmpDir('cfg') }), /EDGEWATCH_UI_PASSWORD_FILE=\/nonexistent\/pw cannot be read: ENOENT/);
  });
});
