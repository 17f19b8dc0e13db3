'use strict';
// Latest message of each kind per camera, plus a 10-minute series of people-in-frame for the chart.

const SERIES_SECONDS = 600;

class LiveState {
  /**
   * @param {{maxCameras?: number, now?: () => number}} opts
   */
  constructor({ maxCameras = 64, now = Date.now } = {}) {
    this.maxCameras = maxCameras;
    this.now = now;
    this.cameras = new Map();
    // Last source_lost/source_restored per camera not listed yet (stored history, early events):
    // attached when the camera's first message arrives, so an event alone does not list a camera.
    this.pendingSource = new Map();
  }

  _camera(id) {
    let cam = this.cameras.get(id);
    if (!cam) {
      // A hostile publisher inventing camera ids must not grow memory without bound.
      if (this.cameras.size >= this.maxCameras) return null;
      cam = { camera: id, status: null, state: null, perf: null, segmentation: null, source: null, seen: {}, series: [] };
      cam.source = this.pendingSource.get(id) || null;
      this.pendingSource.delete(id);
      this.cameras.set(id, cam);
    }
    return cam;
  }

  /**
   * Records a validated message. Returns false when the camera cap refused it.
   * @param {string} camera
   * @param {'status'|'state'|'perf'|'segmentation'} kind
   * @param {object} value
   */
  apply(camera, kind, value) {
    const cam = this._camera(camera);
    if (!cam) return false;
    const t = this.now();
    cam[kind] = value;
    cam.seen[kind] = t;
    if (kind === 'state') this._addSample(cam, t, value.in_frame);
    return true;
  }

  /**
   * Records a source_lost / source_restored event (live or from the history), the fallback signal of
   * a camera's input for workers whose status carries no `input`. Older than the one kept: ignored.
   */
  noteSource(camera, ev) {
    if (ev.type !== 'source_lost' && ev.type !== 'source_restored') return;
    const source = { type: ev.type, ts: ev.ts, detail: ev.detail || '' };
    const cam = this.cameras.get(camera);
    const kept = cam ? cam.source : this.pendingSource.get(camera);
    if (kept && kept.ts > source.ts) return;
    if (cam) cam.source = source;
    else if (this.pendingSource.has(camera) || this.pendingSource.size < this.maxCameras) this.pendingSource.set(camera, source);
  }

  /**
   * The camera's input: {state: ok|lost|waiting, detail, ts, from: status|event}, or null when
   * unknown. The newer of the status's `input` and the last source event wins; a newer status
   * without `input` (a worker that does not report it, restarted) makes an older event stale.
   */
  inputState(camera) {
    const cam = this.cameras.get(camera);
    if (!cam) return null;
    const st = cam.status;
    const ev = cam.source;
    if (ev && (!st || ev.ts > st.ts)) {
      return { state: ev.type === 'source_lost' ? 'lost' : 'ok', detail: ev.detail, ts: ev.ts, from: 'event' };
    }
    if (st && st.input) return { state: st.input.state, detail: st.input.detail || '', ts: st.ts, from: 'status' };
    return null;
  }

  _addSample(cam, tMs, inFrame) {
    const sec = Math.floor(tMs / 1000);
    const last = cam.series[cam.series.length - 1];
    // One point per second holding the peak, so a 4 Hz state stream gives 600 points per 10 min.
    if (last && last[0] === sec) last[1] = Math.max(last[1], inFrame);
    else cam.series.push([sec, inFrame]);
    const oldest = sec - SERIES_SECONDS;
    let drop = 0;
    while (drop < cam.series.length && cam.series[drop][0] <= oldest) drop += 1;
    if (drop) cam.series.splice(0, drop);
  }

  /**
   * Fills a camera's chart after a restart from the stored per-minute peaks (one point a second,
   * the minute's peak), so the 10-minute chart is not empty. Live samples then continue it.
   */
  seedSeries(camera, minuteRows) {
    const cam = this._camera(camera);
    if (!cam || cam.series.length) return;
    const nowSec = Math.floor(this.now() / 1000);
    for (const r of minuteRows) {
      for (let s = r.minute * 60; s < r.minute * 60 + 60; s += 1) {
        if (s > nowSec - SERIES_SECONDS && s < nowSec) cam.series.push([s, r.max_in_frame]);
      }
    }
  }

  /** Worker health from status + freshness: online, offline, stale (online but silent) or unknown. */
  workerHealth(camera, staleMs = 10000) {
    const cam = this.cameras.get(camera);
    if (!cam || !cam.status) return { state: 'unknown', age_s: null };
    const lastSeen = Math.max(cam.seen.state || 0, cam.seen.perf || 0, cam.seen.status || 0);
    const age = this.now() - lastSeen;
    let state = cam.status.state;
    if (state === 'online' && age > staleMs) state = 'stale';
    return { state, age_s: Math.round(age / 100) / 10 };
  }

  cameraIds() {
    return [...this.cameras.keys()].sort();
  }

  /** Plain JSON copy for the API and the SSE snapshot. */
  snapshot() {
    const out = {};
    for (const id of this.cameraIds()) {
      const c = this.cameras.get(id);
      out[id] = {
        status: c.status, state: c.state, perf: c.perf, segmentation: c.segmentation,
        series: c.series.map((p) => [p[0], p[1]]),
        worker: this.workerHealth(id),
        input: this.inputState(id),
      };
    }
    return out;
  }
}

module.exports = { LiveState, SERIES_SECONDS };
