'use strict';
// The small parts on their own: the chart series, worker health, login slow-down, the log limiter.

const assert = require('node:assert/strict');
const path = require('node:path');
const { describe, it } = require('node:test');
const { UI_DIR } = require('./helpers');

const src = (m) => require(path.join(UI_DIR, 'src', m));
const { LiveState } = src('livestate.js');
const { Auth } = src('auth.js');
const { createLogger } = src('log.js');
const csv = src('csv.js');

describe('LiveState', () => {
  it('keeps one peak point per second for 10 minutes', () => {
    let t = 1_000_000_000;
    const live = new LiveState({ now: () => t });
    live.apply('c', 'state', { in_frame: 1 });
    t += 200;
    live.apply('c', 'state', { in_frame: 3 });
    t += 200;
    live.apply('c', 'state', { in_frame: 2 });
    assert.deepEqual(live.snapshot().c.series, [[1_000_000, 3]]);
    for (let i = 0; i < 1200; i++) {
      t += 1000;
      live.apply('c', 'state', { in_frame: i % 5 });
    }
    const s = live.snapshot().c.series;
    assert.equal(s.length, 600);
    assert.equal(s.at(-1)[0] - s[0][0], 599);
  });

  it('seeds the chart from stored per-minute peaks after a restart', () => {
    const t = 1_000_000_000_000; // 40 s into a minute
    const live = new LiveState({ now: () => t });
    const minute = Math.floor(t / 60000);
    live.seedSeries('c', [{ minute: minute - 20, max_in_frame: 9 }, { minute: minute - 1, max_in_frame: 2 }, { minute, max_in_frame: 3 }]);
    const s = live.snapshot().c.series;
    assert.equal(s.length, 60 + 40, 'the old minute is outside 10 minutes; the current one only up to now');
    assert.deepEqual(s[0], [(minute - 1) * 60, 2]);
    assert.deepEqual(s.at(-1), [t / 1000 - 1, 3]);
    live.apply('c', 'state', { in_frame: 5 });
    assert.deepEqual(live.snapshot().c.series.at(-1), [t / 1000, 5]);
  });

  it('reports a silent online worker as stale and refuses cameras past the cap', () => {
    let t = 0;
    const live = new LiveState({ maxCameras: 2, now: () => t });
    assert.equal(live.workerHealth('a').state, 'unknown');
    live.apply('a', 'status', { state: 'online' });
    assert.equal(live.workerHealth('a').state, 'online');
    t = 11000;
    assert.equal(live.workerHealth('a').state, 'stale');
    live.apply('a', 'status', { state: 'offline' });
    assert.equal(live.workerHealth('a').state, 'offline');
    assert.equal(live.apply('b', 'state', { in_frame: 0 }), true);
    assert.equal(live.apply('c', 'state', { in_frame: 0 }), false);
    assert.deepEqual(live.cameraIds(), ['a', 'b']);
  });
});

describe('LiveState input', () => {
  it('takes the newer of the status\'s input and the last source event', () => {
    const live = new LiveState();
    live.apply('a', 'status', { state: 'online', ts: 10, input: { state: 'waiting', detail: 'opening' } });
    assert.deepEqual(live.inputState('a'), { state: 'waiting', detail: 'opening', ts: 10, from: 'status' });
    live.noteSource('a', { type: 'source_lost', ts: 12, detail: 'EOF' });
    assert.deepEqual(live.inputState('a'), { state: 'lost', detail: 'EOF', ts: 12, from: 'event' });
    live.noteSource('a', { type: 'source_restored', ts: 11 }); // older than the one kept: ignored
    assert.equal(live.inputState('a').state, 'lost');
    live.noteSource('a', { type: 'person_enter', ts: 20 }); // not a source event
    assert.equal(live.inputState('a').ts, 12);
    live.apply('a', 'status', { state: 'online', ts: 13, input: { state: 'ok' } });
    assert.deepEqual(live.inputState('a'), { state: 'ok', detail: '', ts: 13, from: 'status' });
    live.apply('a', 'status', { state: 'online', ts: 14 }); // a newer status without input outdates all
    assert.equal(live.inputState('a'), null);
    assert.equal(live.snapshot().a.input, null);
    assert.equal(live.inputState('nobody'), null);
  });

  it('keeps source events of unlisted cameras aside, bounded, until their first message', () => {
    const live = new LiveState({ maxCameras: 2 });
    live.noteSource('x', { type: 'source_lost', ts: 5, detail: 'gone' });
    live.noteSource('y', { type: 'source_lost', ts: 5 });
    live.noteSource('z', { type: 'source_lost', ts: 5 }); // past the cap: dropped
    live.noteSource('x', { type: 'source_lost', ts: 6, detail: 'still gone' }); // a known one is updated
    assert.deepEqual(live.cameraIds(), []);
    live.apply('x', 'state', { in_frame: 0 });
    assert.deepEqual(live.inputState('x'), { state: 'lost', detail: 'still gone', ts: 6, from: 'event' });
    live.apply('z', 'state', { in_frame: 0 });
    assert.equal(live.inputState('z'), null);
  });
});

describe('Auth', () => {
  it('doubles the delay per failure up to the cap and resets on success', async () => {
    const auth = new Auth('pw', { baseDelayMs: 10, maxDelayMs: 40 });
    assert.equal(auth.delayFor('ip'), 0);
    for (const expected of [10, 20, 40, 40]) {
      assert.equal((await auth.login('ip', 'wrong')).token, null);
      assert.equal(auth.delayFor('ip'), expected);
    }
    assert.equal(auth.delayFor('other-ip'), 0);
    const { token } = await auth.login('ip', 'pw');
    assert.match(token, /^[\w-]{43}$/);
    assert.equal(auth.delayFor('ip'), 0);
    assert.equal(auth.isAuthenticated({ headers: { cookie: `a=b; ew_session=${token}` } }), true);
    assert.equal(auth.isAuthenticated({ headers: { cookie: 'ew_session=nope' } }), false);
    auth.logout({ headers: { cookie: `ew_session=${token}` } });
    assert.equal(auth.isAuthenticated({ headers: { cookie: `ew_session=${token}` } }), false);
  });

  it('expires sessions and bounds their number', async () => {
    let t = 0;
    const auth = new Auth('pw', { ttlMs: 1000, maxSessions: 3, now: () => t });
    const tokens = [];
    for (let i = 0; i < 5; i++) tokens.push((await auth.login(`ip${i}`, 'pw')).token);
    const req = (tok) => ({ headers: { cookie: `ew_session=${tok}` } });
    assert.equal(auth.isAuthenticated(req(tokens[0])), false, 'oldest session evicted');
    assert.equal(auth.isAuthenticated(req(tokens[4])), true);
    t = 2000;
    assert.equal(auth.isAuthenticated(req(tokens[4])), false, 'expired');
    assert.match(auth.sessionCookie('x'), /HttpOnly; SameSite=Strict/);
    assert.match(new Auth('pw', { secureCookie: true }).sessionCookie('x'), /; Secure$/);
  });
});

describe('logger', () => {
  it('rate-limits one kind of warning and reports how many it held back', () => {
    let t = 0;
    let out = '';
    const log = createLogger({ out: { write: (s) => { out += s; } }, now: () => t, burst: 3, windowMs: 1000 });
    for (let i = 0; i < 10; i++) log.warnLimited('k', `w${i}`);
    assert.equal(out.trim().split('\n').length, 3);
    t = 1500;
    log.warnLimited('k', 'later');
    assert.match(out, /k: 7 more suppressed/);
    assert.match(out, /later/);
  });
});

describe('csv', () => {
  it('quotes separators and defuses formulas', () => {
    const line = csv.row({ id: 'a', seq: 1, camera: 'c', type: 'source_lost', ts: 0, detail: '+1, "two"\nthree' });
    assert.equal(line, `a,1,c,source_lost,1970-01-01T00:00:00.000Z,0,,,,,,,,,,,,,,"'+1, ""two""\nthree",,\r\n`);
  });
});

describe('Store export pages', () => {
  const { Store } = src('store.js');
  const h = require('./helpers');

  it('returns every event once, oldest first, across pages and equal times', async () => {
    const store = await Store.open(h.tmpDir('pages'));
    const n = 1234;
    // Inserted out of time order, with runs of identical timestamps across page boundaries.
    for (let i = 0; i < n; i += 1) store.addEvent({ id: `e${i}`, camera: i % 3 ? 'a' : 'b', seq: i, type: 'person_enter', ts: 1000 + Math.floor(((i * 7919) % n) / 10) });
    const seen = [];
    let after = null;
    let pages = 0;
    do {
      const page = store.eventsPage({ after, limit: 100 });
      seen.push(...page.events);
      after = page.cursor;
      pages += 1;
    } while (after);
    assert.equal(seen.length, n);
    assert.equal(new Set(seen.map((e) => e.id)).size, n);
    assert.equal(pages, 13);
    for (let i = 1; i < n; i += 1) assert.ok(seen[i - 1].ts <= seen[i].ts, `out of order at ${i}`);
    const onlyB = store.eventsPage({ camera: 'b', limit: 5000 });
    assert.equal(onlyB.events.length, Math.ceil(n / 3));
    assert.equal(onlyB.cursor, null);
    store.close();
  });
});
