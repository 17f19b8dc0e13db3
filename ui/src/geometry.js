'use strict';
// A camera's lines and zones as the editor saves them: checked with the worker's own rules before they
// go to the broker. The shape is the JSON Schema the worker publishes against (schemas/geometry.schema.json,
// a copy of inference/edgewatch/schemas/ kept equal by a test); the two rules a schema cannot say (names
// unique, points inside the frame) are here, with the same wording and keys as the worker's
// (tests/fixtures/geometry_cases.json runs through both).

const Ajv2020 = require('ajv/dist/2020');
const SCHEMA = require('./schemas/geometry.schema.json');

const ajv = new Ajv2020({ allErrors: false, strict: false });
const shape = ajv.compile({ ...SCHEMA, $id: undefined, $ref: '#/$defs/geometry', properties: undefined,
  required: undefined, additionalProperties: undefined });

// The whole payload the worker publishes on <prefix>/<camera>/geometry (validate.js takes it with this).
const published = ajv.compile({ ...SCHEMA, $id: undefined });

/** Why a published geometry payload is refused (`lines.0.points: must NOT have ...`), or null. */
function publishedError(o) {
  if (published(o)) return null;
  const err = published.errors[0];
  return `${keyOf(err) || '(top level)'}: ${err.message}`;
}

/** The dotted key of an Ajv error, as the worker names it (`lines.0.points`, `zones.0.colour`). */
function keyOf(err) {
  const parts = err.instancePath.split('/').filter(Boolean);
  if (err.keyword === 'additionalProperties') parts.push(err.params.additionalProperty);
  if (err.keyword === 'required') parts.push(err.params.missingProperty);
  return parts.join('.');
}

/**
 * @param {unknown} body the parsed request body
 * @param {{width: number, height: number}} frame the camera's frame size
 * @returns {{ok: true, value: {lines: object[], zones: object[]}} | {ok: false, key: string, error: string}}
 */
function checkGeometry(body, frame) {
  if (!shape(body)) {
    const err = shape.errors[0];
    const key = keyOf(err);
    return { ok: false, key, error: `${key || '(top level)'}: ${err.message}` };
  }
  const value = { lines: body.lines || [], zones: body.zones || [] };
  for (const kind of ['lines', 'zones']) {
    const seen = new Set();
    for (const item of value[kind]) {
      if (seen.has(item.name)) return { ok: false, key: kind, error: `${kind}: duplicate name '${item.name}'` };
      seen.add(item.name);
    }
  }
  for (const [kind, attr] of [['lines', 'points'], ['zones', 'polygon']]) {
    for (const [i, item] of value[kind].entries()) {
      for (const [x, y] of item[attr]) {
        if (!(x >= 0 && x <= frame.width && y >= 0 && y <= frame.height)) {
          const key = `${kind}.${i}.${attr}`;
          return { ok: false, key, error: `${key}: point (${x}, ${y}) of '${item.name}' is outside the ${frame.width}x${frame.height} frame` };
        }
      }
    }
  }
  return { ok: true, value };
}


const crypto = require('node:crypto');

/**
 * Saves a camera's lines and zones: checks them against the frame the camera's worker published, sends
 * them retained on <prefix>/<camera>/config/geometry, and waits (a few seconds) for the worker's answer:
 * its geometry topic carrying the new id (applied), or a config_rejected event for it (refused).
 */
class GeometryDesk {
  /**
   * @param {{live: object, publish: (topic: string, payload: string) => Promise<void>, prefix: string,
   *          waitMs?: number}} deps
   */
  constructor({ live, publish, prefix, waitMs = 5000 }) {
    this.live = live;
    this.publish = publish;
    this.prefix = prefix;
    this.waitMs = waitMs;
    this.waiting = new Map(); // config id -> resolve({status, body})
  }

  current(camera) {
    const cam = this.live.cameras.get(camera);
    return cam ? cam.geometry || null : null;
  }

  /** @returns {Promise<{status: number, body: object}>} the HTTP answer */
  async save(camera, body, by) {
    const now = this.current(camera);
    if (!now) return { status: 409, body: { error: `camera ${camera} has not published its lines and zones yet (is its worker running?)` } };
    const r = checkGeometry(body, now.frame);
    if (!r.ok) return { status: 400, body: { error: r.error, key: r.key } };
    const id = crypto.randomUUID();
    const answer = new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ status: 202, body: { id, note: 'saved; the worker has not confirmed it yet (it applies it when it runs)' } });
      }, this.waitMs);
      timer.unref();
      this.waiting.set(id, (result) => { clearTimeout(timer); this.waiting.delete(id); resolve(result); });
    });
    try {
      await this.publish(`${this.prefix}/${camera}/config/geometry`, JSON.stringify({ camera, id, by, ...r.value }));
    } catch (err) {
      this.waiting.get(id)?.({ status: 503, body: { error: `not saved: the broker is not reachable (${err.message})` } });
    }
    return answer;
  }

  /** Every valid MQTT message of the UI: a worker's answer to a save completes its request. */
  notify(camera, kind, value) {
    if (kind === 'geometry' && value.config_id && this.waiting.has(value.config_id)) {
      this.waiting.get(value.config_id)({ status: 200, body: { id: value.config_id, geometry: value } });
    } else if (kind === 'events' && value.type === 'config_rejected' && this.waiting.has(value.config_id)) {
      this.waiting.get(value.config_id)({ status: 400, body: { error: value.reason, key: value.reason.split(':')[0] } });
    }
  }
}

module.exports = { checkGeometry, publishedError, GeometryDesk };
