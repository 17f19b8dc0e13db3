'use strict';
// Server-sent events to browsers. Each client's unsent bytes are bounded: a tab that stops reading
// is disconnected (it reconnects and gets a fresh snapshot) instead of growing server memory.

class SseHub {
  /**
   * @param {{maxBufferedBytes?: number, maxClients?: number, heartbeatMs?: number, logger?: object}} opts
   */
  constructor({ maxBufferedBytes = 256 * 1024, maxClients = 100, heartbeatMs = 15000, logger } = {}) {
    this.maxBufferedBytes = maxBufferedBytes;
    this.maxClients = maxClients;
    this.logger = logger;
    this.clients = new Set();
    this.dropped = 0;
    this.sentBytes = 0;
    this.timer = setInterval(() => this._send(': ping\n\n'), heartbeatMs);
    this.timer.unref();
  }

  /** Takes over an HTTP response; `initial` events are sent first (the snapshot). Returns false if full. */
  add(req, res, initial = []) {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5' });
      res.end('too many live connections\n');
      return false;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    const remove = () => this.clients.delete(res);
    res.on('close', remove);
    req.on('close', remove);
    for (const [type, data] of initial) this._writeTo(res, SseHub.format(type, data));
    return true;
  }

  static format(type, data) {
    return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  /** Sends one event to all clients. */
  broadcast(type, data) {
    if (this.clients.size === 0) return;
    this._send(SseHub.format(type, data));
  }

  _send(text) {
    for (const res of this.clients) this._writeTo(res, text);
  }

  _writeTo(res, text) {
    if (res.destroyed) {
      this.clients.delete(res);
      return;
    }
    // writableLength = bytes Node holds for this socket that the peer has not taken yet.
    if (res.writableLength + text.length > this.maxBufferedBytes) {
      this.dropped += 1;
      this.clients.delete(res);
      this.logger?.warnLimited('sse-slow', `SSE client too slow (${res.writableLength} bytes pending): disconnected`);
      res.destroy();
      return;
    }
    this.sentBytes += text.length;
    res.write(text);
  }

  close() {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

module.exports = { SseHub };
