// The live page: one EventSource for everything, the chart redrawn once a second, video via player.js.
import { PeopleChart } from './chart.js';
import { play } from './player.js';

const $ = (id) => document.getElementById(id);
const MAX_EVENT_ROWS = 200;

const ui = {
  config: null,
  cameras: {}, // id -> {status, state, perf, segmentation, worker}
  health: null,
  camera: localStorage.getItem('edgewatch.camera') || null,
  mode: localStorage.getItem('edgewatch.mode') || 'live',
  stopVideo: null,
  videoCamera: null,
  chart: new PeopleChart($('chart')),
  series: {}, // id -> [[sec, value]]
};

// ---------- formatting ----------
const fmtInt = (v) => (v === null || v === undefined ? '–' : String(v));
const fmtSec = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')} min`;
};
const fmtMs = (a, b) => (a == null ? '–' : `${a.toFixed(1)} / ${b == null ? '–' : b.toFixed(1)} ms`);
const fmtBps = (v) => {
  if (v === null || v === undefined) return '–';
  const bits = v * 8;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(2)} Mbit/s`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)} kbit/s`;
  return `${bits.toFixed(0)} bit/s`;
};
const fmtTime = (ts) => new Date(ts * 1000).toLocaleTimeString([], { hour12: false });

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function setPill(id, cls, text) {
  const li = $(id);
  li.className = `pill ${cls}`;
  li.querySelector('b').textContent = text;
}

// ---------- rendering ----------
function renderCameraList() {
  const sel = $('camera');
  const ids = Object.keys(ui.cameras).sort();
  if (!ui.camera || !ids.includes(ui.camera)) ui.camera = ids[0] || null;
  const current = [...sel.options].map((o) => o.value).join(',');
  if (current !== ids.join(',')) {
    sel.replaceChildren(...ids.map((id) => el('option', id)));
  }
  if (ui.camera) sel.value = ui.camera;
}

function renderState() {
  const cam = ui.cameras[ui.camera] || {};
  const s = cam.state;
  $('in-frame').textContent = s ? fmtInt(s.in_frame) : '–';
  $('total').textContent = s ? fmtInt(s.total) : '–';
  $('avg-duration').textContent = s ? fmtSec(s.avg_duration_s) : '–';
  $('video-s').textContent = s && s.video_s != null ? fmtSec(s.video_s) : '–';
  const lines = Object.entries((s && s.lines) || {});
  $('lines').replaceChildren(...(lines.length ? lines.map(([name, v]) => {
    const tr = el('tr');
    tr.append(el('td', name), el('td', fmtInt(v.in)), el('td', fmtInt(v.out)));
    return tr;
  }) : [emptyRow(3, 'no lines configured')]));
  const zones = Object.entries((s && s.zones) || {});
  $('zones').replaceChildren(...(zones.length ? zones.map(([name, v]) => {
    const tr = el('tr');
    tr.append(el('td', name), el('td', fmtInt(v.occupancy)), el('td', fmtInt(v.entered)), el('td', fmtSec(v.max_dwell_s)));
    return tr;
  }) : [emptyRow(4, 'no zones configured')]));
}

function emptyRow(n, text) {
  const tr = el('tr');
  const td = el('td', text, 'muted');
  td.colSpan = n;
  tr.append(td);
  return tr;
}

function renderPerf() {
  const p = (ui.cameras[ui.camera] || {}).perf;
  $('perf-fps').textContent = p && p.fps != null ? p.fps.toFixed(1) : '–';
  $('perf-infer').textContent = p ? fmtMs(p.infer_ms_p50, p.infer_ms_p95) : '–';
  $('perf-latency').textContent = p ? fmtMs(p.latency_ms_p50, p.latency_ms_p95) : '–';
  $('perf-model').textContent = (p && p.model) || '–';
  $('perf-device').textContent = p ? `${p.precision || '–'} · ${p.device || '–'}` : '–';
  $('perf-frames').textContent = p ? fmtInt(p.frames) : '–';
  $('perf-mqtt').textContent = p ? fmtBps(p.mqtt_bps) : '–';
  $('perf-video').textContent = p ? fmtBps(p.video_bps) : '–';
  const h = ui.health;
  $('perf-ui').textContent = h ? `${fmtBps(h.mqtt_in_bps)} · ${fmtBps(h.video_out_bps)}` : '–';
}

function renderSegmentation() {
  const seg = (ui.cameras[ui.camera] || {}).segmentation;
  $('seg-card').hidden = !seg;
  if (!seg) return;
  const rows = Object.entries(seg.classes).sort((a, b) => b[1] - a[1]);
  $('seg').replaceChildren(...rows.map(([name, share]) => {
    const li = el('li');
    const bar = el('span', undefined, 'bar');
    const fill = el('span');
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    bar.append(fill);
    li.append(el('span', name), bar, el('span', `${(share * 100).toFixed(1)} %`));
    return li;
  }));
}

function renderHealth() {
  const h = ui.health;
  if (!h) return;
  const w = h.workers[ui.camera] || (ui.cameras[ui.camera] || {}).worker || { state: 'unknown' };
  const wc = { online: 'ok', offline: 'bad', stale: 'warn' }[w.state] || 'unknown';
  setPill('health-worker', wc, w.state);
  setPill('health-broker', h.broker.connected ? 'ok' : 'bad', h.broker.connected ? 'connected' : 'down');
  const st = h.stream;
  const cam = st.cameras && st.cameras[ui.camera];
  if (st.ok === null) setPill('health-stream', 'unknown', '…');
  else if (!st.ok) setPill('health-stream', 'bad', 'unreachable');
  else if (st.status >= 500) setPill('health-stream', 'warn', `degraded (${st.detail})`);
  else if (cam && !cam.live) setPill('health-stream', 'warn', 'no video');
  else setPill('health-stream', 'ok', cam ? 'live' : 'reachable');
  renderPerf();
}

function describe(ev) {
  switch (ev.type) {
    case 'person_enter': return `#${ev.track_id}${ev.side ? ` from ${ev.side}` : ''}`;
    case 'person_leave': return `#${ev.track_id}${ev.side ? ` to ${ev.side}` : ''}`;
    case 'line_cross': return `#${ev.track_id} ${ev.line} ${ev.direction}`;
    case 'zone_enter': return `#${ev.track_id} ${ev.zone}`;
    case 'zone_leave': return `#${ev.track_id} ${ev.zone}`;
    case 'alert': return `${ev.rule}: ${ev.value} > ${ev.limit}${ev.track_id != null ? ` (#${ev.track_id})` : ''}`;
    case 'class_begin': case 'class_end': return `${ev.class} ${ev.score != null ? ev.score.toFixed(2) : ''}`;
    case 'day_end': return `${ev.date}: ${ev.total} people${ev.avg_duration_s ? `, avg ${fmtSec(ev.avg_duration_s)}` : ''}`;
    default: return ev.detail || '';
  }
}

function eventRow(ev, fresh) {
  const tr = el('tr', undefined, fresh ? 'new' : '');
  tr.dataset.id = ev.id;
  const dur = ev.duration_s ?? ev.dwell_s;
  tr.append(el('td', fmtTime(ev.ts)), el('td', ev.type.replace('_', ' ')), el('td', describe(ev)), el('td', dur != null ? fmtSec(dur) : ''));
  return tr;
}

async function loadEvents() {
  if (!ui.camera) return;
  const r = await fetch(`/api/events?limit=${MAX_EVENT_ROWS}&camera=${encodeURIComponent(ui.camera)}`);
  if (r.status === 401) { location.href = '/login'; return; }
  const { events } = await r.json();
  $('events').replaceChildren(...events.map((e) => eventRow(e, false)));
  $('events').closest('.events-card').querySelector('a.btn').href = `/api/events.csv?camera=${encodeURIComponent(ui.camera)}`;
}

function addEvent(ev) {
  if (ev.camera !== ui.camera) return;
  const body = $('events');
  if (body.querySelector(`tr[data-id="${CSS.escape(ev.id)}"]`)) return;
  body.prepend(eventRow(ev, true));
  while (body.children.length > MAX_EVENT_ROWS) body.lastElementChild.remove();
}

function startVideo() {
  if (!ui.config || !ui.camera) return;
  if (ui.stopVideo && ui.videoCamera === ui.camera && ui.videoMode === ui.mode) return;
  if (ui.stopVideo) ui.stopVideo();
  const tmpl = ui.mode === 'hls' ? ui.config.hls_path : ui.config.live_path;
  const path = ui.config.stream_base + tmpl.replace('{camera}', encodeURIComponent(ui.camera));
  ui.videoCamera = ui.camera;
  ui.videoMode = ui.mode;
  $('mode-live').classList.toggle('on', ui.mode === 'live');
  $('mode-hls').classList.toggle('on', ui.mode === 'hls');
  ui.stopVideo = play($('video'), ui.mode, path, (s) => { $('video-state').textContent = s; });
}

function selectCamera(id) {
  ui.camera = id;
  localStorage.setItem('edgewatch.camera', id);
  ui.chart.setSeries(ui.series[id] || []);
  renderAll();
  loadEvents();
  startVideo();
}

function renderAll() {
  renderCameraList();
  renderState();
  renderPerf();
  renderSegmentation();
  renderHealth();
}

// ---------- live updates ----------
function onSnapshot(snap) {
  const before = ui.camera;
  ui.cameras = snap.cameras;
  ui.health = snap.health;
  for (const [id, c] of Object.entries(snap.cameras)) ui.series[id] = c.series;
  renderCameraList();
  if (ui.camera !== before || !ui.videoCamera) {
    selectCamera(ui.camera);
  } else {
    ui.chart.setSeries(ui.series[ui.camera] || []);
    renderAll();
    loadEvents(); // events missed while disconnected
  }
}

function onKind(kind, { camera, value, worker }) {
  const isNew = !ui.cameras[camera];
  const cam = ui.cameras[camera] || (ui.cameras[camera] = {});
  cam[kind] = value;
  if (worker) {
    cam.worker = worker;
    if (ui.health) ui.health.workers[camera] = worker; // shows offline now, not at the next health tick
  }
  if (kind === 'state') {
    const s = ui.series[camera] || (ui.series[camera] = []);
    const sec = Math.floor(Date.now() / 1000);
    const last = s[s.length - 1];
    if (last && last[0] === sec) last[1] = Math.max(last[1], value.in_frame);
    else s.push([sec, value.in_frame]);
    if (s.length > 700) s.splice(0, s.length - 700);
    if (camera === ui.camera) ui.chart.add(sec, value.in_frame);
  }
  if (isNew) {
    renderCameraList();
    if (ui.camera === camera) selectCamera(camera);
  }
  if (camera !== ui.camera) return;
  if (kind === 'state') renderState();
  else if (kind === 'perf') renderPerf();
  else if (kind === 'segmentation') renderSegmentation();
  else if (kind === 'status') renderHealth();
}

function connect() {
  const es = new EventSource('/api/live');
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  for (const kind of ['state', 'perf', 'status', 'segmentation']) {
    es.addEventListener(kind, (e) => onKind(kind, JSON.parse(e.data)));
  }
  es.addEventListener('event', (e) => addEvent(JSON.parse(e.data)));
  es.addEventListener('health', (e) => { ui.health = JSON.parse(e.data); renderHealth(); });
  es.onerror = async () => {
    setPill('health-broker', 'unknown', 'UI unreachable');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gives up on a non-200 (e.g. the session expired): check, then retry or log in.
      const r = await fetch('/api/state').catch(() => null);
      if (r && r.status === 401) { location.href = '/login'; return; }
      setTimeout(connect, 2000);
    }
  };
}

// ---------- start ----------
$('camera').addEventListener('change', (e) => selectCamera(e.target.value));
for (const mode of ['live', 'hls']) {
  $(`mode-${mode}`).addEventListener('click', () => {
    ui.mode = mode;
    localStorage.setItem('edgewatch.mode', mode);
    startVideo();
  });
}
setInterval(() => ui.chart.draw(), 1000);
window.addEventListener('resize', () => ui.chart.draw());

fetch('/api/config').then(async (r) => {
  if (r.status === 401) { location.href = '/login'; return; }
  ui.config = await r.json();
  connect();
});
