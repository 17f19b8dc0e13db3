// The page: one EventSource for everything; the overview of all cameras at /, a camera's page at
// /?camera=<id> (linkable; switched in place with the History API, so the live connection stays).
import { CameraPage } from './camera.js';
import { $, el, setPill } from './fmt.js';
import { Overview } from './overview.js';

const CAMERA_RE = /^[A-Za-z0-9_-]{1,64}$/;

const ui = {
  config: null,
  cameras: {}, // id -> {status, state, perf, segmentation, worker, input}
  health: null,
  series: {}, // id -> [[sec, value]]
  camera: null, // the camera whose page is shown; null = the overview
};
const cameraPage = new CameraPage(ui);
const overview = new Overview(ui, (id) => go(id));

// ---------- routing ----------
function routeCamera() {
  const c = new URLSearchParams(location.search).get('camera');
  return c && CAMERA_RE.test(c) ? c : null;
}

function go(camera) {
  const url = camera ? `/?camera=${encodeURIComponent(camera)}` : '/';
  if (`${location.pathname}${location.search}` !== url) history.pushState(null, '', url);
  applyRoute();
}

function applyRoute() {
  const camera = routeCamera();
  const changed = camera !== ui.camera || (camera && !cameraPage.shown);
  ui.camera = camera;
  document.title = camera ? `${camera} · Edgewatch` : 'Edgewatch';
  $('back').hidden = !camera;
  renderCameraList();
  renderHeaderHealth();
  if (!camera) {
    cameraPage.hide();
    overview.show();
  } else if (changed) {
    overview.hide();
    cameraPage.show();
  }
}

/** Plain left clicks on the links to the overview switch in place. */
for (const id of ['home', 'back']) {
  $(id).addEventListener('click', (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    go(null);
  });
}
window.addEventListener('popstate', applyRoute);
$('camera').addEventListener('change', (e) => go(e.target.value || null));

// ---------- header ----------
function renderCameraList() {
  const sel = $('camera');
  const ids = Object.keys(ui.cameras).sort();
  if (ui.camera && !ids.includes(ui.camera)) ids.push(ui.camera); // linked before it published
  const current = [...sel.options].slice(1).map((o) => o.value).join(',');
  if (current !== ids.join(',')) sel.replaceChildren(sel.options[0], ...ids.map((id) => el('option', id)));
  sel.value = ui.camera || '';
}

/** Broker and stream pills; the stream says whether the relay has video for the camera shown. */
function renderHeaderHealth() {
  const h = ui.health;
  if (!h) return;
  setPill($('health-broker'), h.broker.connected ? 'ok' : 'bad', h.broker.connected ? 'connected' : 'down');
  const st = h.stream;
  const cam = ui.camera && st.cameras && st.cameras[ui.camera];
  if (st.ok === null) setPill($('health-stream'), 'unknown', '…');
  else if (!st.ok) setPill($('health-stream'), 'bad', 'unreachable');
  else if (st.status >= 500) setPill($('health-stream'), 'warn', `degraded (${st.detail})`);
  else if (cam && !cam.live) setPill($('health-stream'), 'warn', 'no video');
  else setPill($('health-stream'), 'ok', cam ? 'live' : 'reachable');
}

// ---------- live updates ----------
function onSnapshot(snap) {
  ui.cameras = snap.cameras;
  ui.health = snap.health;
  for (const [id, c] of Object.entries(snap.cameras)) ui.series[id] = c.series;
  renderCameraList();
  renderHeaderHealth();
  if (ui.camera) cameraPage.refresh(); // also fetches events missed while disconnected
  else overview.render();
}

function onKind(kind, { camera, value, worker, input }) {
  const isNew = !ui.cameras[camera];
  const cam = ui.cameras[camera] || (ui.cameras[camera] = {});
  cam[kind] = value;
  if (input !== undefined) cam.input = input;
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
  }
  if (isNew) renderCameraList();
  if (camera === ui.camera) cameraPage.onKind(kind, value);
  overview.update(camera);
}

function onInput({ camera, input }) {
  if (!ui.cameras[camera]) return;
  ui.cameras[camera].input = input;
  if (camera === ui.camera) cameraPage.renderHealth();
  overview.update(camera);
}

function onHealth(h) {
  ui.health = h;
  renderHeaderHealth();
  if (ui.camera) cameraPage.renderHealth();
  else overview.render();
}

function connect() {
  const es = new EventSource('/api/live');
  es.addEventListener('snapshot', (e) => onSnapshot(JSON.parse(e.data)));
  for (const kind of ['state', 'perf', 'status', 'segmentation', 'geometry']) {
    es.addEventListener(kind, (e) => onKind(kind, JSON.parse(e.data)));
  }
  es.addEventListener('input', (e) => onInput(JSON.parse(e.data)));
  es.addEventListener('event', (e) => cameraPage.addEvent(JSON.parse(e.data)));
  es.addEventListener('health', (e) => onHealth(JSON.parse(e.data)));
  es.onerror = async () => {
    setPill($('health-broker'), 'unknown', 'UI unreachable');
    if (es.readyState === EventSource.CLOSED) {
      // The browser gives up on a non-200 (e.g. the session expired): check, then retry or log in.
      const r = await fetch('/api/state').catch(() => null);
      if (r && r.status === 401) { location.reload(); return; } // to /login, keeping ?camera=
      setTimeout(connect, 2000);
    }
  };
}

// ---------- start ----------
fetch('/api/config').then(async (r) => {
  if (r.status === 401) { location.reload(); return; } // the server sends it to /login (keeping ?camera=)
  ui.config = await r.json();
  applyRoute();
  connect();
});
