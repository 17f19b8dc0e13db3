// Lines and zones of one camera, drawn over a still of its picture and edited there: draw, move and
// delete with the mouse or a finger (Pointer Events), name them, flip a line's "in" side, set the
// counting knobs. Coordinates are the camera's frame pixels (the SVG's viewBox is the frame), as in the
// YAML. Nothing changes until Save: PUT /api/cameras/<camera>/geometry, which answers once the worker
// applied it (or names the item and key it refused, shown next to the shape).
import { $ } from './fmt.js';

const SVG = 'http://www.w3.org/2000/svg';
const STILL_MS = 2000;

function svg(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

const copy = (g) => JSON.parse(JSON.stringify({ lines: g.lines || [], zones: g.zones || [] }));
const round = (v) => Math.round(v * 10) / 10;

/** A free name: "line 1", "line 2", ... */
function freeName(items, stem) {
  for (let i = 1; ; i += 1) if (!items.some((it) => it.name === `${stem} ${i}`)) return `${stem} ${i}`;
}

export class GeometryEditor {
  constructor(ui) {
    this.ui = ui;
    this.saved = null; // the geometry the worker counts on (its geometry topic)
    this.model = null; // what is drawn: the saved one, or the edit in progress
    this.editing = false;
    this.tool = null; // 'line' | 'zone' while adding
    this.sel = null; // {kind: 'lines'|'zones', i}
    this.drag = null;
    this.error = null; // {key, text} of the last refused save
    this.stillTimer = null;
    this.svg = $('geo-svg');
    this.svg.addEventListener('pointerdown', (e) => this.down(e));
    this.svg.addEventListener('pointermove', (e) => this.move(e));
    this.svg.addEventListener('pointerup', (e) => this.up(e));
    this.svg.addEventListener('pointercancel', () => { this.drag = null; });
    $('geo-edit').addEventListener('click', () => this.start());
    $('geo-add-line').addEventListener('click', () => this.setTool('line'));
    $('geo-add-zone').addEventListener('click', () => this.setTool('zone'));
    $('geo-close-zone').addEventListener('click', () => this.closeZone());
    $('geo-delete').addEventListener('click', () => this.remove());
    $('geo-flip').addEventListener('click', () => this.flip());
    $('geo-save').addEventListener('click', () => this.save());
    $('geo-cancel').addEventListener('click', () => this.stop());
    for (const id of ['geo-name', 'geo-anchor', 'geo-knob', 'geo-max-people', 'geo-max-dwell']) {
      $(id).addEventListener('input', () => this.fromPanel());
    }
  }

  /** The camera page opened: its geometry from the API, then from the live topic. */
  async show() {
    this.stop();
    this.saved = null;
    this.render();
    this.refreshStill();
    clearInterval(this.stillTimer);
    this.stillTimer = setInterval(() => this.refreshStill(), STILL_MS);
    const camera = this.ui.camera;
    const r = await fetch(`/api/cameras/${encodeURIComponent(camera)}/geometry`).catch(() => null);
    if (r && r.ok && camera === this.ui.camera) this.onGeometry(await r.json());
  }

  hide() {
    clearInterval(this.stillTimer);
    this.stop();
  }

  /** The worker's geometry topic: what it counts on now. While editing, the edit stays as it is. */
  onGeometry(value) {
    this.saved = value;
    if (!this.editing) this.model = copy(value);
    this.render();
  }

  refreshStill() {
    const { config, camera } = this.ui;
    if (!config || !camera || document.hidden) return;
    const img = new Image();
    img.onload = () => { $('geo-still').src = img.src; $('geo-stage').dataset.still = 'ok'; };
    img.onerror = () => { $('geo-stage').dataset.still = 'none'; };
    img.src = `${config.stream_base}${config.still_path.replace('{camera}', encodeURIComponent(camera))}?t=${Date.now()}`;
  }

  start() {
    if (!this.saved) return;
    this.editing = true;
    this.model = copy(this.saved);
    this.error = null;
    this.status('Editing: nothing changes until you save.');
    this.render();
  }

  stop() {
    this.editing = false;
    this.tool = null;
    this.sel = null;
    this.drag = null;
    this.error = null;
    this.model = this.saved ? copy(this.saved) : null;
    this.status('');
    this.render();
  }

  setTool(tool) {
    this.tool = tool;
    this.sel = null;
    this.status(tool === 'line' ? 'Drag across the picture to draw the line.' : 'Click the corners of the zone, then "Close zone".');
    this.render();
  }

  status(text, bad = false) {
    const s = $('geo-status');
    s.textContent = text;
    s.classList.toggle('bad', bad);
  }

  /** Client coordinates to frame pixels (the viewBox), unclamped: a point may be dragged off the picture. */
  point(e) {
    const p = this.svg.createSVGPoint();
    p.x = e.clientX;
    p.y = e.clientY;
    const q = p.matrixTransform(this.svg.getScreenCTM().inverse());
    return [round(q.x), round(q.y)];
  }

  down(e) {
    if (!this.editing) return;
    const at = this.point(e);
    const target = e.target.dataset;
    this.svg.setPointerCapture(e.pointerId);
    if (this.tool === 'line') {
      const line = { name: freeName(this.model.lines, 'line'), points: [at, at] };
      this.model.lines.push(line);
      this.sel = { kind: 'lines', i: this.model.lines.length - 1 };
      this.drag = { vertex: 1 };
    } else if (this.tool === 'zone') {
      if (!this.sel || this.sel.kind !== 'zones' || this.sel.open !== true) {
        this.model.zones.push({ name: freeName(this.model.zones, 'zone'), polygon: [] });
        this.sel = { kind: 'zones', i: this.model.zones.length - 1, open: true };
      }
      this.model.zones[this.sel.i].polygon.push(at);
    } else if (target.kind) {
      this.sel = { kind: target.kind, i: Number(target.i) };
      this.drag = target.vertex !== undefined ? { vertex: Number(target.vertex) } : { from: at, orig: JSON.parse(JSON.stringify(this.shape())) };
    } else {
      this.sel = null;
    }
    this.render();
  }

  move(e) {
    if (!this.drag || !this.sel) return;
    const at = this.point(e);
    const shape = this.shape();
    const pts = this.sel.kind === 'lines' ? shape.points : shape.polygon;
    if (this.drag.vertex !== undefined) pts[this.drag.vertex] = at;
    else {
      const o = this.sel.kind === 'lines' ? this.drag.orig.points : this.drag.orig.polygon;
      const dx = at[0] - this.drag.from[0];
      const dy = at[1] - this.drag.from[1];
      o.forEach((p, k) => { pts[k] = [round(p[0] + dx), round(p[1] + dy)]; });
    }
    this.render();
  }

  up() {
    if (this.tool === 'line' && this.sel) {
      const [a, b] = this.shape().points;
      if (Math.hypot(b[0] - a[0], b[1] - a[1]) < 5) this.model.lines.splice(this.sel.i, 1); // a click, not a line
      this.tool = null;
      this.status('Editing: nothing changes until you save.');
    }
    this.drag = null;
    this.render();
  }

  closeZone() {
    if (this.sel && this.sel.open) {
      if (this.shape().polygon.length < 3) this.model.zones.splice(this.sel.i, 1);
      this.sel = { kind: 'zones', i: Math.min(this.sel.i, this.model.zones.length - 1) };
      if (this.sel.i < 0) this.sel = null;
    }
    this.tool = null;
    this.status('Editing: nothing changes until you save.');
    this.render();
  }

  shape() {
    return this.sel ? this.model[this.sel.kind][this.sel.i] : null;
  }

  remove() {
    if (!this.sel) return;
    this.model[this.sel.kind].splice(this.sel.i, 1);
    this.sel = null;
    this.render();
  }

  /** A line's "in" is crossing to the left of A->B as seen on screen: swapping A and B flips it. */
  flip() {
    if (!this.sel || this.sel.kind !== 'lines') return;
    this.shape().points.reverse();
    this.render();
  }

  fromPanel() {
    const s = this.shape();
    if (!s) return;
    s.name = $('geo-name').value;
    s.anchor = $('geo-anchor').value;
    const knob = Number($('geo-knob').value);
    if (Number.isInteger(knob) && knob >= 1) s[this.sel.kind === 'lines' ? 'min_frames' : 'inertia'] = knob;
    if (this.sel.kind === 'zones') {
      // Empty = no alert; what is typed goes as it is, so a bad value is refused by name, not dropped.
      const rule = (id) => ($(id).value === '' ? null : Number($(id).value));
      s.max_people = rule('geo-max-people');
      s.max_dwell_s = rule('geo-max-dwell');
    }
    this.render(false);
  }

  async save() {
    this.closeZone();
    this.status('Saving…');
    const body = JSON.stringify(this.model);
    const r = await fetch(`/api/cameras/${encodeURIComponent(this.ui.camera)}/geometry`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json' }, body,
    }).catch(() => null);
    const answer = r ? await r.json().catch(() => ({})) : { error: 'the UI is not reachable' };
    if (r && (r.status === 200 || r.status === 202)) {
      if (answer.geometry) this.saved = answer.geometry;
      this.stop();
      this.status(r.status === 200 ? 'Saved: the worker counts on it now.' : 'Saved: the worker will apply it when it runs.');
      return;
    }
    const key = answer.key || '';
    const m = /^(lines|zones)\.(\d+)/.exec(key);
    this.error = { key, text: answer.error || `not saved (HTTP ${r ? r.status : '?'})` };
    if (m) this.sel = { kind: m[1], i: Number(m[2]) };
    this.status(`Not saved: ${this.error.text}`, true);
    this.render();
  }

  render(panel = true) {
    const g = this.model;
    const stage = $('geo-stage');
    $('geo-card').dataset.editing = this.editing ? 'yes' : 'no';
    for (const id of ['geo-add-line', 'geo-add-zone', 'geo-save', 'geo-cancel']) $(id).hidden = !this.editing;
    $('geo-edit').hidden = this.editing || !this.saved;
    $('geo-close-zone').hidden = !(this.editing && this.sel && this.sel.open);
    $('geo-delete').hidden = !(this.editing && this.sel);
    $('geo-flip').hidden = !(this.editing && this.sel && this.sel.kind === 'lines');
    $('geo-origin').textContent = this.saved ? (this.saved.origin === 'ui' ? 'saved in the UI' : 'from the config file') : 'not published yet';
    this.svg.replaceChildren();
    if (!g || !this.saved) {
      stage.dataset.frame = '';
      return;
    }
    const { width, height } = this.saved.frame;
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    stage.dataset.frame = `${width}x${height}`;
    stage.style.aspectRatio = `${width} / ${height}`;
    const unit = Math.max(width, height) / 200; // handle and stroke sizes in frame pixels
    g.zones.forEach((z, i) => this.drawZone(z, i, unit));
    g.lines.forEach((l, i) => this.drawLine(l, i, unit));
    if (panel) this.renderPanel();
  }

  drawLine(line, i, unit) {
    const on = this.sel && this.sel.kind === 'lines' && this.sel.i === i;
    const bad = this.error && this.error.key.startsWith(`lines.${i}`);
    const grp = svg('g', { class: `geo-line${on ? ' sel' : ''}${bad ? ' bad' : ''}`, 'data-name': line.name }, this.svg);
    const [[ax, ay], [bx, by]] = line.points;
    svg('line', { x1: ax, y1: ay, x2: bx, y2: by, 'stroke-width': unit * 0.8, 'data-kind': 'lines', 'data-i': i }, grp);
    // The "in" arrow: from the right of A->B to its left, as seen on screen (y down).
    const len = Math.hypot(bx - ax, by - ay) || 1;
    const nx = (by - ay) / len;
    const ny = -(bx - ax) / len;
    const mx = (ax + bx) / 2;
    const my = (ay + by) / 2;
    const s = unit * 8;
    svg('path', { class: 'arrow', d: `M${mx - nx * s},${my - ny * s} L${mx + nx * s},${my + ny * s} M${mx + nx * s - (nx + ny * 0.6) * s * 0.4},${my + ny * s - (ny - nx * 0.6) * s * 0.4} L${mx + nx * s},${my + ny * s} L${mx + nx * s - (nx - ny * 0.6) * s * 0.4},${my + ny * s - (ny + nx * 0.6) * s * 0.4}`, 'stroke-width': unit * 0.6 }, grp);
    const label = svg('text', { x: mx + nx * s * 1.3, y: my + ny * s * 1.3, 'font-size': unit * 5 }, grp);
    label.textContent = `${line.name} in`;
    if (this.editing) line.points.forEach(([x, y], v) => svg('circle', { cx: x, cy: y, r: unit * 2.5, 'data-kind': 'lines', 'data-i': i, 'data-vertex': v }, grp));
    if (bad) this.errorText(grp, ax, ay, unit);
  }

  drawZone(zone, i, unit) {
    const on = this.sel && this.sel.kind === 'zones' && this.sel.i === i;
    const bad = this.error && this.error.key.startsWith(`zones.${i}`);
    const grp = svg('g', { class: `geo-zone${on ? ' sel' : ''}${bad ? ' bad' : ''}`, 'data-name': zone.name }, this.svg);
    if (!zone.polygon.length) return;
    svg(zone.polygon.length >= 3 ? 'polygon' : 'polyline', { points: zone.polygon.map((p) => p.join(',')).join(' '),
      'stroke-width': unit * 0.6, 'data-kind': 'zones', 'data-i': i }, grp);
    const [x0, y0] = zone.polygon[0];
    const label = svg('text', { x: x0 + unit * 2, y: y0 + unit * 6, 'font-size': unit * 5 }, grp);
    const rules = [zone.max_people != null ? `> ${zone.max_people} people` : '', zone.max_dwell_s != null ? `> ${zone.max_dwell_s} s` : '']
      .filter(Boolean);
    label.textContent = rules.length ? `${zone.name} (alert ${rules.join(', ')})` : zone.name;
    if (this.editing) zone.polygon.forEach(([x, y], v) => svg('circle', { cx: x, cy: y, r: unit * 2.5, 'data-kind': 'zones', 'data-i': i, 'data-vertex': v }, grp));
    if (bad) this.errorText(grp, x0, y0, unit);
  }

  errorText(grp, x, y, unit) {
    const t = svg('text', { class: 'geo-error', x: Math.max(unit, x), y: Math.max(unit * 12, y - unit * 3), 'font-size': unit * 4.5 }, grp);
    t.textContent = this.error.text;
  }

  renderPanel() {
    const s = this.shape();
    $('geo-panel').hidden = !(this.editing && s);
    if (!s) return;
    const line = this.sel.kind === 'lines';
    $('geo-name').value = s.name;
    $('geo-anchor').value = s.anchor || 'bottom_center';
    $('geo-knob-label').textContent = line ? 'Frames on the new side before it counts' : 'Frames inside (or outside) to enter (or leave)';
    $('geo-knob').value = (line ? s.min_frames : s.inertia) || 1;
    $('geo-zone-rules').hidden = line;
    $('geo-max-people').value = s.max_people ?? '';
    $('geo-max-dwell').value = s.max_dwell_s ?? '';
    $('geo-panel-error').textContent = this.error && this.error.key.startsWith(`${this.sel.kind}.${this.sel.i}`) ? this.error.text : '';
  }
}
