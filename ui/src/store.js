'use strict';
// History in SQLite on disk (better-sqlite3), in WAL mode: each insert is committed to
// <dataDir>/edgewatch-ui.sqlite as it happens, and the server holds only SQLite's page cache in
// memory, however long the history. (sql.js, used before, kept the whole database in memory and
// rewrote the file on every change: memory and disk writes grew with the retention.)

const fs = require('node:fs');
const path = require('node:path');
const Database = require('better-sqlite3');
const { History } = require('./history');

const FILE_NAME = 'edgewatch-ui.sqlite';
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY, camera TEXT NOT NULL, seq INTEGER, type TEXT NOT NULL, ts REAL NOT NULL,
  video_s REAL, track_id INTEGER, duration_s REAL, data TEXT NOT NULL, received_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_ts ON events(ts);
CREATE TABLE IF NOT EXISTS minute_counts (
  camera TEXT NOT NULL, minute INTEGER NOT NULL, samples INTEGER NOT NULL, sum_in_frame REAL NOT NULL,
  max_in_frame INTEGER NOT NULL, last_total INTEGER NOT NULL, PRIMARY KEY (camera, minute));
`;
// SQLite's page cache (negative = KiB): bounds the server's memory whatever the database size.
const CACHE_KIB = 2048;

function openDb(file) {
  // The file is created owner-only; SQLite gives its -wal and -shm files the same mode.
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives a crash or SIGKILL of the server; only a power cut
    // can lose the last moments, and the file is never corrupted.
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = -${CACHE_KIB}`);
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    db.exec(SCHEMA);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

class Store {
  constructor(db, { retentionDays, historyDays, now, tz }) {
    this.db = db;
    this.retentionDays = retentionDays;
    this.historyDays = historyDays;
    this.history = new History(db, { tz });
    this.now = now;
    this.current = new Map(); // camera -> aggregate of the minute in progress
    this._insertEvent = db.prepare(
      `INSERT OR IGNORE INTO events (id, camera, seq, type, ts, video_s, track_id, duration_s, data, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Merge rather than replace: a restart within the same minute must not lose the earlier part.
    this._mergeMinute = db.prepare(
      `INSERT INTO minute_counts (camera, minute, samples, sum_in_frame, max_in_frame, last_total)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(camera, minute) DO UPDATE SET samples = samples + excluded.samples,
         sum_in_frame = sum_in_frame + excluded.sum_in_frame,
         max_in_frame = max(max_in_frame, excluded.max_in_frame), last_total = excluded.last_total`,
    );
  }

  /**
   * Opens (or creates) the database file in dataDir. A file that is not a database is moved aside.
   * @returns {Promise<Store>}
   */
  static async open(dataDir, { logger, retentionDays = 30, historyDays = 400, now = Date.now, tz } = {}) {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, FILE_NAME);
    let db;
    try {
      db = openDb(file);
    } catch (err) {
      if (!/SQLITE_NOTADB|SQLITE_CORRUPT/.test(err.code || '')) throw err;
      const aside = `${file}.corrupt-${now()}`;
      fs.renameSync(file, aside);
      // Its journal goes with it (kept for whoever inspects the copy); the index file is rebuilt.
      if (fs.existsSync(`${file}-wal`)) fs.renameSync(`${file}-wal`, `${aside}-wal`);
      fs.rmSync(`${file}-shm`, { force: true });
      logger?.error(`history database ${file} unreadable (${err.message}); moved to ${aside}, starting empty`);
      db = openDb(file);
    }
    const store = new Store(db, { retentionDays, historyDays, now, tz });
    const rebuilt = store.history.rebuildIfEmpty();
    if (rebuilt) logger?.info(`history: hourly tables built from ${rebuilt} stored minutes and events`);
    store.prune();
    return store;
  }

  /** Inserts an event once; returns true if it was new (QoS 1 redeliveries return false). */
  addEvent(ev, receivedAtMs = this.now()) {
    const info = this._insertEvent.run(ev.id, ev.camera, ev.seq ?? null, ev.type, ev.ts, ev.video_s ?? null,
      ev.track_id ?? null, ev.duration_s ?? ev.dwell_s ?? null, JSON.stringify(ev), receivedAtMs / 1000);
    if (info.changes > 0) this.history.addEvent(ev);
    return info.changes > 0;
  }

  /** Adds one state sample to the per-minute aggregate; a finished minute is written to the table. */
  recordSample(camera, tMs, inFrame, total) {
    const minute = Math.floor(tMs / 60000);
    let cur = this.current.get(camera);
    if (cur && cur.minute !== minute) {
      this._writeMinute(camera, cur);
      cur = null;
    }
    if (!cur) {
      cur = { minute, samples: 0, sum: 0, max: 0, total: 0 };
      this.current.set(camera, cur);
    }
    cur.samples += 1;
    cur.sum += inFrame;
    cur.max = Math.max(cur.max, inFrame);
    cur.total = total;
  }

  _writeMinute(camera, cur) {
    this._mergeMinute.run(camera, cur.minute, cur.samples, cur.sum, cur.max, cur.total);
    this.history.addMinute(camera, cur.minute, cur.samples, cur.sum, cur.max, cur.total);
  }

  _all(sql, params) {
    return this.db.prepare(sql).all(params);
  }

  /** Newest first. */
  listEvents({ camera = null, limit = 200, beforeTs = null } = {}) {
    const where = [];
    const params = [];
    if (camera) { where.push('camera = ?'); params.push(camera); }
    if (beforeTs !== null) { where.push('ts < ?'); params.push(beforeTs); }
    params.push(Math.max(1, Math.min(limit, 100000)));
    const sql = `SELECT data FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY ts DESC, seq DESC LIMIT ?`;
    return this._all(sql, params).map((r) => JSON.parse(r.data));
  }

  /**
   * One page of events oldest first, for exports: `after` is the cursor the previous page returned
   * (null for the first). Keyset paging, so no statement stays open while the caller waits for a
   * slow client (it would pin a WAL snapshot) and nothing builds one big array.
   * @returns {{events: object[], cursor: {ts: number, rowid: number} | null}} cursor null = no more
   */
  eventsPage({ camera = null, after = null, limit = 1000 } = {}) {
    const where = [];
    const params = [];
    if (camera) { where.push('camera = ?'); params.push(camera); }
    if (after) { where.push('(ts > ? OR (ts = ? AND rowid > ?))'); params.push(after.ts, after.ts, after.rowid); }
    params.push(limit);
    const rows = this._all(`SELECT rowid AS r, ts, data FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                            ORDER BY ts, rowid LIMIT ?`, params);
    const last = rows[rows.length - 1];
    return { events: rows.map((r) => JSON.parse(r.data)), cursor: rows.length === limit ? { ts: last.ts, rowid: last.r } : null };
  }

  /** The newest source_lost / source_restored event of each camera (the input's fallback signal). */
  lastSourceEvents() {
    // SQLite takes the bare column (data) from the row where max(ts) is found.
    return this._all(`SELECT data, max(ts) FROM events WHERE type IN ('source_lost', 'source_restored')
                      GROUP BY camera`, []).map((r) => JSON.parse(r.data));
  }

  countEvents() {
    return this._all('SELECT count(*) AS n FROM events', [])[0].n;
  }

  /** Per-minute counts since sinceMinute (Unix minutes), including the minute in progress. */
  minuteCounts({ camera = null, sinceMinute = 0 } = {}) {
    const params = [sinceMinute];
    let sql = 'SELECT camera, minute, samples, sum_in_frame, max_in_frame, last_total FROM minute_counts WHERE minute >= ?';
    if (camera) { sql += ' AND camera = ?'; params.push(camera); }
    const rows = this._all(`${sql} ORDER BY camera, minute`, params);
    const merged = new Map(rows.map((r) => [`${r.camera}/${r.minute}`, r]));
    for (const [cam, cur] of this.current) {
      if ((camera && cam !== camera) || cur.minute < sinceMinute) continue;
      const key = `${cam}/${cur.minute}`;
      const r = merged.get(key);
      merged.set(key, r ? {
        ...r, samples: r.samples + cur.samples, sum_in_frame: r.sum_in_frame + cur.sum,
        max_in_frame: Math.max(r.max_in_frame, cur.max), last_total: cur.total,
      } : { camera: cam, minute: cur.minute, samples: cur.samples, sum_in_frame: cur.sum, max_in_frame: cur.max, last_total: cur.total });
    }
    return [...merged.values()]
      .sort((a, b) => (a.camera === b.camera ? a.minute - b.minute : a.camera < b.camera ? -1 : 1))
      .map((r) => ({
        camera: r.camera, minute: r.minute, ts: r.minute * 60,
        avg_in_frame: r.samples ? r.sum_in_frame / r.samples : 0, max_in_frame: r.max_in_frame, total: r.last_total,
      }));
  }

  /** The history by hour or day (history.js), the minutes in progress included. */
  historyQuery(q) {
    const pending = [...this.current].map(([camera, c]) => ({ camera, minute: c.minute, samples: c.samples, sum: c.sum, max: c.max, total: c.total }));
    return this.history.query({ ...q, pending });
  }

  prune() {
    const cutoff = this.now() / 1000 - this.retentionDays * 86400;
    this.db.prepare('DELETE FROM events WHERE ts < ?').run(cutoff);
    this.db.prepare('DELETE FROM minute_counts WHERE minute < ?').run(Math.floor(cutoff / 60));
    this.history.prune(this.now() / 1000 - this.historyDays * 86400);
  }

  /** Writes the minutes in progress, folds the WAL into the database file and closes it. */
  close() {
    for (const [cam, cur] of this.current) this._writeMinute(cam, cur);
    this.current.clear();
    this.db.close();
  }
}

module.exports = { Store, FILE_NAME };
