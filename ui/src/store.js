'use strict';
// History in SQLite (sql.js: WebAssembly, installs from npm with no native build or download).
// The database lives in memory and is written to <dataDir>/edgewatch-ui.sqlite atomically
// (temp file + rename) whenever it changed, at most every flushIntervalMs.

const fs = require('node:fs');
const path = require('node:path');
const initSqlJs = require('sql.js');

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

let sqlPromise = null; // the wasm module is immutable code, loaded once per process

class Store {
  constructor(SQL, db, file, { logger, retentionDays, now }) {
    this.SQL = SQL;
    this.db = db;
    this.file = file;
    this.logger = logger;
    this.retentionDays = retentionDays;
    this.now = now;
    this.dirty = false;
    this.current = new Map(); // camera -> aggregate of the minute in progress
  }

  /**
   * Opens (or creates) the database file in dataDir. A file that is not a database is moved aside.
   * @returns {Promise<Store>}
   */
  static async open(dataDir, { logger, retentionDays = 30, now = Date.now } = {}) {
    fs.mkdirSync(dataDir, { recursive: true });
    sqlPromise = sqlPromise || initSqlJs();
    const SQL = await sqlPromise;
    const file = path.join(dataDir, FILE_NAME);
    let db = null;
    if (fs.existsSync(file)) {
      try {
        db = new SQL.Database(fs.readFileSync(file));
        db.exec('SELECT count(*) FROM sqlite_master');
      } catch (err) {
        const aside = `${file}.corrupt-${now()}`;
        fs.renameSync(file, aside);
        logger?.error(`history database ${file} unreadable (${err.message}); moved to ${aside}, starting empty`);
        db = null;
      }
    }
    db = db || new SQL.Database();
    db.exec(SCHEMA);
    const store = new Store(SQL, db, file, { logger, retentionDays, now });
    store.prune();
    return store;
  }

  /** Inserts an event once; returns true if it was new (QoS 1 redeliveries return false). */
  addEvent(ev, receivedAtMs = this.now()) {
    this.db.run(
      `INSERT OR IGNORE INTO events (id, camera, seq, type, ts, video_s, track_id, duration_s, data, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [ev.id, ev.camera, ev.seq ?? null, ev.type, ev.ts, ev.video_s ?? null, ev.track_id ?? null,
        ev.duration_s ?? ev.dwell_s ?? null, JSON.stringify(ev), receivedAtMs / 1000],
    );
    const inserted = this.db.getRowsModified() > 0;
    if (inserted) this.dirty = true;
    return inserted;
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
    // Merge rather than replace: a restart within the same minute must not lose the earlier part.
    this.db.run(
      `INSERT INTO minute_counts (camera, minute, samples, sum_in_frame, max_in_frame, last_total)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(camera, minute) DO UPDATE SET samples = samples + excluded.samples,
         sum_in_frame = sum_in_frame + excluded.sum_in_frame,
         max_in_frame = max(max_in_frame, excluded.max_in_frame), last_total = excluded.last_total`,
      [camera, cur.minute, cur.samples, cur.sum, cur.max, cur.total],
    );
    this.dirty = true;
  }

  _all(sql, params) {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const rows = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return rows;
    } finally {
      stmt.free();
    }
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
   * slow client (a flush's export() would free it) and nothing builds one big array.
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

  prune() {
    const cutoff = this.now() / 1000 - this.retentionDays * 86400;
    this.db.run('DELETE FROM events WHERE ts < ?', [cutoff]);
    const deleted = this.db.getRowsModified();
    this.db.run('DELETE FROM minute_counts WHERE minute < ?', [Math.floor(cutoff / 60)]);
    if (deleted + this.db.getRowsModified() > 0) this.dirty = true;
  }

  /** Writes the database file if anything changed. Atomic: a crash leaves the old or the new file. */
  flush({ force = false } = {}) {
    if (!this.dirty && !force) return false;
    const data = this.db.export();
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    this.dirty = false;
    return true;
  }

  /** Writes the minutes in progress and the file, then frees the database. */
  close() {
    for (const [cam, cur] of this.current) this._writeMinute(cam, cur);
    this.current.clear();
    this.flush();
    this.db.close();
  }
}

module.exports = { Store, FILE_NAME };
