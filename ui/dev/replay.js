#!/usr/bin/env node
'use strict';
// Development helper: publishes realistic Edgewatch messages (docs/mqtt.md) for a simulated camera,
// so the page can be worked on without a worker. People arrive, cross the door line, sit at the
// table zone and leave; events are sometimes sent twice (as QoS 1 may), to show de-duplication.
//
//   node ui/dev/replay.js [--url mqtt://127.0.0.1:1883] [--camera cam1] [--seconds 0=forever]
//                         [--speed 1] [--segmentation] [--username u --password p]

const crypto = require('node:crypto');
const path = require('node:path');
const { createRequire } = require('node:module');

const mqtt = createRequire(path.join(__dirname, '..', 'package.json'))('mqtt');

function args(argv) {
  const o = { url: 'mqtt://127.0.0.1:1883', camera: 'cam1', seconds: 0, speed: 1, segmentation: false, prefix: 'edgewatch' };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'segmentation') o.segmentation = true;
    else o[k] = argv[++i];
  }
  o.seconds = Number(o.seconds);
  o.speed = Number(o.speed);
  return o;
}

function main() {
  const o = args(process.argv);
  const base = `${o.prefix}/${o.camera}`;
  const t0 = Date.now();
  const now = () => Date.now() / 1000;
  const videoS = () => ((Date.now() - t0) / 1000) * o.speed;
  const client = mqtt.connect(o.url, {
    username: o.username, password: o.password, keepalive: 5,
    will: { topic: `${base}/status`, payload: JSON.stringify({ state: 'offline', ts: now(), camera: o.camera, source: 'replay', reason: 'lost' }), qos: 1, retain: true },
  });
  let seq = 0, nextId = 1, total = 0, durSum = 0, left = 0;
  const people = new Map(); // track id -> {enter_s, leave_at, atTable}
  const lines = { door: { in: 0, out: 0 } };
  const zones = { table: { occupancy: 0, entered: 0, max_dwell_s: 0 } };
  let nextArrival = 2;

  const pub = (kind, obj, opts = {}) => client.publish(`${base}/${kind}`, JSON.stringify(obj), opts);
  function event(type, extra) {
    seq += 1;
    const ev = { id: crypto.randomUUID(), seq, camera: o.camera, type, ts: now(), video_s: videoS(), ...extra };
    pub('events', ev, { qos: 1 });
    if (Math.random() < 0.2) pub('events', ev, { qos: 1 }); // a redelivery
  }

  client.on('connect', () => {
    console.log(`replay: publishing ${base}/* to ${o.url}`);
    pub('status', { state: 'online', ts: now(), camera: o.camera, source: 'replay' }, { qos: 1, retain: true });
  });
  client.on('error', (e) => console.error(`replay: ${e.message}`));

  const tick = setInterval(() => {
    const v = videoS();
    if (v >= nextArrival) {
      const id = nextId++;
      const stay = 6 + Math.random() * 18;
      people.set(id, { enter_s: v, leave_at: v + stay, atTable: false });
      total += 1;
      event('person_enter', { track_id: id, side: 'left' });
      lines.door.in += 1;
      event('line_cross', { track_id: id, line: 'door', direction: 'in' });
      nextArrival = v + 4 + Math.random() * 12;
    }
    for (const [id, p] of people) {
      if (!p.atTable && v - p.enter_s > 2) {
        p.atTable = true;
        zones.table.entered += 1;
        event('zone_enter', { track_id: id, zone: 'table' });
      }
      if (v >= p.leave_at) {
        const dur = v - p.enter_s;
        if (p.atTable) {
          const dwell = v - p.enter_s - 2;
          zones.table.max_dwell_s = Math.max(zones.table.max_dwell_s, dwell);
          event('zone_leave', { track_id: id, zone: 'table', dwell_s: dwell });
        }
        lines.door.out += 1;
        event('line_cross', { track_id: id, line: 'door', direction: 'out' });
        event('person_leave', { track_id: id, duration_s: dur, side: 'left' });
        durSum += dur;
        left += 1;
        people.delete(id);
      }
    }
    zones.table.occupancy = [...people.values()].filter((p) => p.atTable).length;
    if (people.size > 2 && Math.random() < 0.02) event('alert', { rule: 'max_people', value: people.size, limit: 2 });
    pub('state', {
      camera: o.camera, ts: now(), video_s: v, frame: Math.floor(v * 10), in_frame: people.size, total,
      avg_duration_s: left ? durSum / left : 0,
      tracks: [...people].map(([id, p], i) => ({ id, box: [100 + i * 120, 80, 200 + i * 120, 400], enter_s: p.enter_s, duration_s: v - p.enter_s })),
      lines, zones,
    }, { retain: true });
    if (o.segmentation) {
      const road = 0.35 + 0.1 * Math.sin(v / 5);
      pub('segmentation', { camera: o.camera, ts: now(), video_s: v, frame: Math.floor(v * 10), classes: { road, curb: 0.03, marking: 0.02, background: 1 - road - 0.05 } }, { retain: true });
    }
    if (o.seconds && (Date.now() - t0) / 1000 >= o.seconds) {
      clearInterval(tick);
      clearInterval(perfTick);
      pub('status', { state: 'offline', ts: now(), camera: o.camera, source: 'replay', reason: 'closed' }, { qos: 1, retain: true });
      client.end(false, {}, () => process.exit(0));
    }
  }, 250);

  const perfTick = setInterval(() => {
    pub('perf', {
      camera: o.camera, ts: now(), fps: 9.8 + Math.random() * 0.4, infer_ms_p50: 8 + Math.random(), infer_ms_p95: 9.5 + Math.random(),
      latency_ms_p50: 40 + Math.random() * 5, latency_ms_p95: 60 + Math.random() * 5, mqtt_bps: 800 + Math.random() * 100,
      video_bps: 98000 + Math.random() * 5000, model: 'person-detection-retail-0013', precision: 'FP16', device: 'CPU',
      frames: Math.floor(videoS() * 10),
    }, { retain: true });
  }, 2000);
}

main();
