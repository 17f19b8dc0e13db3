'use strict';
// Forwards /stream/<path> to the video relay, so the browser needs one origin and no other port.
// Plain HTTP (HLS playlists/segments, long-lived fMP4 responses) and WebSocket upgrades pass through
// as byte streams; nothing is buffered whole.

const http = require('node:http');

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'cookie', 'authorization']);
const PASS_RESPONSE = ['content-type', 'content-length', 'cache-control', 'last-modified', 'etag', 'content-range',
  'accept-ranges', 'expires'];

class StreamProxy {
  /**
   * @param {string} baseUrl e.g. http://stream:8888
   * @param {{logger?: object, timeoutMs?: number}} opts
   */
  constructor(baseUrl, { logger, timeoutMs = 10000 } = {}) {
    this.base = new URL(baseUrl);
    this.logger = logger;
    this.timeoutMs = timeoutMs;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.bytes = 0; // bytes sent to browsers, for the video bandwidth figure
    this.health = { ok: null, status: null, checked_at: null, detail: 'not checked yet', cameras: {} };
  }

  _target(subpath) {
    // subpath comes from a URL the router already decoded and checked for '..'
    return { hostname: this.base.hostname, port: this.base.port || 80, path: `/${subpath}` };
  }

  _headers(req) {
    const out = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && k !== 'host') out[k] = v;
    out.host = this.base.host;
    return out;
  }

  /** Proxies one GET/HEAD request; subpath has no leading slash and may carry a query string. */
  handle(req, res, subpath) {
    const up = http.request({ ...this._target(subpath), method: req.method, headers: this._headers(req), agent: this.agent });
    up.setTimeout(this.timeoutMs, () => up.destroy(new Error('relay timed out')));
    up.on('response', (upRes) => {
      up.setTimeout(0); // a live stream may stay open for hours once it started
      const headers = {};
      for (const k of PASS_RESPONSE) if (upRes.headers[k] !== undefined) headers[k] = upRes.headers[k];
      res.writeHead(upRes.statusCode || 502, headers);
      upRes.on('data', (chunk) => { this.bytes += chunk.length; });
      upRes.pipe(res);
      upRes.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      this.logger?.warnLimited('stream-proxy', `video relay ${this.base.host}/${subpath.split('?')[0]}: ${err.message}`);
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('video relay unreachable\n');
      } else {
        res.destroy();
      }
    });
    res.on('close', () => up.destroy());
    up.end();
  }

  /** Pipes a WebSocket upgrade to the relay unchanged (after the router checked the session). */
  upgrade(req, socket, head, subpath) {
    const up = http.request({ ...this._target(subpath), method: 'GET', headers: { ...this._headers(req), connection: 'Upgrade', upgrade: req.headers.upgrade } });
    up.setTimeout(this.timeoutMs, () => up.destroy(new Error('relay timed out')));
    up.on('upgrade', (upRes, upSocket, upHead) => {
      up.setTimeout(0);
      let head0 = `HTTP/1.1 101 Switching Protocols\r\n`;
      for (let i = 0; i < upRes.rawHeaders.length; i += 2) head0 += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
      socket.write(`${head0}\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on('data', (c) => { this.bytes += c.length; });
      upSocket.pipe(socket).pipe(upSocket);
      upSocket.on('error', () => socket.destroy());
      socket.on('error', () => upSocket.destroy());
      socket.on('close', () => upSocket.destroy());
      upSocket.on('close', () => socket.destroy());
    });
    up.on('response', (upRes) => {
      socket.end(`HTTP/1.1 ${upRes.statusCode} Upgrade Refused\r\nConnection: close\r\n\r\n`);
      upRes.resume();
    });
    up.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n'));
    socket.on('error', () => up.destroy());
    up.end();
  }

  /**
   * Asks the relay's health endpoint. Any HTTP answer means reachable; a JSON body
   * ({cameras: {id: {live}}}) also tells which cameras have video right now.
   */
  probe(path = '/healthz') {
    return new Promise((resolve) => {
      const done = (ok, status, detail, cameras = {}) => {
        this.health = { ok, status, checked_at: Date.now() / 1000, detail, cameras };
        resolve(this.health);
      };
      const req = http.request({ ...this._target(path.replace(/^\//, '')), method: 'GET', agent: this.agent }, (r) => {
        const chunks = [];
        let size = 0;
        r.on('data', (c) => {
          size += c.length;
          if (size <= 64 * 1024) chunks.push(c);
        });
        r.on('end', () => {
          const cameras = {};
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            for (const [id, c] of Object.entries(body.cameras || {}).slice(0, 64)) cameras[id] = { live: Boolean(c && c.live) };
          } catch {
            // not JSON: reachability alone is still worth reporting
          }
          done(true, r.statusCode, `HTTP ${r.statusCode}`, cameras);
        });
        r.on('error', (err) => done(false, null, err.message));
      });
      req.setTimeout(3000, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => done(false, null, err.code || err.message));
      req.end();
    });
  }

  close() {
    this.agent.destroy();
  }
}

module.exports = { StreamProxy };
