'use strict';
// Turns a raw MQTT payload into a checked, normalised object (only the fields of docs/mqtt.md),
// or a one-line reason why it was dropped. Never throws.

const { publishedError } = require('./geometry');

const EVENT_TYPES = new Set([
  'person_enter', 'person_leave', 'line_cross', 'zone_enter', 'zone_leave', 'alert',
  'class_begin', 'class_end', 'source_lost', 'source_restored', 'day_end', 'config_change', 'config_rejected',
]);
const NAME_RE = /^[\w.\- ]{1,64}$/; // line/zone/class names
const CAMERA_RE = /^[A-Za-z0-9_-]{1,64}$/; // as in the JSON Schemas
const MAX_TRACKS = 256;
const MAX_KEYS = 64;

class ShapeError extends Error {}

function fail(msg) {
  throw new ShapeError(msg);
}

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function num(o, k, { optional = false, nullable = false, min = -Infinity, max = Infinity } = {}) {
  const v = o[k];
  if (v === undefined && optional) return undefined;
  if (v === null && nullable) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${k} must be a finite number`);
  if (v < min || v > max) fail(`${k}=${v} out of range`);
  return v;
}

function int(o, k, opts = {}) {
  const v = num(o, k, opts);
  if (typeof v === 'number' && !Number.isInteger(v)) fail(`${k} must be an integer`);
  return v;
}

function str(o, k, { optional = false, nullable = false, max = 256, re = null, oneOf = null } = {}) {
  const v = o[k];
  if (v === undefined && optional) return undefined;
  if (v === null && nullable) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(`${k} must be a string of 1..${max} chars`);
  if (re && !re.test(v)) fail(`${k} has forbidden characters`);
  if (oneOf && !oneOf.has(v)) fail(`${k}=${JSON.stringify(v).slice(0, 40)} is not allowed`);
  return v;
}

function dict(o, k, valueFn, { optional = true } = {}) {
  const v = o[k];
  if (v === undefined && optional) return {};
  if (!isObj(v)) fail(`${k} must be an object`);
  const keys = Object.keys(v);
  if (keys.length > MAX_KEYS) fail(`${k} has more than ${MAX_KEYS} entries`);
  const out = {};
  for (const name of keys) {
    if (!NAME_RE.test(name)) fail(`${k} has a bad name`);
    if (!isObj(v[name]) && typeof v[name] !== 'number') fail(`${k}.${name} has a bad value`);
    out[name] = valueFn(v[name], name);
  }
  return out;
}

function pick(o, fields) {
  // Drops undefined fields so the stored/forwarded object is compact.
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}

// Line and zone counts, as in state and day_end.
const lineCounts = (o) => dict(o, 'lines', (v) => {
  if (!isObj(v)) fail('lines.* must be objects');
  return { in: int(v, 'in', { min: 0 }), out: int(v, 'out', { min: 0 }) };
});
const zoneCounts = (o) => dict(o, 'zones', (v) => {
  if (!isObj(v)) fail('zones.* must be objects');
  return pick(v, {
    occupancy: int(v, 'occupancy', { min: 0 }),
    entered: int(v, 'entered', { optional: true, min: 0 }),
    max_dwell_s: num(v, 'max_dwell_s', { optional: true, nullable: true, min: 0 }),
  });
});

// config_change: the names of the lines and zones added, removed and changed, and the removed ones'
// last counts (as in state).
function changes(o, k) {
  const v = o[k];
  if (!isObj(v)) fail(`${k} must be an object`);
  const out = {};
  for (const part of ['added', 'removed', 'changed']) {
    const names = v[part];
    if (!Array.isArray(names) || names.length > 50 || !names.every((n) => typeof n === 'string' && NAME_RE.test(n))) {
      fail(`${k}.${part} must be a list of at most 50 names`);
    }
    out[part] = names.slice();
  }
  return out;
}
function finalCounts(o) {
  const v = o.final;
  if (!isObj(v)) fail('final must be an object');
  return { lines: lineCounts(v), zones: zoneCounts(v) };
}

// The camera's input as an online worker sees it; strict, since it is shown as it is on the overview.
const INPUT_STATES = new Set(['ok', 'lost', 'waiting']);
function statusInput(o) {
  const v = o.input;
  if (v === undefined) return undefined;
  if (!isObj(v)) fail('input must be an object');
  const extra = Object.keys(v).find((k) => k !== 'state' && k !== 'detail');
  if (extra !== undefined) fail(`input has an unknown key ${JSON.stringify(extra).slice(0, 40)}`);
  if (!INPUT_STATES.has(v.state)) fail(`input.state must be one of ${[...INPUT_STATES].join(', ')}`);
  if (typeof v.detail !== 'string' || v.detail.length > 300) fail('input.detail must be a string of at most 300 chars');
  return pick(v, { state: v.state, detail: v.detail });
}

const common = (o) => ({ camera: str(o, 'camera', { optional: true, re: CAMERA_RE }), ts: num(o, 'ts', { min: 0 }) });

const SHAPES = {
  status(o) {
    return pick(o, {
      ...common(o),
      state: str(o, 'state', { oneOf: new Set(['online', 'offline']) }),
      source: str(o, 'source', { optional: true, nullable: true, max: 512 }),
      reason: str(o, 'reason', { optional: true, oneOf: new Set(['closed', 'lost']) }),
      input: statusInput(o),
    });
  },

  state(o) {
    const tracks = o.tracks === undefined ? [] : o.tracks;
    if (!Array.isArray(tracks) || tracks.length > MAX_TRACKS) fail(`tracks must be an array of at most ${MAX_TRACKS}`);
    return pick(o, {
      ...common(o),
      video_s: num(o, 'video_s', { optional: true, nullable: true, min: 0 }),
      frame: int(o, 'frame', { optional: true, min: 0 }),
      in_frame: int(o, 'in_frame', { min: 0, max: 100000 }),
      total: int(o, 'total', { min: 0 }),
      avg_duration_s: num(o, 'avg_duration_s', { optional: true, nullable: true, min: 0 }),
      tracks: tracks.map((t) => {
        if (!isObj(t)) fail('tracks[] must be objects');
        const box = t.box;
        if (box !== undefined && (!Array.isArray(box) || box.length !== 4 || !box.every((x) => typeof x === 'number' && Number.isFinite(x)))) {
          fail('tracks[].box must be 4 numbers');
        }
        return pick(t, {
          id: int(t, 'id', { min: 0 }),
          box,
          enter_s: num(t, 'enter_s', { optional: true, nullable: true }),
          duration_s: num(t, 'duration_s', { optional: true, nullable: true, min: 0 }),
        });
      }),
      lines: lineCounts(o),
      zones: zoneCounts(o),
    });
  },

  events(o) {
    const type = str(o, 'type', { oneOf: EVENT_TYPES });
    const byType = type === 'day_end' ? {
      date: str(o, 'date', { max: 10, re: /^\d{4}-\d{2}-\d{2}$/ }),
      total: int(o, 'total', { min: 0 }),
      avg_duration_s: num(o, 'avg_duration_s', { optional: true, nullable: true, min: 0 }),
      lines: lineCounts(o),
      zones: zoneCounts(o),
    } : type === 'config_change' ? { lines: changes(o, 'lines'), zones: changes(o, 'zones'), final: finalCounts(o) } : {};
    return pick(o, {
      ...common(o),
      id: str(o, 'id', { max: 128, re: /^[\w.:\-]+$/ }),
      seq: int(o, 'seq', { optional: true, min: 0 }),
      type,
      video_s: num(o, 'video_s', { optional: true, nullable: true, min: 0 }),
      track_id: int(o, 'track_id', { optional: true, nullable: true, min: 0 }),
      duration_s: num(o, 'duration_s', { optional: true, nullable: true, min: 0 }),
      side: str(o, 'side', { optional: true, nullable: true, max: 32 }),
      line: str(o, 'line', { optional: true, re: NAME_RE }),
      direction: str(o, 'direction', { optional: true, oneOf: new Set(['in', 'out']) }),
      zone: str(o, 'zone', { optional: true, re: NAME_RE }),
      dwell_s: num(o, 'dwell_s', { optional: true, nullable: true, min: 0 }),
      rule: str(o, 'rule', { optional: true, max: 64 }),
      value: num(o, 'value', { optional: true, nullable: true }),
      limit: num(o, 'limit', { optional: true, nullable: true }),
      class: str(o, 'class', { optional: true, re: NAME_RE }),
      score: num(o, 'score', { optional: true, nullable: true }),
      detail: str(o, 'detail', { optional: true, nullable: true, max: 512 }),
      reason: str(o, 'reason', { optional: true, max: 500 }), // config_rejected
      by: str(o, 'by', { optional: true, max: 128 }), // config_change / _rejected: the UI session
      config_id: str(o, 'config_id', { optional: true, max: 128 }),
      ...byType, // day_end, or config_change's lines, zones and final
    });
  },

  perf(o) {
    const n = (k) => num(o, k, { optional: true, nullable: true, min: 0 });
    return pick(o, {
      ...common(o),
      fps: n('fps'),
      infer_ms_p50: n('infer_ms_p50'),
      infer_ms_p95: n('infer_ms_p95'),
      latency_ms_p50: n('latency_ms_p50'),
      latency_ms_p95: n('latency_ms_p95'),
      mqtt_bps: n('mqtt_bps'),
      video_bps: n('video_bps'),
      model: str(o, 'model', { optional: true, nullable: true, max: 128 }),
      precision: str(o, 'precision', { optional: true, nullable: true, max: 32 }),
      device: str(o, 'device', { optional: true, nullable: true, max: 64 }),
      frames: int(o, 'frames', { optional: true, min: 0 }),
      // Share of frames the detector skipped (detect.fps or the motion gate), and its own rate.
      skipped_share: num(o, 'skipped_share', { optional: true, nullable: true, min: 0, max: 1 }),
      detect_fps: n('detect_fps'),
    });
  },

  // The lines and zones the camera counts on now (the editor draws them), in its frame's pixels: checked
  // with the schema the worker publishes it against, the one the editor's saves are checked with too.
  geometry(o) {
    const why = publishedError(o);
    if (why) fail(why);
    return o;
  },

  segmentation(o) {
    return pick(o, {
      ...common(o),
      video_s: num(o, 'video_s', { optional: true, nullable: true, min: 0 }),
      frame: int(o, 'frame', { optional: true, min: 0 }),
      classes: dict(o, 'classes', (v, name) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) fail(`classes.${name} must be a share in [0, 1]`);
        return v;
      }, { optional: false }),
    });
  },
};

const KINDS = Object.freeze(Object.keys(SHAPES));
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * @param {Buffer|Uint8Array} payload raw MQTT payload
 * @param {string} kind one of KINDS
 * @param {number} maxBytes larger payloads are refused before decoding
 * @returns {{ok: true, value: object} | {ok: false, error: string}}
 */
function parsePayload(payload, kind, maxBytes) {
  const shape = SHAPES[kind];
  if (!shape) return { ok: false, error: `unknown kind ${kind}` };
  if (payload.length > maxBytes) return { ok: false, error: `payload of ${payload.length} bytes exceeds ${maxBytes}` };
  let text;
  try {
    text = decoder.decode(payload);
  } catch {
    return { ok: false, error: 'payload is not UTF-8' };
  }
  let obj;
  try {
    obj = JSON.parse(text);
  } catch {
    return { ok: false, error: 'payload is not JSON' };
  }
  if (!isObj(obj)) return { ok: false, error: 'payload is not a JSON object' };
  try {
    return { ok: true, value: shape(obj) };
  } catch (err) {
    if (err instanceof ShapeError) return { ok: false, error: err.message };
    return { ok: false, error: `unexpected: ${err.message}` };
  }
}

/** Splits "<prefix>/<camera>/<kind>"; null when the topic is not ours. */
function parseTopic(topic, prefix) {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const rest = topic.slice(prefix.length + 1).split('/');
  if (rest.length !== 2) return null;
  const [camera, kind] = rest;
  if (!CAMERA_RE.test(camera) || !SHAPES[kind]) return null;
  return { camera, kind };
}

module.exports = { parsePayload, parseTopic, KINDS, EVENT_TYPES, CAMERA_RE };
