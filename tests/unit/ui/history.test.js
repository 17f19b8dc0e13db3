'use strict';
// The history by hour and day: aggregated from the minutes and events the UI stores, in the site's days.

const assert = require('node:assert/strict');
const path = require('node:path');
const { describe, it } = require('node:test');
const h = require('./helpers');

const { Store } = require(path.join(h.UI_DIR, 'src/store'));
const { RangeError400 } = require(path.join(h.UI_DIR, 'src/history'));
const csv = require(path.join(h.UI_DIR, 'src/csv'));

// 2026-12-01 00:00 in Paris (UTC+1 in December) is 2026-11-30 23:00 UTC.
const DAY1 = Date.UTC(2026, 10, 30, 23) / 1000;
const HOUR = 3600;
let seq = 0;
const ev = (camera, ts, type, extra) => ({ id: `e${(seq += 1)}`, seq, camera, type, ts, video_s: 1, ...extra });

/** cam a: 3 people on day 1 (1 at 08:xx, 2 at 09:xx), 2 on day 2 (the day starts with 0); cam b: 1 on day 1. */
async function filled(dir) {
  const store = await Store.open(dir, { tz: 'Europe/Paris', now: () => (DAY1 + 3 * 86400) * 1000 });
  const minutes = [
    ['a', DAY1 + 8 * HOUR, 1, 1], ['a', DAY1 + 8 * HOUR + 60, 1, 1], ['a', DAY1 + 9 * HOUR, 2, 3], ['a', DAY1 + 10 * HOUR, 0, 3],
    ['a', DAY1 + 86400 + 7 * HOUR, 1, 1], ['a', DAY1 + 86400 + 12 * HOUR, 1, 2],
    ['b', DAY1 + 9 * HOUR, 1, 1],
  ];
  for (const [cam, ts, inFrame, total] of minutes) {
    store.recordSample(cam, ts * 1000, inFrame, total);
    store.recordSample(cam, ts * 1000 + 30000, inFrame, total);
  }
  store.recordSample('a', (DAY1 + 2 * 86400) * 1000, 0, 0); // writes a's last minute
  store.recordSample('b', (DAY1 + 2 * 86400) * 1000, 0, 0);
  const events = [
    ev('a', DAY1 + 8 * HOUR + 5, 'line_cross', { track_id: 1, line: 'door', direction: 'in' }),
    ev('a', DAY1 + 9 * HOUR + 5, 'line_cross', { track_id: 2, line: 'door', direction: 'in' }),
    ev('a', DAY1 + 9 * HOUR + 9, 'line_cross', { track_id: 1, line: 'door', direction: 'out' }),
    ev('a', DAY1 + 9 * HOUR + 7, 'zone_enter', { track_id: 2, zone: 'till' }),
    ev('a', DAY1 + 9 * HOUR + 20, 'person_leave', { track_id: 1, duration_s: 60, side: null }),
    ev('a', DAY1 + 10 * HOUR, 'person_leave', { track_id: 2, duration_s: 30, side: null }),
    ev('a', DAY1 + 86400 + 7 * HOUR, 'line_cross', { track_id: 4, line: 'door', direction: 'in' }),
    ev('b', DAY1 + 9 * HOUR + 1, 'line_cross', { track_id: 1, line: 'gate', direction: 'out' }),
  ];
  for (const e of events) assert.ok(store.addEvent(e));
  assert.equal(store.addEvent(events[0]), false); // a redelivery counts once
  return store;
}

describe('history', () => {
  it('by hour: the day\'s hours with people in frame, new people, lines, zones and stays', async () => {
    const store = await filled(h.tmpDir('hist'));
    const r = store.historyQuery({ camera: 'a', by: 'hour', from: DAY1, to: DAY1 + 86400 });
    assert.equal(r.tz, 'Europe/Paris');
    assert.deepEqual(r.buckets.map((b) => [b.label.slice(-5), b.unique, b.max_in_frame]), [['08:00', 1, 1], ['09:00', 2, 2], ['10:00', 0, 0]]);
    const nine = r.buckets[1];
    assert.deepEqual(nine.lines, { door: { in: 1, out: 1 } });
    assert.deepEqual(nine.zones, { till: 1 });
    assert.equal(nine.avg_stay_s, 60);
    assert.equal(r.buckets[0].t, DAY1 + 8 * HOUR);
    store.close();
  });

  it('by day: local days, unique = the day\'s total, the site = every camera summed', async () => {
    const store = await filled(h.tmpDir('hist'));
    let r = store.historyQuery({ camera: 'a', by: 'day', from: DAY1, to: DAY1 + 7 * 86400 });
    // The third day holds only the minute in progress (nobody yet): it is there, as fresh as the live numbers.
    assert.deepEqual(r.buckets.map((b) => [b.label, b.unique]), [['2026-12-01', 3], ['2026-12-02', 2], ['2026-12-03', 0]]);
    assert.equal(r.buckets[1].t, DAY1 + 86400); // a day starts at the site's midnight
    assert.deepEqual(r.buckets[0].lines, { door: { in: 2, out: 1 } });
    assert.equal(r.buckets[0].avg_stay_s, 45);
    r = store.historyQuery({ camera: null, by: 'day', from: DAY1, to: DAY1 + 7 * 86400 });
    assert.deepEqual(r.buckets.map((b) => [b.label, b.unique]), [['2026-12-01', 4], ['2026-12-02', 2], ['2026-12-03', 0]]);
    assert.deepEqual(r.buckets[0].lines, { door: { in: 2, out: 1 }, gate: { in: 0, out: 1 } });
    const nine = store.historyQuery({ camera: null, by: 'hour', from: DAY1 + 9 * HOUR, to: DAY1 + 10 * HOUR }).buckets[0];
    assert.equal(nine.avg_in_frame, 3); // a's 2 and b's 1 at the same hour add up
    store.close();
  });

  it('refuses a reversed or too long range', async () => {
    const store = await filled(h.tmpDir('hist'));
    assert.throws(() => store.historyQuery({ by: 'hour', from: DAY1 + 10, to: DAY1 }), RangeError400);
    assert.throws(() => store.historyQuery({ by: 'hour', from: DAY1, to: DAY1 + 40 * 86400 }), /at most 31 days/);
    assert.throws(() => store.historyQuery({ by: 'day', from: DAY1, to: DAY1 + 500 * 86400 }), /at most 400 days/);
    assert.throws(() => store.historyQuery({ by: 'week', from: DAY1, to: DAY1 + 86400 }), /by must be hour or day/);
    store.close();
  });

  it('exports a chart as CSV and rebuilds its tables from the stored minutes and events', async () => {
    const dir = h.tmpDir('hist');
    let store = await filled(dir);
    const q = { camera: null, by: 'day', from: DAY1, to: DAY1 + 7 * 86400 };
    const before = store.historyQuery(q);
    const text = csv.history(before);
    assert.equal(text.split('\r\n')[0], 'start_utc,start_Europe/Paris,avg_in_frame,max_in_frame,unique,avg_stay_s,line door in,line door out,line gate in,line gate out,zone till entered');
    assert.match(text.split('\r\n')[1], /^2026-11-30T23:00:00.000Z,2026-12-01,[\d.]+,\d+,4,45,2,1,0,1,1$/);
    assert.equal(csv.history(before, 'lines').split('\r\n')[1], '2026-11-30T23:00:00.000Z,2026-12-01,2,1,0,1');
    store.close();
    const Database = h.uiRequire('better-sqlite3');
    const raw = new Database(path.join(dir, 'edgewatch-ui.sqlite'));
    raw.exec('DROP TABLE hourly_people; DROP TABLE hourly_events;'); // as a database from before the history
    raw.close();
    store = await Store.open(dir, { tz: 'Europe/Paris', now: () => (DAY1 + 3 * 86400) * 1000 });
    assert.deepEqual(store.historyQuery(q), before);
    store.close();
  });
});
