'use strict';
// History by hour, day, week and month, from what the UI stores as it arrives: the per-minute counts
// (people in frame, the day's unique total) and the events (line crossings, zone entries, stays).
// Two hourly tables are kept up to date on every write, so a year answers from ~9000 rows a camera
// instead of half a million minutes and every event (bench/history_query.js measures it).
// "A day" is the site's: local days in the time zone the worker counts days in (TZ, the same for
// both containers in compose.yaml).

const HOUR = 3600;
const MAX_HOURS = 31 * 24; // an hourly chart covers at most a month
const MAX_DAYS = 400; // a daily one at most a year and a bit

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hourly_people (
  camera TEXT NOT NULL, hour INTEGER NOT NULL, samples INTEGER NOT NULL, sum_in_frame REAL NOT NULL,
  max_in_frame INTEGER NOT NULL, new_people INTEGER NOT NULL, PRIMARY KEY (camera, hour));
CREATE TABLE IF NOT EXISTS hourly_events (
  camera TEXT NOT NULL, hour INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
  sum_s REAL NOT NULL, PRIMARY KEY (camera, hour, kind, name));
CREATE INDEX IF NOT EXISTS hourly_people_hour ON hourly_people(hour);
CREATE INDEX IF NOT EXISTS hourly_events_hour ON hourly_events(hour);
`;

class RangeError400 extends Error {}

/** The events that count in the history: kind and name of their hourly row, and seconds to add. */
function eventRow(ev) {
  switch (ev.type) {
    case 'line_cross': return ev.line && (ev.direction === 'in' || ev.direction === 'out') ? [`line_${ev.direction}`, ev.line, 0] : null;
    case 'zone_enter': return ev.zone ? ['zone_enter', ev.zone, 0] : null;
    case 'person_leave': return typeof ev.duration_s === 'number' ? ['stay', '', ev.duration_s] : null;
    default: return null;
  }
}

class History {
  /** @param {import('better-sqlite3').Database} db  @param {{tz?: string}} opts */
  constructor(db, { tz = process.env.TZ || 'UTC' } = {}) {
    db.exec(SCHEMA);
    this.db = db;
    this.tz = tz;
    this.dayFmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    this.hourFmt = new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit' });
    this.wallFmt = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit',
      day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    this._people = db.prepare(
      `INSERT INTO hourly_people (camera, hour, samples, sum_in_frame, max_in_frame, new_people) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(camera, hour) DO UPDATE SET samples = samples + excluded.samples, sum_in_frame = sum_in_frame + excluded.sum_in_frame,
         max_in_frame = max(max_in_frame, excluded.max_in_frame), new_people = new_people + excluded.new_people`);
    this._event = db.prepare(
      `INSERT INTO hourly_events (camera, hour, kind, name, n, sum_s) VALUES (?, ?, ?, ?, 1, ?)
       ON CONFLICT(camera, hour, kind, name) DO UPDATE SET n = n + 1, sum_s = sum_s + excluded.sum_s`);
    this.lastTotal = new Map(); // camera -> the day's unique total at its last written minute
  }

  /** The camera's total before `minute` (after a restart: from the stored minutes). */
  _previousTotal(camera, minute) {
    if (this.lastTotal.has(camera)) return this.lastTotal.get(camera);
    const row = this.db.prepare('SELECT last_total FROM minute_counts WHERE camera = ? AND minute < ? ORDER BY minute DESC LIMIT 1')
      .get(camera, minute);
    return row ? row.last_total : 0;
  }

  /**
   * One finished minute of a camera. New people = how much its unique total grew; when the total
   * dropped, a new day began with that many (its first people), as the worker's day totals do.
   */
  addMinute(camera, minute, samples, sum, max, total) {
    const before = this._previousTotal(camera, minute);
    const fresh = total >= before ? total - before : total;
    this.lastTotal.set(camera, total);
    this._people.run(camera, Math.floor((minute * 60) / HOUR), samples, sum, max, fresh);
  }

  /** A newly stored event (never a redelivery). */
  addEvent(ev) {
    const row = eventRow(ev);
    if (row) this._event.run(ev.camera, Math.floor(ev.ts / HOUR), row[0], row[1], row[2]);
  }

  /** Fills the hourly tables from the stored minutes and events: once, when they are new (an upgrade). */
  rebuildIfEmpty() {
    const empty = !this.db.prepare('SELECT 1 FROM hourly_people LIMIT 1').get() && !this.db.prepare('SELECT 1 FROM hourly_events LIMIT 1').get();
    if (!empty) return 0;
    let n = 0;
    this.db.transaction(() => {
      // .all(), not .iterate(): better-sqlite3 allows no write while a read is open on the connection.
      for (const r of this.db.prepare('SELECT * FROM minute_counts ORDER BY camera, minute').all()) {
        this.addMinute(r.camera, r.minute, r.samples, r.sum_in_frame, r.max_in_frame, r.last_total);
        n += 1;
      }
      for (const r of this.db.prepare("SELECT data FROM events WHERE type IN ('line_cross', 'zone_enter', 'person_leave')").all()) {
        this.addEvent(JSON.parse(r.data));
        n += 1;
      }
    })();
    return n;
  }

  prune(cutoffTs) {
    const hour = Math.floor(cutoffTs / HOUR);
    this.db.prepare('DELETE FROM hourly_people WHERE hour < ?').run(hour);
    this.db.prepare('DELETE FROM hourly_events WHERE hour < ?').run(hour);
  }

  /** `YYYY-MM-DD` of a Unix time in the site's zone. */
  localDay(ts) {
    return this.dayFmt.format(new Date(ts * 1000));
  }

  /** The Unix time of the local midnight that starts the day of `ts`. */
  dayStart(ts) {
    const [y, m, d] = this.localDay(ts).split('-').map(Number);
    const guess = Date.UTC(y, m - 1, d) / 1000;
    // The zone's offset there: the wall clock shown at `guess`, read as if it were UTC, minus `guess`.
    const wall = Object.fromEntries(this.wallFmt.formatToParts(new Date(guess * 1000)).map((p) => [p.type, p.value]));
    const offset = Date.UTC(+wall.year, +wall.month - 1, +wall.day, +wall.hour % 24, +wall.minute, +wall.second) / 1000 - guess;
    return guess - offset;
  }

  /**
   * @param {{camera: string|null, by: 'hour'|'day', from: number, to: number}} q  from/to Unix seconds, to excluded;
   *   camera null = the whole site (every camera summed); pending: the minutes in progress ({camera, minute,
 *   samples, sum, max, total})
   * @returns {{by, tz, from, to, buckets: object[]}} buckets in time order, each with `t` (its first second),
   *   `label`, `avg_in_frame`, `max_in_frame`, `unique`, `avg_stay_s`, `lines` {name: {in, out}}, `zones` {name: entered}
   */
  query({ camera = null, by, from, to, pending = [] }) {
    if (!(from < to)) throw new RangeError400('from must be before to');
    if (by !== 'hour' && by !== 'day') throw new RangeError400('by must be hour or day');
    const hours = (to - from) / HOUR;
    if (by === 'hour' && hours > MAX_HOURS) throw new RangeError400(`by hour covers at most ${MAX_HOURS / 24} days`);
    if (by === 'day' && hours > MAX_DAYS * 24) throw new RangeError400(`by day covers at most ${MAX_DAYS} days`);
    const h0 = Math.floor(from / HOUR);
    const h1 = Math.ceil(to / HOUR);
    const cam = camera ? ' AND camera = ?' : '';
    const args = camera ? [h0, h1, camera] : [h0, h1];
    const people = this.db.prepare(`SELECT hour, samples, sum_in_frame AS sum, max_in_frame AS max, new_people AS fresh
      FROM hourly_people WHERE hour >= ? AND hour < ?${cam}`).all(...args);
    // The minutes in progress (not written yet), so the current hour is as fresh as the live numbers.
    for (const m of pending) {
      const hour = Math.floor((m.minute * 60) / HOUR);
      if ((camera && m.camera !== camera) || hour < h0 || hour >= h1) continue;
      const before = this._previousTotal(m.camera, m.minute);
      people.push({ hour, samples: m.samples, sum: m.sum, max: m.max, fresh: m.total >= before ? m.total - before : m.total });
    }
    const events = this.db.prepare(`SELECT hour, kind, name, sum(n) AS n, sum(sum_s) AS sum_s FROM hourly_events
      WHERE hour >= ? AND hour < ?${cam} GROUP BY hour, kind, name`).all(...args);
    const buckets = new Map();
    const dayOf = new Map(); // hour -> local day: Intl formatting is the dear part, once an hour
    const bucket = (hour) => {
      let key = hour;
      if (by === 'day') {
        key = dayOf.get(hour);
        if (key === undefined) dayOf.set(hour, (key = this.localDay(hour * HOUR)));
      }
      let b = buckets.get(key);
      if (!b) {
        b = { t: by === 'hour' ? hour * HOUR : this.dayStart(hour * HOUR), label: by === 'hour' ? null : key, hoursSeen: 0, avgSum: 0, max: 0, unique: 0, stays: 0,
          stay_s: 0, lines: {}, zones: {} };
        buckets.set(key, b);
      }
      return b;
    };
    // Per hour, the site's people in frame are the cameras' added up: its average is the sum of theirs,
    // its peak at most the sum of theirs (their peaks need not coincide).
    const hourly = new Map();
    for (const r of people) {
      const h = hourly.get(r.hour) || { avg: 0, max: 0, fresh: 0 };
      h.avg += r.samples ? r.sum / r.samples : 0;
      h.max += r.max;
      h.fresh += r.fresh;
      hourly.set(r.hour, h);
    }
    for (const [hour, h] of hourly) {
      const b = bucket(hour);
      b.hoursSeen += 1;
      b.avgSum += h.avg;
      b.max = Math.max(b.max, h.max);
      b.unique += h.fresh;
    }
    for (const r of events) {
      const b = bucket(r.hour);
      if (r.kind === 'stay') { b.stays += r.n; b.stay_s += r.sum_s; continue; }
      if (r.kind === 'zone_enter') { b.zones[r.name] = (b.zones[r.name] || 0) + r.n; continue; }
      const line = b.lines[r.name] || (b.lines[r.name] = { in: 0, out: 0 });
      line[r.kind === 'line_in' ? 'in' : 'out'] += r.n;
    }
    const out = [...buckets.values()].sort((a, b) => a.t - b.t).map((b) => ({
      t: b.t,
      label: b.label ?? this.hourFmt.format(new Date(b.t * 1000)),
      avg_in_frame: b.hoursSeen ? Math.round((b.avgSum / b.hoursSeen) * 100) / 100 : 0,
      max_in_frame: b.max,
      unique: b.unique,
      avg_stay_s: b.stays ? Math.round((b.stay_s / b.stays) * 10) / 10 : null,
      lines: b.lines,
      zones: b.zones,
    }));
    return { by, tz: this.tz, from, to, camera, buckets: out };
  }
}

module.exports = { History, RangeError400, MAX_HOURS, MAX_DAYS };
