'use strict';
// Password login with in-memory sessions and a per-client slow-down after failed attempts.

const crypto = require('node:crypto');

const COOKIE = 'ew_session';

function sha256(s) {
  return crypto.createHash('sha256').update(s, 'utf8').digest();
}

function parseCookies(header) {
  const out = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

class Auth {
  /**
   * @param {string} password
   * @param {{secureCookie?: boolean, ttlMs?: number, maxSessions?: number, baseDelayMs?: number,
   *          maxDelayMs?: number, now?: () => number}} opts
   */
  constructor(password, { secureCookie = false, ttlMs = 7 * 86400e3, maxSessions = 1000, baseDelayMs = 500,
    maxDelayMs = 8000, now = Date.now } = {}) {
    this.passwordHash = sha256(password);
    this.secureCookie = secureCookie;
    this.ttlMs = ttlMs;
    this.maxSessions = maxSessions;
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.now = now;
    this.sessions = new Map(); // token -> expiry ms; Map keeps insertion order for eviction
    this.failures = new Map(); // client key -> {count, last}
    this.pending = new Set(); // clients with an attempt in progress: parallel guesses are refused
  }

  /** Delay before answering a login from this client: doubles with each recent failure. */
  delayFor(clientKey) {
    const f = this.failures.get(clientKey);
    if (!f || this.now() - f.last > 15 * 60e3) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (f.count - 1));
  }

  /**
   * Checks a password attempt; resolves to {token} (null when wrong) or {busy: true} when the same
   * client already has an attempt in flight. Attempts after failures wait a growing delay.
   */
  async login(clientKey, attempt) {
    if (this.pending.has(clientKey)) return { token: null, busy: true };
    this.pending.add(clientKey);
    try {
      return { token: await this._check(clientKey, attempt), busy: false };
    } finally {
      this.pending.delete(clientKey);
    }
  }

  async _check(clientKey, attempt) {
    const delay = this.delayFor(clientKey);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const ok = typeof attempt === 'string' && crypto.timingSafeEqual(sha256(attempt), this.passwordHash);
    if (!ok) {
      const f = this.failures.get(clientKey) || { count: 0, last: 0 };
      f.count += 1;
      f.last = this.now();
      this.failures.delete(clientKey);
      this.failures.set(clientKey, f);
      if (this.failures.size > 10000) this.failures.delete(this.failures.keys().next().value);
      return null;
    }
    this.failures.delete(clientKey);
    const token = crypto.randomBytes(32).toString('base64url');
    this.sessions.set(token, this.now() + this.ttlMs);
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value);
    return token;
  }

  /** True when the request carries a live session cookie. */
  /** Who saved a change, for the audit trail: a short digest of the session, never the token itself. */
  sessionLabel(req) {
    const token = parseCookies(req.headers.cookie)[COOKIE];
    return token ? `session ${sha256(token).toString('hex').slice(0, 12)}` : 'session ?';
  }

  isAuthenticated(req) {
    const token = parseCookies(req.headers.cookie)[COOKIE];
    if (!token) return false;
    const exp = this.sessions.get(token);
    if (!exp) return false;
    if (exp < this.now()) {
      this.sessions.delete(token);
      return false;
    }
    return true;
  }

  logout(req) {
    const token = parseCookies(req.headers.cookie)[COOKIE];
    if (token) this.sessions.delete(token);
  }

  sessionCookie(token) {
    const maxAge = Math.floor(this.ttlMs / 1000);
    return `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${this.secureCookie ? '; Secure' : ''}`;
  }

  clearCookie() {
    return `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.secureCookie ? '; Secure' : ''}`;
  }
}

module.exports = { Auth, parseCookies, COOKIE };
