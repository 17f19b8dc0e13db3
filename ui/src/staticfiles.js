'use strict';
// Serves a fixed set of files: everything under public/ (listed once at start) plus named extras.
// Request paths are looked up in that list, never joined onto the file system, so nothing outside
// public/ can be reached whatever the URL says.

const fs = require('node:fs');
const path = require('node:path');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

function listFiles(root, prefix = '') {
  const out = [];
  for (const ent of fs.readdirSync(root, { withFileTypes: true })) {
    if (ent.name.startsWith('.')) continue;
    const rel = `${prefix}/${ent.name}`;
    if (ent.isDirectory()) out.push(...listFiles(path.join(root, ent.name), rel));
    else if (ent.isFile()) out.push(rel);
  }
  return out;
}

class StaticFiles {
  /**
   * @param {string} root folder served at /
   * @param {Record<string,string>} extras URL path -> absolute file (e.g. a browser library from node_modules)
   */
  constructor(root, extras = {}) {
    this.files = new Map();
    for (const rel of listFiles(root)) this._add(rel, path.join(root, rel));
    for (const [url, file] of Object.entries(extras)) this._add(url, file);
  }

  _add(url, file) {
    const type = TYPES[path.extname(file)] || 'application/octet-stream';
    this.files.set(url, { file, type });
  }

  has(urlPath) {
    return this.files.has(urlPath);
  }

  /** Sends the file for urlPath; returns false when there is none. */
  serve(req, res, urlPath) {
    const f = this.files.get(urlPath);
    if (!f) return false;
    let st;
    try {
      st = fs.statSync(f.file);
    } catch {
      return false;
    }
    const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { ETag: etag });
      res.end();
      return true;
    }
    res.writeHead(200, { 'Content-Type': f.type, 'Content-Length': st.size, ETag: etag, 'Cache-Control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(f.file).on('error', () => res.destroy()).pipe(res);
    return true;
  }
}

module.exports = { StaticFiles };
