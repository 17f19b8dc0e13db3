'use strict';
// Reads the UI's settings from the environment once; everything else receives this object.
const fs = require('node:fs');

/** Value of NAME, or the trimmed content of the file named by NAME_FILE, or undefined. */
function secretFromEnv(env, name) {
  if (env[name] !== undefined && env[name] !== '') return env[name];
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`${name}_FILE=${file} cannot be read: ${err.code || err.message}`);
    }
  }
  return undefined;
}

function intFromEnv(env, name, dflt, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Error(`${name}=${raw} is not an integer in [${min}, ${max}]`);
  }
  return v;
}

function pathFromEnv(env, name, dflt) {
  const v = env[name] || dflt;
  if (!/^[A-Za-z0-9_.\-/{}]+$/.test(v) || v.startsWith('/') || v.includes('..')) {
    throw new Error(`${name}=${v} must be a relative path like ${dflt}`);
  }
  return v;
}

function urlFromEnv(env, name, dflt, protocols) {
  const raw = env[name] || dflt;
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name}=${raw} is not a URL`);
  }
  if (!protocols.includes(u.protocol)) {
    throw new Error(`${name}=${raw} must use ${protocols.join(' or ')}`);
  }
  return u;
}

/**
 * @param {Record<string,string|undefined>} env usually process.env
 * @returns {object} frozen config
 */
function loadConfig(env) {
  const mqttUrl = urlFromEnv(env, 'EDGEWATCH_MQTT_URL', 'mqtt://127.0.0.1:1883', ['mqtt:', 'mqtts:', 'ws:', 'wss:']);
  const streamUrl = urlFromEnv(env, 'EDGEWATCH_STREAM_URL', 'http://127.0.0.1:8888', ['http:']);
  const prefix = env.EDGEWATCH_MQTT_PREFIX || 'edgewatch';
  if (!/^[A-Za-z0-9_\-/]{1,64}$/.test(prefix) || prefix.endsWith('/')) {
    throw new Error(`EDGEWATCH_MQTT_PREFIX=${prefix} must be letters, digits, _ - / and not end with /`);
  }
  return Object.freeze({
    host: env.EDGEWATCH_UI_HOST || '0.0.0.0',
    port: intFromEnv(env, 'EDGEWATCH_UI_LISTEN_PORT', 8080, 0, 65535),
    dataDir: env.EDGEWATCH_UI_DATA || '/data',
    password: secretFromEnv(env, 'EDGEWATCH_UI_PASSWORD'),
    secureCookie: env.EDGEWATCH_UI_SECURE_COOKIE === '1',
    mqtt: Object.freeze({
      url: mqttUrl.href,
      username: env.EDGEWATCH_MQTT_USERNAME || undefined,
      // Set = a persistent session under this id: the broker keeps our subscription and queues QoS 1
      // events while the UI is away (restarting, or the broker restarted and we are not back yet).
      clientId: env.EDGEWATCH_MQTT_CLIENT_ID || undefined,
      password: secretFromEnv(env, 'EDGEWATCH_MQTT_PASSWORD'),
      prefix,
      maxPayloadBytes: intFromEnv(env, 'EDGEWATCH_UI_MAX_PAYLOAD', 64 * 1024, 256, 16 * 1024 * 1024),
    }),
    stream: Object.freeze({
      url: streamUrl.href.replace(/\/$/, ''),
      probeIntervalMs: intFromEnv(env, 'EDGEWATCH_STREAM_PROBE_MS', 5000, 200, 600000),
      probePath: '/healthz',
      // Relay paths (stream/README.md); {camera} is replaced by the page. Served under /stream/.
      hlsPath: pathFromEnv(env, 'EDGEWATCH_STREAM_HLS_PATH', '{camera}/hls/index.m3u8'),
      livePath: pathFromEnv(env, 'EDGEWATCH_STREAM_LIVE_PATH', '{camera}/live.ws'),
      // A JPEG of the camera now, for the overview's tiles (refreshed by the page about once a second).
      stillPath: pathFromEnv(env, 'EDGEWATCH_STREAM_STILL_PATH', '{camera}/still.jpg'),
    }),
    retentionDays: intFromEnv(env, 'EDGEWATCH_UI_RETENTION_DAYS', 30, 1, 3650),
    // The hourly history (charts by hour, day, week, month) is small: kept far longer than raw events.
    historyDays: intFromEnv(env, 'EDGEWATCH_UI_HISTORY_DAYS', 400, 1, 3650),
  });
}

module.exports = { loadConfig, secretFromEnv };
