'use strict';
// Payload validation: the docs/mqtt.md examples pass, every field of the JSON Schemas is kept,
// and malformed input gets a reason instead of an exception.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { describe, it } = require('node:test');
const { REPO, UI_DIR } = require('./helpers');

const { parsePayload, parseTopic } = require(path.join(UI_DIR, 'src', 'validate.js'));
const SCHEMAS = path.join(REPO, 'inference', 'edgewatch', 'schemas');
const MAX = 64 * 1024;
const buf = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));

// One message per kind carrying every field its schema defines.
const FULL = {
  status: {
    schema: 'status',
    msg: { state: 'offline', ts: 1764080000.1, camera: 'cam1', source: 'video.mp4', reason: 'lost', input: { state: 'lost', detail: 'EOF' } },
  },
  state: {
    schema: 'state',
    msg: {
      camera: 'cam1', ts: 1764080000.1, video_s: 12.3, frame: 123, in_frame: 1, total: 4, avg_duration_s: 17.2,
      tracks: [{ id: 4, box: [1, 2, 3, 4], enter_s: 10.1, duration_s: 2.2 }],
      lines: { door: { in: 3, out: 2 } }, zones: { table: { occupancy: 1, entered: 4, max_dwell_s: 15.0 } },
    },
  },
  events: {
    schema: 'event',
    msg: {
      id: '5f0c', seq: 17, camera: 'cam1', type: 'alert', ts: 1764080000.1, video_s: 31.2, rule: 'max_dwell', value: 40,
      limit: 30, track_id: 4, zone: 'table',
    },
  },
  perf: {
    schema: 'perf',
    msg: {
      camera: 'cam1', ts: 1764080000.1, fps: 9.9, infer_ms_p50: 8.1, infer_ms_p95: 9.4, latency_ms_p50: 40.2, latency_ms_p95: 61.0,
      mqtt_bps: 812.0, video_bps: 98000.0, model: 'person-detection-retail-0013', precision: 'FP16', device: 'CPU', frames: 1234,
      skipped_share: 0.6, detect_fps: 4.0,
    },
  },
  geometry: {
    schema: 'geometry',
    msg: {
      camera: 'cam1', ts: 1764080000.1, frame: { width: 768, height: 432 }, origin: 'ui', config_id: 'c1', by: 'session-a',
      lines: [{ name: 'door', points: [[640, 0], [640, 432]], anchor: 'bottom_center', min_frames: 1 }],
      zones: [{ name: 'table', polygon: [[330, 200], [560, 200], [560, 432]], anchor: 'center', inertia: 3 }],
    },
  },
  segmentation: {
    schema: 'segmentation',
    msg: { camera: 'cam1', ts: 1, video_s: 2, frame: 20, classes: { road: 0.41, curb: 0.02, marking: 0.01, background: 0.56 } },
  },
};

function schemaFields(schema) {
  // Top-level properties plus those named in conditional branches (event types).
  const names = new Set(Object.keys(schema.properties || {}));
  const walk = (node) => {
    if (!node || typeof node !== 'object') return;
    if (node.then && node.then.properties) Object.keys(node.then.properties).forEach((k) => names.add(k));
    for (const v of Object.values(node)) if (typeof v === 'object') walk(v);
  };
  (schema.allOf || []).forEach(walk);
  return names;
}

describe('parsePayload', () => {
  for (const [kind, { schema, msg }] of Object.entries(FULL)) {
    it(`keeps every field of ${schema}.schema.json`, () => {
      const r = parsePayload(buf(msg), kind, MAX);
      assert.ok(r.ok, r.error);
      const file = path.join(SCHEMAS, `${schema}.schema.json`);
      const fields = schemaFields(JSON.parse(fs.readFileSync(file, 'utf8')));
      const known = new Set(Object.keys(r.value));
      // Fields of other event types: check them through a message of that type below.
      const missing = [...fields].filter((f) => !known.has(f) && !(kind === 'events' && ['duration_s', 'side', 'line', 'direction', 'dwell_s', 'class', 'score', 'detail', 'date', 'total', 'avg_duration_s', 'lines', 'zones', 'config_id', 'by', 'final', 'reason'].includes(f)));
      assert.deepEqual(missing, [], `${schema}: the UI drops ${missing}`);
    });
  }

  it('keeps the fields of every event type', () => {
    const base = { id: 'x', seq: 1, camera: 'c', ts: 1, video_s: 1 };
    const cases = [
      { type: 'person_enter', track_id: 1, side: null },
      { type: 'person_leave', track_id: 1, duration_s: 3, side: 'left' },
      { type: 'line_cross', track_id: 1, line: 'door', direction: 'out' },
      { type: 'zone_enter', track_id: 1, zone: 'table' },
      { type: 'zone_leave', track_id: 1, zone: 'table', dwell_s: 4 },
      { type: 'alert', rule: 'max_people', value: 3, limit: 2 },
      { type: 'class_begin', class: 'person', score: 0.9 },
      { type: 'source_lost', detail: 'EOF' },
      { type: 'day_end', date: '2026-12-01', total: 6, avg_duration_s: 11.5, lines: { door: { in: 4, out: 2 } },
        zones: { table: { occupancy: 0, entered: 3, max_dwell_s: 15 } } },
      { type: 'config_change', config_id: 'c1', by: 'session-a', lines: { added: ['entry'], removed: ['door'], changed: [] },
        zones: { added: [], removed: [], changed: ['table'] }, final: { lines: { door: { in: 4, out: 2 } }, zones: {} } },
      { type: 'config_rejected', config_id: 'c2', by: 'session-b', reason: "lines.0.points: point (900, 400) of 'entry' is outside the 768x432 frame" },
    ];
    for (const c of cases) {
      const r = parsePayload(buf({ ...base, ...c }), 'events', MAX);
      assert.ok(r.ok, `${c.type}: ${r.error}`);
      assert.deepEqual(r.value, { ...base, ...c });
    }
  });

  it('names the cause of each refusal', () => {
    const cases = [
      [Buffer.from([0xff, 0xfe]), 'state', /not UTF-8/],
      [buf('{"a":'), 'state', /not JSON/],
      [buf('[1,2]'), 'state', /not a JSON object/],
      [buf({ ...FULL.state.msg, in_frame: -1 }), 'state', /in_frame=-1 out of range/],
      [buf({ ...FULL.state.msg, in_frame: 1.5 }), 'state', /in_frame must be an integer/],
      [buf({ ...FULL.state.msg, total: '4' }), 'state', /total must be a finite number/],
      [buf({ ...FULL.state.msg, tracks: {} }), 'state', /tracks must be an array/],
      [buf({ id: 'x', ts: 1, type: 'day_end', date: '1.12.2026', total: 6 }), 'events', /date has forbidden characters/],
      [buf({ id: 'x', ts: 1, type: 'day_end', date: '2026-12-01' }), 'events', /total must be a finite number/],
      [buf({ ...FULL.state.msg, tracks: [{ id: 1, box: [1, 2] }] }), 'state', /box must be 4 numbers/],
      [buf({ ...FULL.state.msg, lines: { door: 3 } }), 'state', /lines.\* must be objects/],
      [buf({ ...FULL.geometry.msg, lines: [{ name: 'door', points: [[1, 2]] }] }), 'geometry', /^lines\.0\.points: must NOT have fewer than 2 items/],
      [buf({ ...FULL.geometry.msg, zones: [{ name: 'a/b', polygon: [[0, 0], [1, 0], [1, 1]] }] }), 'geometry', /^zones\.0\.name: must match pattern/],
      [buf({ ...FULL.geometry.msg, extra: 1 }), 'geometry', /^extra: must NOT have additional properties/],
      [buf({ ...FULL.status.msg, state: 'sleeping' }), 'status', /state="sleeping" is not allowed/],
      [buf({ ...FULL.events.msg, type: 'party' }), 'events', /type="party" is not allowed/],
      [buf({ ...FULL.events.msg, id: undefined }), 'events', /id must be a string/],
      [buf({ ...FULL.segmentation.msg, classes: { road: 1.5 } }), 'segmentation', /classes.road must be a share/],
      [buf({ ...FULL.perf.msg, camera: '../x' }), 'perf', /camera has forbidden characters/],
      [Buffer.alloc(MAX + 1, 0x20), 'perf', /exceeds/],
    ];
    for (const [payload, kind, re] of cases) {
      const r = parsePayload(payload, kind, MAX);
      assert.equal(r.ok, false, `${re} accepted`);
      assert.match(r.error, re);
    }
  });

  it('takes a status\'s input strictly: a known state, a short detail, nothing else', () => {
    const online = { state: 'online', ts: 1, camera: 'c', source: 's' };
    for (const input of [{ state: 'ok', detail: '1920x1080' }, { state: 'lost', detail: 'connection refused' }, { state: 'waiting', detail: '' },
      { state: 'lost', detail: 'x'.repeat(300) }]) {
      const r = parsePayload(buf({ ...online, input }), 'status', MAX);
      assert.ok(r.ok, r.error);
      assert.deepEqual(r.value.input, input);
    }
    assert.equal(parsePayload(buf(online), 'status', MAX).value.input, undefined, 'input stays optional');
    const bad = [
      ['on', /input must be an object/],
      [null, /input must be an object/],
      [['ok'], /input must be an object/],
      [{}, /input.state must be one of ok, lost, waiting/],
      [{ state: 'broken', detail: '' }, /input.state must be one of/],
      [{ state: 'ok' }, /input.detail must be a string of at most 300/],
      [{ state: 'lost', detail: 3 }, /input.detail must be a string of at most 300/],
      [{ state: 'lost', detail: 'x'.repeat(301) }, /input.detail must be a string of at most 300/],
      [{ state: 'lost', detail: 'x', since: 5 }, /input has an unknown key "since"/],
    ];
    for (const [input, re] of bad) {
      const r = parsePayload(buf({ ...online, input }), 'status', MAX);
      assert.equal(r.ok, false, `${JSON.stringify(input)} accepted`);
      assert.match(r.error, re);
    }
  });

  it('takes the detector\'s skipped share (0..1) and rate (>= 0) in perf', () => {
    const base = { camera: 'c', ts: 1, fps: 10, frames: 5 };
    for (const extra of [{ skipped_share: 0 }, { skipped_share: 1, detect_fps: 0 }, { skipped_share: null, detect_fps: null }]) {
      const r = parsePayload(buf({ ...base, ...extra }), 'perf', MAX);
      assert.ok(r.ok, r.error);
      assert.deepEqual(r.value, { ...base, ...extra });
    }
    for (const [extra, re] of [[{ skipped_share: 1.01 }, /skipped_share=1.01 out of range/], [{ skipped_share: -0.1 }, /out of range/],
      [{ skipped_share: '50%' }, /skipped_share must be a finite number/], [{ detect_fps: -1 }, /detect_fps=-1 out of range/]]) {
      const r = parsePayload(buf({ ...base, ...extra }), 'perf', MAX);
      assert.equal(r.ok, false, `${JSON.stringify(extra)} accepted`);
      assert.match(r.error, re);
    }
  });

  it('does not let a payload pollute prototypes', () => {
    const r = parsePayload(buf('{"__proto__": {"x": 1}, "state": "online", "ts": 1, "camera": "c", "source": "s"}'), 'status', MAX);
    assert.ok(r.ok);
    assert.equal(({}).x, undefined);
    assert.equal(r.value.x, undefined);
  });
});

describe('parseTopic', () => {
  it('accepts <prefix>/<camera>/<kind> only', () => {
    assert.deepEqual(parseTopic('edgewatch/cam1/state', 'edgewatch'), { camera: 'cam1', kind: 'state' });
    assert.deepEqual(parseTopic('site/a/edgewatch/cam-2/events', 'site/a/edgewatch'), { camera: 'cam-2', kind: 'events' });
    for (const t of ['edgewatch/cam1', 'edgewatch/cam1/state/x', 'other/cam1/state', 'edgewatch/cam 1/state', 'edgewatch/cam1/tracks', 'edgewatch//state']) {
      assert.equal(parseTopic(t, 'edgewatch'), null, t);
    }
  });
});
