// The camera page: live video, numbers, chart, lines, zones, performance, segmentation and events of one camera.
import { PeopleChart } from './chart.js';
import { $, el, fmtBps, fmtInt, fmtMs, fmtPct, fmtSec, fmtTime, inputProblem, setPill, WORKER_CLASS, workerOf } from './fmt.js';
import { GeometryEditor } from './editor.js';
import { HistoryView } from './history.js';
import { play } from './player.js';

const MAX_EVENT_ROWS = 200;

function emptyRow(n, text) {
  const tr = el('tr');
  const td = el('td', text, 'muted');
  td.colSpan = n;
  tr.append(td);
  return tr;
}

function describe(ev) {
  switch (ev.type) {
    case 'person_enter': return `#${ev.track_id}${ev.side ? ` from ${ev.side}` : ''}`;
    case 'person_leave': return `#${ev.track_id}${ev.side ? ` to ${ev.side}` : ''}`;
    case 'line_cross': return `#${ev.track_id} ${ev.line} ${ev.direction}`;
    case 'zone_enter': return `#${ev.track_id} ${ev.zone}`;
    case 'zone_leave': return `#${ev.track_id} ${ev.zone}`;
    case 'alert': return `${ev.rule}${ev.zone ? ` in ${ev.zone}` : ''}: ${ev.value} > ${ev.limit}${ev.track_id != null ? ` (#${ev.track_id})` : ''}`;
    case 'class_begin': case 'class_end': return `${ev.class} ${ev.score != null ? ev.score.toFixed(2) : ''}`;
    case 'day_end': return `${ev.date}: ${ev.total} people${ev.avg_duration_s ? `, avg ${fmtSec(ev.avg_duration_s)}` : ''}`;
    case 'config_change': return `lines and zones saved by ${ev.by || '?'}: ${changed(ev)}`;
    case 'config_rejected': return `refused (${ev.by || '?'}): ${ev.reason}`;
    default: return ev.detail || '';
  }
}

/** "added entry; removed door (in 3, out 2)" from a config_change event. */
function changed(ev) {
  const parts = [];
  for (const kind of ['lines', 'zones']) {
    const c = ev[kind] || {};
    if (c.added?.length) parts.push(`added ${c.added.join(', ')}`);
    if (c.changed?.length) parts.push(`changed ${c.changed.join(', ')}`);
    for (const name of c.removed || []) {
      const last = ev.final?.[kind]?.[name];
      const counts = last ? (kind === 'lines' ? ` (in ${last.in}, out ${last.out})` : ` (entered ${last.entered})`) : '';
      parts.push(`removed ${name}${counts}`);
    }
  }
  return parts.join('; ') || 'no change';
}

function eventRow(ev, fresh) {
  const tr = el('tr', undefined, fresh ? 'new' : '');
  tr.dataset.id = ev.id;
  const dur = ev.duration_s ?? ev.dwell_s;
  tr.append(el('td', fmtTime(ev.ts)), el('td', ev.type.replace('_', ' ')), el('td', describe(ev)), el('td', dur != null ? fmtSec(dur) : ''));
  return tr;
}

export class CameraPage {
  /** @param {object} ui the page's shared state (app.js); ui.camera is the camera shown, null = none */
  constructor(ui) {
    this.ui = ui;
    this.mode = localStorage.getItem('edgewatch.mode') || 'live';
    this.stopVideo = null;
    this.videoKey = null;
    this.chart = new PeopleChart($('chart'));
    this.editor = new GeometryEditor(ui);
    this.history = new HistoryView($('camera-history'), () => ui.camera);
    for (const mode of ['live', 'hls']) {
      $(`mode-${mode}`).addEventListener('click', () => {
        this.mode = mode;
        localStorage.setItem('edgewatch.mode', mode);
        this.startVideo();
      });
    }
    setInterval(() => { if (this.shown) this.chart.draw(); }, 1000);
    window.addEventListener('resize', () => { if (this.shown) this.chart.draw(); });
  }

  get shown() {
    return !$('camera-page').hidden;
  }

  get cam() {
    return this.ui.cameras[this.ui.camera] || {};
  }

  /** Shows ui.camera from scratch: numbers, chart, stored events, video. */
  show() {
    $('camera-page').hidden = false;
    $('health-worker').hidden = false;
    $('events').replaceChildren();
    this.refresh();
    this.editor.show();
    this.history.load();
  }

  /** Re-renders everything (a new snapshot) and fetches the events missed meanwhile. */
  refresh() {
    this.chart.setSeries(this.ui.series[this.ui.camera] || []);
    this.chart.draw();
    this.renderAll();
    this.loadEvents();
    this.startVideo();
  }

  /** Leaves the page: the video stops, so the overview costs no video bandwidth. */
  hide() {
    $('camera-page').hidden = true;
    $('health-worker').hidden = true;
    this.editor.hide();
    if (this.stopVideo) this.stopVideo();
    this.stopVideo = null;
    this.videoKey = null;
  }

  renderAll() {
    this.renderState();
    this.renderPerf();
    this.renderSegmentation();
    this.renderHealth();
  }

  /** A live message of ui.camera. */
  onKind(kind, value) {
    if (kind === 'state') {
      this.chart.add(Date.now() / 1000, value.in_frame);
      this.renderState();
    } else if (kind === 'perf') this.renderPerf();
    else if (kind === 'segmentation') this.renderSegmentation();
    else if (kind === 'status') this.renderHealth();
    else if (kind === 'geometry') this.editor.onGeometry(value);
  }

  renderState() {
    const s = this.cam.state;
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

  renderPerf() {
    const p = this.cam.perf;
    $('perf-fps').textContent = p && p.fps != null ? p.fps.toFixed(1) : '–';
    $('perf-infer').textContent = p ? fmtMs(p.infer_ms_p50, p.infer_ms_p95) : '–';
    $('perf-latency').textContent = p ? fmtMs(p.latency_ms_p50, p.latency_ms_p95) : '–';
    $('perf-model').textContent = (p && p.model) || '–';
    $('perf-device').textContent = p ? `${p.precision || '–'} · ${p.device || '–'}` : '–';
    $('perf-frames').textContent = p ? fmtInt(p.frames) : '–';
    $('perf-mqtt').textContent = p ? fmtBps(p.mqtt_bps) : '–';
    $('perf-video').textContent = p ? fmtBps(p.video_bps) : '–';
    // Only workers that skip frames (detect.fps, motion gate) report it.
    const skipped = p && p.skipped_share != null;
    $('perf-skipped-label').hidden = !skipped;
    $('perf-skipped').hidden = !skipped;
    if (skipped) $('perf-skipped').textContent = fmtPct(p.skipped_share) + (p.detect_fps != null ? ` · detector ${p.detect_fps.toFixed(1)} fps` : '');
    const h = this.ui.health;
    $('perf-ui').textContent = h ? `${fmtBps(h.mqtt_in_bps)} · ${fmtBps(h.video_out_bps)}` : '–';
  }

  renderSegmentation() {
    const seg = this.cam.segmentation;
    $('seg-card').hidden = !seg;
    if (!seg) return;
    const rows = Object.entries(seg.classes).sort((a, b) => b[1] - a[1]);
    $('seg').replaceChildren(...rows.map(([name, share]) => {
      const li = el('li');
      const bar = el('span', undefined, 'bar');
      const fill = el('span');
      fill.style.width = `${(share * 100).toFixed(1)}%`;
      bar.append(fill);
      li.append(el('span', name), bar, el('span', fmtPct(share)));
      return li;
    }));
  }

  /** The worker pill and the input note of this camera (broker and stream are the header's, app.js). */
  renderHealth() {
    const w = workerOf(this.ui, this.ui.camera);
    setPill($('health-worker'), WORKER_CLASS[w.state] || 'unknown', w.state);
    const problem = inputProblem(this.ui, this.ui.camera);
    $('input-state').hidden = !problem;
    if (problem) $('input-state').textContent = problem.detail ? `${problem.text}: ${problem.detail}` : problem.text;
    this.renderPerf();
  }

  async loadEvents() {
    const camera = this.ui.camera;
    const r = await fetch(`/api/events?limit=${MAX_EVENT_ROWS}&camera=${encodeURIComponent(camera)}`);
    if (r.status === 401) { location.reload(); return; } // the server sends it to /login (keeping ?camera=)
    const { events } = await r.json();
    if (camera !== this.ui.camera) return; // the visitor moved on meanwhile
    $('events').replaceChildren(...events.map((e) => eventRow(e, false)));
    $('events-csv').href = `/api/events.csv?camera=${encodeURIComponent(camera)}`;
  }

  addEvent(ev) {
    if (!this.shown || ev.camera !== this.ui.camera) return;
    const body = $('events');
    if (body.querySelector(`tr[data-id="${CSS.escape(ev.id)}"]`)) return;
    body.prepend(eventRow(ev, true));
    while (body.children.length > MAX_EVENT_ROWS) body.lastElementChild.remove();
  }

  startVideo() {
    const { config, camera } = this.ui;
    if (!config || !camera) return;
    const key = `${camera}/${this.mode}`;
    if (this.stopVideo && this.videoKey === key) return;
    if (this.stopVideo) this.stopVideo();
    const tmpl = this.mode === 'hls' ? config.hls_path : config.live_path;
    const path = config.stream_base + tmpl.replace('{camera}', encodeURIComponent(camera));
    this.videoKey = key;
    $('mode-live').classList.toggle('on', this.mode === 'live');
    $('mode-hls').classList.toggle('on', this.mode === 'hls');
    this.stopVideo = play($('video'), this.mode, path, (s) => { $('video-state').textContent = s; });
  }
}
