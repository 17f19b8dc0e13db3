#!/usr/bin/env node
'use strict';
// Memory of the UI server under a sped-up day: is it flat, or does it grow without bound?
//
// The 30-minute stack soak (bench/soak.py) sees the UI at real rate (4 states/s, ~1 event per 10 s),
// too slow to tell "V8 settling" from "a leak". This runs the real server (node ui/src/main.js) on a
// real Mosquitto and feeds it --speed times the real message rate, with what a browser does: an SSE
// client reading the live feed, and the page's history calls every 10 s. Every --interval s it reads
// the server's RSS (/proc/<pid>/status); it prints the least-squares slope after the warm-up, per wall
// hour and per hour of real traffic (wall slope / speed), and the history file size.
//
//   node bench/ui_memory.js [--minutes 10] [--speed 20] [--warmup 2] [--interval 5] [--csv out.csv]
//                           [--without sse|poll|events|state ...]   (leave a load out, to find what grows)
//                           [--node-flag FLAG ...]                  (a flag for the server's node, e.g. --max-old-space-size=64)
//                           [--env NAME=VALUE ...]                  (the server's environment, e.g. MALLOC_ARENA_MAX=2)
//                           [--prefill N]                           (start with N stored events: 30 days of the course video ~ 220000)
//
// Exit 0 when the RSS slope after the warm-up is under --max-slope MiB per hour of real traffic.
// Needs Debian's mosquitto and ui/node_modules (npm ci in ui/).

const fs = require('node:fs');
const path = require('node:path');
const h = require('../tests/unit/ui/helpers');

function args(argv) {
  const o = { minutes: 10, speed: 20, warmup: 2, interval: 5, csv: null, maxSlope: 2, prefill: 0, without: new Set(), nodeArgs: [], env: {} };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--without') { // leave one load out, to find which part grows: sse, poll, events, state
      o.without.add(v);
      continue;
    }
    if (k === '--node-flag') { // a V8/Node flag for the server, e.g. --node-flag=--optimize-for-size
      o.nodeArgs.push(v);
      continue;
    }
    if (k === '--env' && /^[A-Z_][A-Z0-9_]*=/.test(v || '')) {
      const at = v.indexOf('=');
      o.env[v.slice(0, at)] = v.slice(at + 1);
      continue;
    }
    const key = { '--minutes': 'minutes', '--speed': 'speed', '--warmup': 'warmup', '--interval': 'interval', '--csv': 'csv', '--max-slope': 'maxSlope', '--prefill': 'prefill' }[k];
    if (!key || v === undefined) {
      console.error(`ui_memory: unknown or incomplete option ${k}`);
      process.exit(2);
    }
    o[key] = key === 'csv' ? v : Number(v);
    if (key !== 'csv' && !(o[key] > 0)) {
      console.error(`ui_memory: ${k} must be a positive number, got ${v}`);
      process.exit(2);
    }
  }
  return o;
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

/** Resident memory, and its anonymous part (the process's own; the rest is mapped files it may share). */
function memMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  };
  return { rss: kib('VmRSS'), anon: kib('RssAnon') };
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** A history of n events (the shape the worker sends), as a long-running box would have. */
async function prefill(dir, n) {
  const { Store } = require('../ui/src/store');
  const store = await Store.open(dir);
  const t0 = Date.now() / 1000 - 29 * 86400; // inside the 30-day retention
  store.db.transaction(() => {
    for (let i = 0; i < n; i += 1) {
      const ev = h.eventMsg('cam0', i + 1);
      ev.ts = t0 + (i * 29 * 86400) / n;
      store.addEvent(ev);
    }
  })();
  store.close();
  console.log(`ui_memory: history prefilled with ${n} events, ${(fs.statSync(path.join(dir, 'edgewatch-ui.sqlite')).size / 1048576).toFixed(1)} MiB`);
}

async function main() {
  const o = args(process.argv.slice(2));
  const broker = await h.startBroker();
  const data = h.tmpDir('memory');
  if (o.prefill) await prefill(data, o.prefill);
  const password = 'bench-pass';
  const ui = await h.startUi({ EDGEWATCH_MQTT_URL: broker.url, EDGEWATCH_UI_PASSWORD: password, EDGEWATCH_UI_DATA: data, ...o.env }, o.nodeArgs);
  const authed = await h.login(ui.base, password);
  const live = o.without.has('sse') ? { events: [], close() {} } : await h.sse(authed);
  const pub = await h.publisher(broker.url);
  const cam = 'cam1';
  // Real rates of the stack on the course video: state 4/s, perf 1/s, ~12 person + zone events per 139 s pass.
  const rates = { state: 4 * o.speed, perf: 1 * o.speed, events: (12 / 139) * o.speed };
  let seq = 0;
  let total = 0;
  let published = 0;
  const timers = [];
  const every = (hz, fn) => timers.push(setInterval(fn, Math.max(1, 1000 / hz)));
  if (!o.without.has('state')) every(rates.state, () => {
    total += Math.random() < 0.01 ? 1 : 0;
    const inFrame = Math.floor(Math.random() * 4);
    const tracks = Array.from({ length: inFrame }, (_, i) => ({ id: total + i, box: [10, 20, 110, 220], enter_s: 1, duration_s: 2 }));
    pub.publish(`edgewatch/${cam}/state`, h.stateMsg(cam, { in_frame: inFrame, total, tracks, frame: seq })).catch(() => {});
    published += 1;
  });
  every(rates.perf, () => {
    pub.publish(`edgewatch/${cam}/perf`, { camera: cam, ts: h.now(), fps: 10, infer_ms: { p50: 9, p95: 12 }, latency_ms: { p50: 40, p95: 60 }, mqtt_bps: 2000, video_bps: 90000, model: 'person-detection-retail-0013', precision: 'FP16', device: 'CPU' }).catch(() => {});
    published += 1;
  });
  if (!o.without.has('events')) every(rates.events, () => {
    seq += 1;
    pub.publish(`edgewatch/${cam}/events`, h.eventMsg(cam, seq), { qos: 1 }).catch(() => {});
    published += 1;
  });
  // What an open page asks for besides the live feed.
  if (!o.without.has('poll')) every(0.1, () => {
    authed('/api/events?limit=200').then((r) => r.arrayBuffer()).catch(() => {});
    authed('/api/counts?minutes=600').then((r) => r.arrayBuffer()).catch(() => {});
  });

  const t0 = Date.now();
  const samples = [];
  let cpu = NaN;
  const end = t0 + o.minutes * 60e3;
  console.log(`ui_memory: ${o.minutes} min at ${o.speed}x the stack's message rate (state ${rates.state}/s, events ${rates.events.toFixed(2)}/s), RSS every ${o.interval} s`);
  await new Promise((resolve) => {
    const tick = async () => {
      const t = (Date.now() - t0) / 1000;
      const { rss, anon } = memMiB(ui.proc.pid);
      // The server's own split of its memory: which part grows (JS heap, external buffers such as
      // SQLite's, or neither, i.e. the allocator) says where to look.
      const mem = await authed('/api/state').then((r) => r.json()).then((j) => j.health.server_memory).catch(() => ({}));
      samples.push({ t, rss, anon, events: seq, sse: live.events.length, heap: mem.heap_used_mib, ext: mem.external_mib, ab: mem.array_buffers_mib });
      if (samples.length % Math.max(1, Math.round(60 / o.interval)) === 0) {
        console.log(`  ${(t / 60).toFixed(1).padStart(5)} min  RSS ${rss.toFixed(1)} MiB (anonymous ${anon.toFixed(1)})  heap used ${mem.heap_used_mib} / total ${mem.heap_total_mib}  external ${mem.external_mib} (array buffers ${mem.array_buffers_mib})  events ${seq}  SSE messages ${live.events.length}`);
      }
      if (Date.now() >= end || ui.proc.exitCode !== null) {
        cpu = cpuSeconds(ui.proc.pid);
        return resolve();
      }
      return setTimeout(tick, o.interval * 1000);
    };
    tick();
  });
  for (const t of timers) clearInterval(t);
  live.close();
  await pub.end();
  const stored = await (await authed('/api/events?limit=1')).json();
  await ui.stop();
  await broker.stop();
  const dbFile = path.join(data, 'edgewatch-ui.sqlite');
  const dbKiB = fs.existsSync(dbFile) ? fs.statSync(dbFile).size / 1024 : 0;

  if (o.csv) fs.writeFileSync(o.csv, `t_s,rss_mib,anon_mib,heap_used_mib,external_mib,array_buffers_mib,events\n${samples.map((s) => `${s.t.toFixed(1)},${s.rss.toFixed(2)},${s.anon.toFixed(2)},${s.heap},${s.ext},${s.ab},${s.events}`).join('\n')}\n`);
  const after = samples.filter((s) => s.t >= o.warmup * 60);
  const half = samples.filter((s) => s.t >= (o.minutes * 60) / 2);
  const perHour = (ss, key = 'rss') => {
    const known = ss.filter((s) => s[key] !== undefined); // a health reading can fail under load
    return slope(known.map((s) => s.t / 3600), known.map((s) => s[key]));
  };
  const wall = perHour(after);
  const real = wall / o.speed;
  const rss = samples.map((s) => s.rss);
  console.log(`ui_memory: RSS first ${rss[0].toFixed(1)} MiB, last ${rss[rss.length - 1].toFixed(1)}, min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)}`);
  console.log(`ui_memory: slope after ${o.warmup} min warm-up: ${wall.toFixed(1)} MiB per wall hour = ${real.toFixed(2)} MiB per hour of real traffic; second half alone ${(perHour(half) / o.speed).toFixed(2)} MiB per real hour`);
  const partSlope = (key) => perHour(after, key) / o.speed;
  console.log(`ui_memory: per hour of real traffic after the warm-up: anonymous ${partSlope('anon').toFixed(2)} MiB, JS heap used ${partSlope('heap').toFixed(2)} MiB, external ${partSlope('ext').toFixed(2)} (array buffers ${partSlope('ab').toFixed(2)})`);
  console.log(`ui_memory: server CPU ${cpu.toFixed(1)} s in ${(o.minutes * 60).toFixed(0)} s = ${((100 * cpu) / (o.minutes * 60)).toFixed(1)} % of one core`);
  console.log(`ui_memory: ${published} messages published, ${seq} events (${stored.total} stored), history file ${dbKiB.toFixed(0)} KiB, ${live.events.length} SSE messages read, server exit ${ui.proc.exitCode ?? ui.proc.signalCode}`);
  const ok = real < o.maxSlope && ui.proc.exitCode === 0;
  console.log(`ui_memory: ${ok ? 'flat' : 'NOT flat'} (limit ${o.maxSlope} MiB per real hour)`);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(`ui_memory: ${err.message}`);
  process.exit(1);
});
