'use strict';
// The HTTP surface: login, the page, the JSON/CSV/SSE API and the video proxy. Everything except
// /login, its stylesheet and /healthz needs a session.

const http = require('node:http');
const csv = require('./csv');
const { RangeError400 } = require('./history');
const { CAMERA_RE } = require('./validate');

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    + "media-src 'self' blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    + "form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};
const PUBLIC_PATHS = new Set(['/login', '/login.html', '/login.js', '/style.css', '/healthz', '/favicon.svg']);
const MAX_BODY = 4096;
const STREAM_PATH_RE = /^[A-Za-z0-9_.\-/]*$/;

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendText(res, status, text, extra = {}) {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

const MAX_GEOMETRY_BODY = 256 * 1024; // 50 lines and 50 zones of 100 points fit many times over
const GEOMETRY_PATH_RE = /^\/api\/cameras\/([A-Za-z0-9_-]{1,64})\/geometry$/;

/** Reads a small request body; rejects (413) past `limit` without buffering the rest. */
function readBody(req, res, limit = MAX_BODY) {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] || 0);
    // After a 413 the connection is closed once the answer is out; the rest of the body is never read.
    const refuse = () => {
      if (!res.headersSent) sendText(res, 413, 'request body too large', { Connection: 'close' });
      res.once('finish', () => req.destroy());
      req.pause();
      resolve(null);
    };
    if (declared > limit) return refuse();
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        refuse();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
    return undefined;
  });
}

/** A bad query value: answered 400 with this one line, so a caller learns what to fix. */
class QueryError extends Error {}

/** An integer in min..max, `dflt` when absent; a QueryError naming the value otherwise (no silent clamping). */
function intParam(params, name, dflt, min, max) {
  const raw = params.get(name);
  if (raw === null || raw === '') return dflt;
  const v = Number(raw);
  if (!/^-?\d{1,16}$/.test(raw) || v < min || v > max) throw new QueryError(`${name} must be an integer from ${min} to ${max}`);
  return v;
}

/** A camera id as in the topics, null when absent. */
function cameraParam(params) {
  const raw = params.get('camera');
  if (raw === null || raw === '') return null;
  if (!CAMERA_RE.test(raw)) throw new QueryError('camera must be 1 to 64 letters, digits, _ or -');
  return raw;
}

/** Unix seconds, null when absent. */
function timeParam(params, name) {
  const raw = params.get(name);
  if (raw === null || raw === '') return null;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new QueryError(`${name} must be a time in Unix seconds`);
  return v;
}

/**
 * @param {object} deps {auth, live, store, hub, proxy, files, health: () => object, clientConfig: object, logger}
 * @returns {http.Server}
 */
function createServer(deps) {
  const { auth, live, store, hub, proxy, files, geometry, health, clientConfig, logger } = deps;

  /** A state-changing request must come from the UI's own page: its Origin is this host's. The session
   *  cookie (SameSite=Strict) plus the same Origin is enough, so a script sending that Origin works. */
  function sameOrigin(req) {
    const origin = req.headers.origin;
    const host = req.headers.host;
    return Boolean(origin && host) && (origin === `http://${host}` || origin === `https://${host}`);
  }

  async function handleSaveGeometry(req, res, camera) {
    if (!auth.isAuthenticated(req)) return sendJson(res, 401, { error: 'login required' });
    if (!sameOrigin(req)) return sendJson(res, 403, { error: 'refused: the request does not come from this UI (Origin)' });
    const text = await readBody(req, res, MAX_GEOMETRY_BODY);
    if (text === null) return undefined; // 413 sent
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return sendJson(res, 400, { error: 'the body is not JSON', key: '' });
    }
    const { status, body: answer } = await geometry.save(camera, body, auth.sessionLabel(req));
    return sendJson(res, status, answer);
  }

  async function handleLogin(req, res) {
    const body = await readBody(req, res);
    if (body === null) return;
    const ctype = (req.headers['content-type'] || '').split(';')[0].trim();
    let attempt;
    let camera = null;
    if (ctype === 'application/json') {
      try { attempt = JSON.parse(body).password; } catch { attempt = undefined; }
    } else {
      const form = new URLSearchParams(body);
      attempt = form.get('password');
      camera = CAMERA_RE.test(form.get('camera') || '') ? form.get('camera') : null;
    }
    // Back to the camera page that sent the visitor here; only a checked id travels, never a URL.
    const there = camera ? `?camera=${camera}` : '';
    const { token, busy } = await auth.login(req.socket.remoteAddress || '?', attempt);
    const wantsJson = ctype === 'application/json';
    if (busy) return sendText(res, 429, 'one login attempt at a time', { 'Retry-After': '2' });
    if (!token) {
      logger.warnLimited('login-fail', `failed UI login from ${req.socket.remoteAddress}`);
      if (wantsJson) return sendJson(res, 401, { error: 'wrong password' });
      res.writeHead(303, { Location: `/login?failed=1${camera ? `&camera=${camera}` : ''}`, 'Cache-Control': 'no-store' });
      return res.end();
    }
    const headers = { 'Set-Cookie': auth.sessionCookie(token), 'Cache-Control': 'no-store' };
    if (wantsJson) {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
      return res.end('{"ok":true}');
    }
    res.writeHead(303, { ...headers, Location: `/${there}` });
    return res.end();
  }

  /** Streams the CSV a page of events at a time, waiting for the client to take each one: a big
   *  history or a client that reads slowly never sits whole in memory. */
  async function exportCsv(res, camera) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.writeHead(200, {
      'Content-Type': 'text/csv; charset=utf-8', 'Cache-Control': 'no-store',
      'Content-Disposition': `attachment; filename="edgewatch-events-${stamp}.csv"`,
    });
    let ok = res.write(csv.header());
    let after = null;
    do {
      if (!ok && !res.destroyed) {
        await new Promise((resolve) => {
          const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (res.destroyed) return; // the client went away (its 'close' has fired): stop reading pages
      const page = store.eventsPage({ camera, after, limit: 500 });
      ok = res.write(page.events.map(csv.row).join(''));
      after = page.cursor;
    } while (after);
    res.end();
  }

  function handleApi(req, res, url) {
    try {
      return answerApi(req, res, url);
    } catch (err) {
      if (err instanceof QueryError) return sendJson(res, 400, { error: err.message });
      throw err;
    }
  }

  /** by=hour|day, from and to in Unix seconds (to excluded); camera absent = the whole site. */
  function historyQuery(p, camera) {
    const from = timeParam(p, 'from');
    const to = timeParam(p, 'to');
    if (from === null || to === null) throw new QueryError('from and to are required (Unix seconds)');
    try {
      return store.historyQuery({ camera, by: p.get('by') || 'hour', from, to });
    } catch (err) {
      if (err instanceof RangeError400) throw new QueryError(err.message);
      throw err;
    }
  }

  function answerApi(req, res, url) {
    const p = url.searchParams;
    const g = url.pathname.match(GEOMETRY_PATH_RE);
    if (g) {
      const now = geometry.current(g[1]);
      return now ? sendJson(res, 200, now) : sendJson(res, 404, { error: `camera ${g[1]} has not published its lines and zones` });
    }
    const camera = cameraParam(p);
    switch (url.pathname) {
      case '/api/state':
        return sendJson(res, 200, { cameras: live.snapshot(), health: health() });
      case '/api/config':
        return sendJson(res, 200, clientConfig);
      case '/api/events':
        return sendJson(res, 200, {
          events: store.listEvents({ camera, limit: intParam(p, 'limit', 200, 1, 5000), beforeTs: timeParam(p, 'before') }),
          total: store.countEvents(),
        });
      case '/api/counts': {
        const minutes = intParam(p, 'minutes', 60, 1, 60 * 24 * 31);
        const sinceMinute = Math.floor(Date.now() / 60000) - minutes + 1;
        return sendJson(res, 200, { counts: store.minuteCounts({ camera, sinceMinute }) });
      }
      case '/api/events.csv':
        return exportCsv(res, camera);
      case '/api/history':
        return sendJson(res, 200, historyQuery(p, camera));
      case '/api/history.csv': {
        const chart = p.get('chart') || null;
        if (chart !== null && !csv.CHARTS.has(chart)) throw new QueryError(`chart must be one of ${[...csv.CHARTS].join(', ')}`);
        const h = historyQuery(p, camera);
        res.writeHead(200, { 'Content-Type': 'text/csv; charset=utf-8', 'Cache-Control': 'no-store',
          'Content-Disposition': `attachment; filename="edgewatch-history-${camera || 'site'}-${h.by}${chart ? `-${chart}` : ''}.csv"` });
        return res.end(csv.history(h, chart));
      }
      case '/api/live':
        return hub.add(req, res, [['snapshot', { cameras: live.snapshot(), health: health() }]]);
      default:
        return sendJson(res, 404, { error: 'no such API' });
    }
  }

  async function route(req, res) {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    let url;
    try {
      url = new URL(req.url, 'http://ui.local');
      decodeURIComponent(url.pathname);
    } catch {
      return sendText(res, 400, 'bad request');
    }
    const { pathname } = url;
    if (pathname === '/healthz') return sendText(res, 200, 'ok');

    if (req.method === 'PUT') {
      const m = pathname.match(GEOMETRY_PATH_RE);
      if (m) return handleSaveGeometry(req, res, m[1]);
      return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD, POST' });
    }
    if (req.method === 'POST') {
      if (pathname === '/login') return handleLogin(req, res);
      if (pathname === '/logout') {
        auth.logout(req);
        res.writeHead(303, { 'Set-Cookie': auth.clearCookie(), Location: '/login' });
        return res.end();
      }
      return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD, POST' });
    if (Number(req.headers['content-length'] || 0) > 0) return sendText(res, 413, 'GET with a body', { Connection: 'close' });

    if (PUBLIC_PATHS.has(pathname)) {
      const file = pathname === '/login' ? '/login.html' : pathname;
      if (files.serve(req, res, file)) return undefined;
      return sendText(res, 404, 'not found');
    }
    if (!auth.isAuthenticated(req)) {
      if (pathname.startsWith('/api/') || pathname.startsWith('/stream/')) return sendJson(res, 401, { error: 'login required' });
      const camera = pathname === '/' ? url.searchParams.get('camera') : null;
      const next = camera && CAMERA_RE.test(camera) ? `?camera=${camera}` : '';
      res.writeHead(303, { Location: `/login${next}`, 'Cache-Control': 'no-store' });
      return res.end();
    }
    if (pathname.startsWith('/api/')) return handleApi(req, res, url);
    if (pathname.startsWith('/stream/')) {
      const sub = pathname.slice('/stream/'.length);
      if (!STREAM_PATH_RE.test(sub) || sub.split('/').includes('..')) return sendText(res, 400, 'bad stream path');
      return proxy.handle(req, res, sub + url.search);
    }
    const file = pathname === '/' ? '/index.html' : pathname;
    if (files.serve(req, res, file)) return undefined;
    return sendText(res, 404, 'not found');
  }

  const server = http.createServer({ requestTimeout: 30000, headersTimeout: 10000, maxHeaderSize: 16384 }, (req, res) => {
    route(req, res).catch((err) => {
      logger.error(`${req.method} ${req.url}: ${err.stack || err.message}`);
      if (!res.headersSent) sendText(res, 500, 'internal error');
      else res.destroy();
    });
  });
  // WebSocket video (the relay's low-latency path): session checked here, then piped unchanged.
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url;
    try {
      url = new URL(req.url, 'http://ui.local');
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const sub = url.pathname.startsWith('/stream/') ? url.pathname.slice('/stream/'.length) : null;
    if (sub === null || !STREAM_PATH_RE.test(sub) || sub.split('/').includes('..')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!auth.isAuthenticated(req)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    proxy.upgrade(req, socket, head, sub + url.search);
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

module.exports = { createServer, SECURITY_HEADERS, MAX_BODY, MAX_GEOMETRY_BODY };
