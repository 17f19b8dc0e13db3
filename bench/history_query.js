#!/usr/bin/env node
'use strict';
// How fast the history charts answer over a year: the UI's store pre-filled with a year of minutes and
// events (through the same calls the live feed makes), then each chart's query, timed, beside the same
// answer computed the naive way (from every stored minute and event, without the hourly tables) in
// the same run. Target (issue 11): every chart of a year under 200 ms.
//
//   node bench/history_query.js [--cameras 4] [--days 365] [--crossings 200] [--runs 7]
//
// Needs ui/node_modules (npm ci in ui/).

const path = require('node:path');
const h = require('../tests/unit/ui/helpers');

const { Store } = require(path.join(h.UI_DIR, 'src/store'));

function args(argv) {
  const o = { cameras: 4, days: 365, crossings: 200, runs: 7 };
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = Number(argv[i + 1]);
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(fn, runs) {
  const ms = [];
  let out;
  for (let i = 0; i < runs; i += 1) {
    const t0 = process.hrtime.bigint();
    out = fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { ms: median(ms), out };
}

/** The same day chart without the hourly tables: every minute and every event of the range. */
function naiveDays(store, camera, from, to) {
  const cam = camera ? ' AND camera = ?' : '';
  const a = camera ? [from / 60, to / 60, camera] : [from / 60, to / 60];
  const minutes = store.db.prepare(`SELECT camera, minute, last_total FROM minute_counts WHERE minute >= ? AND minute < ?${cam}`).all(...a);
  const e = camera ? [from, to, camera] : [from, to];
  const events = store.db.prepare(`SELECT type, data FROM events WHERE ts >= ? AND ts < ?${cam}`).all(...e);
  const days = new Map();
  for (const m of minutes) {
    const d = store.history.localDay(m.minute * 60);
    const k = `${m.camera}/${d}`;
    days.set(k, Math.max(days.get(k) || 0, m.last_total));
  }
  let crossings = 0;
  for (const r of events) if (r.type === 'line_cross') crossings += JSON.parse(r.data).direction ? 1 : 0;
  return { days: days.size, crossings };
}

async function main() {
  const o = args(process.argv.slice(2));
  const end = Date.UTC(2026, 11, 1) / 1000;
  const start = end - o.days * 86400;
  const store = await Store.open(h.tmpDir('history-bench'), { tz: 'Europe/Paris', retentionDays: o.days + 10, now: () => end * 1000 });
  const t0 = Date.now();
  let seq = 0;
  store.db.transaction(() => {
    for (let c = 0; c < o.cameras; c += 1) {
      const camera = `cam${c + 1}`;
      let total = 0;
      for (let m = start / 60; m < end / 60; m += 1) {
        const ts = m * 60;
        const hour = Math.floor((ts % 86400) / 3600);
        if (hour === 0 && ts % 3600 === 0) total = 0; // the day starts again
        const open = hour >= 8 && hour < 20;
        if (open && m % 4 === 0) total += 1;
        store.recordSample(camera, ts * 1000, open ? (m % 5) : 0, total);
      }
      // The day's crossings spread over opening hours, and a stay per person.
      for (let d = 0; d < o.days; d += 1) {
        for (let k = 0; k < o.crossings; k += 1) {
          const ts = start + d * 86400 + 8 * 3600 + Math.floor((k / o.crossings) * 12 * 3600);
          seq += 1;
          store.addEvent({ id: `b${seq}`, seq, camera, type: 'line_cross', ts, video_s: 0, track_id: k, line: k % 3 ? 'door' : 'till', direction: k % 2 ? 'in' : 'out' });
          if (k % 2) {
            seq += 1;
            store.addEvent({ id: `b${seq}`, seq, camera, type: 'person_leave', ts: ts + 5, video_s: 0, track_id: k, duration_s: 30 + (k % 90), side: null });
          }
        }
      }
    }
  })();
  const fill = (Date.now() - t0) / 1000;
  const rows = store.db.prepare('SELECT (SELECT count(*) FROM minute_counts) AS minutes, (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM hourly_people) AS hours').get();
  console.log(`filled ${o.days} days x ${o.cameras} cameras in ${fill.toFixed(1)} s: ${rows.minutes} minutes, ${rows.events} events, ${rows.hours} hourly rows`);

  const charts = [
    ['site, by day, a year', { camera: null, by: 'day', from: start, to: end }],
    ['one camera, by day, a year', { camera: 'cam1', by: 'day', from: start, to: end }],
    ['site, by hour, a month', { camera: null, by: 'hour', from: end - 31 * 86400, to: end }],
    ['one camera, by hour, a day', { camera: 'cam1', by: 'hour', from: end - 86400, to: end }],
  ];
  let worst = 0;
  for (const [name, q] of charts) {
    const fast = timed(() => store.historyQuery(q), o.runs);
    worst = Math.max(worst, fast.ms);
    const slow = q.by === 'day' ? timed(() => naiveDays(store, q.camera, q.from, q.to), Math.min(3, o.runs)) : null;
    console.log(`${name.padEnd(28)} ${fast.ms.toFixed(1).padStart(7)} ms (${fast.out.buckets.length} buckets)`
      + (slow ? `   naive, from every minute and event: ${slow.ms.toFixed(0)} ms (${(slow.ms / fast.ms).toFixed(1)}x)` : ''));
  }
  console.log(`slowest chart: ${worst.toFixed(1)} ms; target < 200 ms: ${worst < 200 ? 'met' : 'NOT met'}`);
  store.close();
  process.exit(worst < 200 ? 0 : 1);
}

main().catch((err) => { console.error(err); process.exit(2); });
