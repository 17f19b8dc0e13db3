'use strict';
// Subscribes to the camera topics, validates each payload, and hands good ones to the sink.
// Bad payloads are logged (rate-limited) and dropped; nothing here throws into mqtt.js.

const mqtt = require('mqtt');
const { parsePayload, parseTopic } = require('./validate');

class MqttBridge {
  /**
   * @param {{url: string, username?: string, password?: string, clientId?: string, prefix: string, maxPayloadBytes: number}} cfg
   * @param {(camera: string, kind: string, value: object) => void} onMessage called for valid messages only
   * @param {{logger: object, onConnectionChange?: (connected: boolean) => void}} opts
   */
  constructor(cfg, onMessage, { logger, onConnectionChange = () => {} }) {
    this.cfg = cfg;
    this.onMessage = onMessage;
    this.logger = logger;
    this.onConnectionChange = onConnectionChange;
    this.client = null;
    this.connected = false;
    this.since = null;
    this.lastError = null;
    this.stats = { received: 0, dropped: 0, bytes: 0 };
  }

  start() {
    const { url, username, password, prefix, clientId } = this.cfg;
    this.client = mqtt.connect(url, {
      username,
      password,
      // A fixed id keeps a persistent session (events queued while we are away); none = a throwaway one.
      clientId: clientId || `edgewatch-ui-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: !clientId,
      reconnectPeriod: 2000,
      connectTimeout: 5000,
      keepalive: 10,
    });
    this.client.on('connect', () => {
      this._setConnected(true);
      this.logger.info(`MQTT connected to ${url}`);
      // QoS 1 so events are redelivered if the UI drops mid-flight; the store de-duplicates them.
      this.client.subscribe(`${prefix}/+/+`, { qos: 1 }, (err) => {
        if (err) this.logger.error(`MQTT subscribe to ${prefix}/+/+ failed: ${err.message}`);
      });
    });
    this.client.on('close', () => this._setConnected(false));
    this.client.on('offline', () => this._setConnected(false));
    this.client.on('error', (err) => {
      this.lastError = err.message;
      this.logger.warnLimited('mqtt-error', `MQTT ${url}: ${err.message}`);
    });
    this.client.on('message', (topic, payload) => this.handle(topic, payload));
  }

  /** Publishes retained, QoS 1; resolves once the broker has it (a refusal by its ACL is logged by it). */
  publishRetained(topic, payload) {
    return new Promise((resolve, reject) => {
      if (!this.client || !this.connected) return reject(new Error('not connected'));
      this.client.publish(topic, payload, { qos: 1, retain: true }, (err) => (err ? reject(err) : resolve()));
      return undefined;
    });
  }

  _setConnected(c) {
    if (c === this.connected) return;
    this.connected = c;
    this.since = Date.now() / 1000;
    this.onConnectionChange(c);
  }

  /** Validates and dispatches one message; public so tests can drive it without a broker. */
  handle(topic, payload) {
    this.stats.received += 1;
    this.stats.bytes += payload.length;
    const t = parseTopic(topic, this.cfg.prefix);
    if (!t) return this._drop(topic, 'topic is not <prefix>/<camera>/<kind>');
    const r = parsePayload(payload, t.kind, this.cfg.maxPayloadBytes);
    if (!r.ok) return this._drop(topic, r.error);
    if (r.value.camera !== undefined && r.value.camera !== t.camera) return this._drop(topic, 'camera in payload differs from topic');
    r.value.camera = t.camera;
    try {
      this.onMessage(t.camera, t.kind, r.value);
    } catch (err) {
      this.logger.error(`handling ${topic} failed: ${err.stack || err.message}`);
    }
    return undefined;
  }

  _drop(topic, why) {
    this.stats.dropped += 1;
    this.logger.warnLimited('mqtt-drop', `dropped MQTT message on ${topic.slice(0, 120)}: ${why}`);
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.client) return resolve();
      this.client.end(true, {}, () => resolve());
      return undefined;
    });
  }
}

module.exports = { MqttBridge };
