'use strict';
// Strangers at the real UI server (child process, real Mosquitto): raw request paths that try to
// leave public/, and the security headers on every kind of answer, errors included.
// (Login slow-down, cookie flags and basic traversal are in server.test.js.)

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { describe, it, before, after } = require('node:test');
const h = require('./helpers');

const PASSWORD = 'strangers are not welcome here';
const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'ui');

/** One request with the path sent byte for byte (fetch() would normalise the dots away). */
function raw(base, rawPath, headers = {}) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: rawPath, method: 'GET', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const TRAVERSALS = [
  '/../../etc/passwd', '/../../../../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2E/%2E%2E/etc/passwd',
  '/..%2f..%2fetc%2fpasswd', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/.%2e/.%2e/etc/passwd', '/..%5c..%5cpackage.json',
  '/..\\..\\package.json', '/%252e%252e/%252e%252e/etc/passwd', '//etc/passwd', '///etc/passwd',
  '/stream/../package.json', '/stream/../../etc/passwd', '/stream/..%2f..%2fpackage.json', '/stream/%2e%2e/%2e%2e/etc/passwd',
  '/stream/cam1/..%2f..%2f..%2fetc%2fpasswd', '/stream/cam1/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/stream/%2e%2e/src/main.js',
  '/public/../package.json', '/public/index.html', '/public/..%2fpackage.json', '/package.json', '/package-lock.json',
  '/src/main.js', '/src/auth.js', '/node_modules/mqtt/package.json', '/app.js/../../package.json',
  '/app.js%2f..%2f..%2fpackage.json', '/vendor/../../package.json', '/vendor/..%2f..%2fpackage.json', '/.env',
  '/.git/config', '/etc/passwd', '/index.html%00.js', '/%00/etc/passwd', '/index.html/', '/INDEX.HTML',
  'http://evil.example/../../etc/passwd',
];

describe('UI server against strangers', () => {
  let broker;
  let ui;
  let api;
  let passwdLine;
  let ownFiles;

  before(async () => {
    broker = await h.startBroker();
    ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_DATA: h.tmpDir('data'), EDGEWATCH_UI_PASSWORD: PASSWORD });
    api = await h.login(ui.base, PASSWORD);
    passwdLine = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('root:'));
    // Text that only the files outside public/ contain.
    ownFiles = [
      JSON.parse(fs.readFileSync(path.join(UI_DIR, 'package.json'), 'utf8')).name,
      fs.readFileSync(path.join(UI_DIR, 'src', 'auth.js'), 'utf8').split('\n')[1],
    ];
  });

  after(async () => {
    await ui?.stop();
    await broker?.stop();
  });

  it('serves nothing outside public/ whatever the path says, signed in or not', async () => {
    for (const cookie of [api.cookie, null]) {
      for (const p of TRAVERSALS) {
        const r = await raw(ui.base, p, cookie ? { cookie } : {});
        const allowed = cookie ? [400, 404] : [303, 400, 401, 404];
        assert.ok(allowed.includes(r.status), `${p} (${cookie ? 'signed in' : 'anonymous'}) answered ${r.status}`);
        assert.ok(!r.body.includes(passwdLine), `${p} served /etc/passwd`);
        for (const secret of ownFiles) assert.ok(!r.body.includes(secret), `${p} served a file outside public/`);
      }
    }
    // The refusals are not a broken session: the app's own files are served to it.
    assert.equal((await raw(ui.base, '/app.js', { cookie: api.cookie })).status, 200);
    assert.equal((await raw(ui.base, '/', { cookie: api.cookie })).status, 200);
    assert.ok(ownFiles.every((s) => s.length > 5), `nothing to compare with: ${ownFiles}`);
  });

  it('sets the security headers on pages, API answers and errors alike', async () => {
    const cases = [
      ['/', api.cookie, 200], ['/login', null, 200], ['/api/state', api.cookie, 200], ['/api/state', null, 401],
      ['/nope', api.cookie, 404], ['/stream/..%2f', api.cookie, 400], ['/%zz', api.cookie, 400], ['/healthz', null, 200],
    ];
    for (const [p, cookie, status] of cases) {
      const r = await raw(ui.base, p, cookie ? { cookie } : {});
      assert.equal(r.status, status, `${p} answered ${r.status}`);
      const csp = r.headers['content-security-policy'] || '';
      assert.match(csp, /(^|;\s*)default-src 'self'(;|$)/, `${p}: CSP ${csp}`);
      assert.match(csp, /(^|;\s*)frame-ancestors 'none'(;|$)/, `${p}: CSP ${csp}`);
      assert.ok(!/unsafe-(inline|eval)|\*/.test(csp), `${p}: CSP allows too much: ${csp}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      assert.equal(r.headers['x-frame-options'], 'DENY', p);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', p);
    }
  });
});
