'use strict';
// Builds the UI service from its parts and runs its timers; main.js only adds process concerns.

const path = require('node:path');
const { Auth } = require('./auth');
const { GeometryDesk } = require('./geometry');
const { LiveState } = require('./livestate');
const { MqttBridge } = require('./mqttbridge');
const { resolvePassword } = require('./password');
const { createServer } = require('./routes');
const { SseHub } = require('./sse');
const { StaticFiles } = require('./staticfiles');
const { Store } = require('./store');
const { StreamProxy } = require('./streamproxy');

const PUBLIC_DIR = path.join(__dirname, '..', 'public');

const MIB = 1024 * 1024;
function serverMemory() {
  const m = process.memoryUsage();
  const r = (x) => Math.round((x / MIB) * 10) / 10;
  return { rss_mib: r(m.rss), heap_used_mib: r(m.heapUsed), heap_total_mib: r(m.heapTotal), external_mib: r(m.external), array_buffers_mib: r(m.arrayBuffers) };
}

/** Bytes per second from a growing counter, sampled by the health timer. */
class RateMeter {
  constructor(read) {
    this.read = read;
    this.last = read();
    this.lastT = Date.now();
    this.bps = 0;
  }

  sample() {
    const v = this.read();
    const t = Date.now();
    if (t > this.lastT) this.bps = ((v - this.last) * 1000) / (t - this.lastT);
    this.last = v;
    this.lastT = t;
    return this.bps;
  }
}

class UiApp {
  /** @param {object} cfg from loadConfig  @param {object} logger from createLogger */
  constructor(cfg, logger) {
    this.cfg = cfg;
    this.logger = logger;
    this.timers = [];
  }

  async start() {
    const { cfg, logger } = this;
    const { password, source } = resolvePassword(cfg.password, cfg.dataDir, logger);
    if (source !== 'generated') logger.info(`UI password from ${source === 'config' ? 'EDGEWATCH_UI_PASSWORD(_FILE)' : `${cfg.dataDir}/ui-password`}`);
    this.auth = new Auth(password, { secureCookie: cfg.secureCookie });
    this.store = await Store.open(cfg.dataDir, { logger, retentionDays: cfg.retentionDays, historyDays: cfg.historyDays });
    this.live = new LiveState();
    const since = Math.floor(Date.now() / 60000) - 10;
    const byCamera = new Map();
    for (const row of this.store.minuteCounts({ sinceMinute: since })) {
      if (!byCamera.has(row.camera)) byCamera.set(row.camera, []);
      byCamera.get(row.camera).push(row);
    }
    for (const [camera, rows] of byCamera) this.live.seedSeries(camera, rows);
    for (const ev of this.store.lastSourceEvents()) this.live.noteSource(ev.camera, ev);
    this.hub = new SseHub({ logger });
    this.proxy = new StreamProxy(cfg.stream.url, { logger });
    this.bridge = new MqttBridge(cfg.mqtt, (camera, kind, value) => this._onMessage(camera, kind, value), {
      logger, onConnectionChange: () => this.hub.broadcast('health', this.health()),
    });
    this.geometry = new GeometryDesk({
      live: this.live, prefix: cfg.mqtt.prefix, publish: (topic, payload) => this.bridge.publishRetained(topic, payload),
    });
    this.mqttRate = new RateMeter(() => this.bridge.stats.bytes);
    this.videoRate = new RateMeter(() => this.proxy.bytes);

    const files = new StaticFiles(PUBLIC_DIR, {
      '/vendor/hls.min.js': require.resolve('hls.js/dist/hls.min.js'),
      '/vendor/uPlot.esm.js': require.resolve('uplot/dist/uPlot.esm.js'),
      '/vendor/uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
    });
    this.server = createServer({
      auth: this.auth, live: this.live, store: this.store, hub: this.hub, proxy: this.proxy, files, geometry: this.geometry,
      health: () => this.health(), clientConfig: this.clientConfig(), logger,
    });

    this.bridge.start();
    this._every(2000, () => {
      this.mqttRate.sample();
      this.videoRate.sample();
      this.hub.broadcast('health', this.health());
    });
    this._every(cfg.stream.probeIntervalMs, () => this.proxy.probe(cfg.stream.probePath));
    this.proxy.probe(cfg.stream.probePath);
    this._every(3600e3, () => this._store('retention', () => this.store.prune()));

    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(cfg.port, cfg.host, resolve);
    });
    const addr = this.server.address();
    logger.info(`listening on http://${addr.address}:${addr.port}`);
    return addr;
  }

  _every(ms, fn) {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        this.logger.error(`timer: ${err.stack || err.message}`);
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Runs a history write; a full or read-only volume must not stop the live view. */
  _store(what, fn, fallback) {
    try {
      return fn();
    } catch (err) {
      this.logger.warnLimited('store', `cannot write ${what} to ${this.cfg.dataDir}: ${err.message}`);
      return fallback;
    }
  }

  _onMessage(camera, kind, value) {
    this.geometry.notify(camera, kind, value);
    if (kind === 'events') {
      // Not stored (disk full): still shown live; false only for a QoS 1 redelivery already stored.
      if (!this._store('event', () => this.store.addEvent(value), true)) return;
      this.hub.broadcast('event', value);
      if (value.type === 'source_lost' || value.type === 'source_restored') {
        this.live.noteSource(camera, value);
        if (this.live.cameras.has(camera)) this.hub.broadcast('input', { camera, input: this.live.inputState(camera) });
      }
      return;
    }
    if (!this.live.apply(camera, kind, value)) {
      this.logger.warnLimited('camera-cap', `ignoring camera ${camera}: too many cameras`);
      return;
    }
    if (kind === 'state') this._store('counts', () => this.store.recordSample(camera, Date.now(), value.in_frame, value.total));
    const msg = { camera, value, worker: this.live.workerHealth(camera) };
    if (kind === 'status') msg.input = this.live.inputState(camera); // the status may carry or outdate it
    this.hub.broadcast(kind, msg);
  }

  /** Health of the three parts the page shows, plus measured bandwidths. */
  health() {
    const workers = {};
    for (const id of this.live.cameraIds()) workers[id] = this.live.workerHealth(id);
    return {
      server_ts: Date.now() / 1000,
      broker: { connected: this.bridge.connected, since: this.bridge.since, error: this.bridge.connected ? null : this.bridge.lastError },
      stream: this.proxy.health,
      workers,
      mqtt_in_bps: Math.round(this.mqttRate.bps),
      video_out_bps: Math.round(this.videoRate.bps),
      mqtt_dropped: this.bridge.stats.dropped,
      sse_clients: this.hub.clients.size,
      sse_dropped: this.hub.dropped, // clients cut off because they stopped reading
      // The server's own memory, so a slow leak shows on the page and in soaks, split the way V8 sees it.
      server_memory: serverMemory(),
    };
  }

  clientConfig() {
    const { hlsPath, livePath, stillPath } = this.cfg.stream;
    return { stream_base: '/stream/', hls_path: hlsPath, live_path: livePath, still_path: stillPath };
  }

  async stop() {
    for (const t of this.timers) clearInterval(t);
    this.hub.close();
    await this.bridge.stop();
    await new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections?.();
    });
    this.proxy.close();
    this.store.close();
  }
}

module.exports = { UiApp };
