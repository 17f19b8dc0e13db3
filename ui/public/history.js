// History charts (uPlot) of one camera or of the whole site: a day by hour, a week or a month by day.
// People in frame and unique visitors, line in/out, zone entries, average stay. Times are the site's
// (the time zone the worker counts days in, which the server reports); each chart's numbers are also
// in a table under it, and its data can be downloaded as CSV.
import uPlot from '/vendor/uPlot.esm.js';
import { el } from './fmt.js';

const DAY = 86400;
const COLORS = ['#4cc9f0', '#ffd23f', '#f72585', '#80ed99', '#ff9f1c', '#b388eb', '#06d6a0', '#ef476f'];

/** YYYY-MM-DD of today in `tz`. */
function today(tz) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** The Unix time of local midnight of `day` (YYYY-MM-DD) in `tz`. */
function midnight(day, tz) {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d) / 1000;
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const p = Object.fromEntries(f.formatToParts(new Date(guess * 1000)).map((x) => [x.type, x.value]));
  return guess - (Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) / 1000 - guess);
}

function shiftDay(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export class HistoryView {
  /** @param {HTMLElement} root where the view draws itself  @param {() => string|null} camera null = the site */
  constructor(root, camera) {
    this.root = root;
    this.camera = camera;
    this.tz = null;
    this.range = 'day';
    this.day = null;
    this.plots = [];
    this.build();
  }

  build() {
    const head = el('div', undefined, 'card-head');
    head.append(el('h2', 'History'));
    this.rangeSel = el('select');
    this.rangeSel.className = 'hist-range';
    for (const [v, t] of [['day', 'Day, by hour'], ['week', 'Week, by day'], ['month', 'Month, by day']]) {
      const o = el('option', t);
      o.value = v;
      this.rangeSel.append(o);
    }
    this.dayInput = el('input');
    this.dayInput.type = 'date';
    this.dayInput.className = 'hist-day';
    this.prev = el('button', '◀');
    this.next = el('button', '▶');
    this.prev.type = this.next.type = 'button';
    this.csv = el('a', 'CSV (all)', 'btn');
    this.csv.setAttribute('download', '');
    this.tzNote = el('span', '', 'muted hist-tz');
    head.append(this.rangeSel, this.prev, this.dayInput, this.next, this.csv, this.tzNote);
    this.status = el('p', '', 'muted hist-status');
    this.charts = el('div', undefined, 'hist-charts');
    this.root.replaceChildren(head, this.status, this.charts);
    this.rangeSel.addEventListener('change', () => { this.range = this.rangeSel.value; this.load(); });
    this.dayInput.addEventListener('change', () => { if (this.dayInput.value) { this.day = this.dayInput.value; this.load(); } });
    this.prev.addEventListener('click', () => this.step(-1));
    this.next.addEventListener('click', () => this.step(1));
  }

  step(n) {
    const days = this.range === 'day' ? 1 : this.range === 'week' ? 7 : 30;
    this.day = shiftDay(this.day, n * days);
    this.load();
  }

  /** [from, to) of the chosen range, and the bucket size. */
  window() {
    if (this.range === 'day') return { by: 'hour', from: midnight(this.day, this.tz), to: midnight(shiftDay(this.day, 1), this.tz) };
    const n = this.range === 'week' ? 7 : 30;
    const days = Array.from({ length: n }, (_, k) => midnight(shiftDay(this.day, k + 1 - n), this.tz));
    return { by: 'day', from: days[0], to: midnight(shiftDay(this.day, 1), this.tz), days };
  }

  async load() {
    if (!this.tz) {
      // The site's time zone comes with any answer; ask for nothing to learn it.
      const now = Math.floor(Date.now() / 1000);
      const r = await fetch(`/api/history?by=hour&from=${now - 60}&to=${now}`).catch(() => null);
      this.tz = r && r.ok ? (await r.json()).tz : Intl.DateTimeFormat().resolvedOptions().timeZone;
    }
    this.day = this.day || today(this.tz);
    this.dayInput.value = this.day;
    this.tzNote.textContent = `times are the site's (${this.tz})`;
    const w = this.window();
    const cam = this.camera();
    const q = `by=${w.by}&from=${w.from}&to=${w.to}${cam ? `&camera=${encodeURIComponent(cam)}` : ''}`;
    this.csv.href = `/api/history.csv?${q}`;
    this.status.textContent = 'Loading…';
    const r = await fetch(`/api/history?${q}`).catch(() => null);
    if (!r || !r.ok) {
      this.status.textContent = `History not available (${r ? (await r.json().catch(() => ({}))).error || r.status : 'the UI is not reachable'})`;
      return;
    }
    this.draw(await r.json(), w);
  }

  draw(h, w) {
    for (const p of this.plots) p.destroy();
    this.plots = [];
    this.charts.replaceChildren();
    this.root.dataset.buckets = String(h.buckets.length);
    this.status.textContent = h.buckets.length ? '' : 'Nothing recorded in this range.';
    const step = w.by === 'hour' ? 3600 : DAY;
    // Every bucket of the range, empty ones as zero, so the axis shows the whole day or week.
    const byT = new Map(h.buckets.map((b) => [b.t, b]));
    const xs = w.days || Array.from({ length: Math.round((w.to - w.from) / step) }, (_, k) => w.from + k * step);
    const rows = xs.map((t) => byT.get(t) || { t, avg_in_frame: 0, max_in_frame: 0, unique: 0, avg_stay_s: null, lines: {}, zones: {} });
    const lines = [...new Set(h.buckets.flatMap((b) => Object.keys(b.lines)))].sort();
    const zones = [...new Set(h.buckets.flatMap((b) => Object.keys(b.zones)))].sort();
    const per = w.by === 'hour' ? 'per hour' : 'per day';
    this.chart('people', `People ${per}`, xs, [
      ['unique visitors', rows.map((b) => b.unique), true],
      ['average in frame', rows.map((b) => b.avg_in_frame), false],
    ]);
    if (lines.length) {
      this.chart('lines', `Line crossings ${per}`, xs, lines.flatMap((n) => [
        [`${n} in`, rows.map((b) => b.lines[n]?.in ?? 0), true], [`${n} out`, rows.map((b) => b.lines[n]?.out ?? 0), true]]));
    }
    if (zones.length) this.chart('zones', `Zone entries ${per}`, xs, zones.map((n) => [`${n} entered`, rows.map((b) => b.zones[n] ?? 0), true]));
    if (w.by === 'day') this.chart('stay', 'Average stay per day (s)', xs, [['average stay (s)', rows.map((b) => b.avg_stay_s), false]]);
  }

  /** One uPlot chart, and its numbers in a table (what the tests and screen readers read). */
  chart(kind, title, xs, series) {
    const box = el('section', undefined, 'hist-chart');
    box.dataset.chart = kind;
    const head = el('div', undefined, 'hist-chart-head');
    const csvLink = el('a', 'CSV', 'btn small');
    csvLink.href = `${this.csv.href}&chart=${kind}`;
    csvLink.setAttribute('download', '');
    head.append(el('h3', title), csvLink);
    box.append(head);
    const plotDiv = el('div');
    box.append(plotDiv);
    this.charts.append(box); // in the grid first: its cell gives the chart's width
    const width = Math.max(280, (box.clientWidth || 600) - 4);
    const bars = uPlot.paths.bars({ size: [0.8 / Math.max(1, series.filter((s) => s[2]).length), 60] });
    const opts = {
      width, height: 200, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), this.tz),
      series: [{}, ...series.map(([label, , bar], i) => ({ label, stroke: COLORS[i % COLORS.length],
        fill: bar ? `${COLORS[i % COLORS.length]}88` : undefined, paths: bar ? bars : undefined, width: bar ? 0 : 2 }))],
      axes: [{ stroke: '#9aa4b2', grid: { stroke: '#1e293b' } }, { stroke: '#9aa4b2', grid: { stroke: '#1e293b' } }],
      scales: { x: { time: true } },
    };
    this.plots.push(new uPlot(opts, [xs, ...series.map((s) => s[1])], plotDiv));
    const table = el('table', undefined, 'kv hist-table');
    const headRow = el('tr');
    headRow.append(el('th', 'time'), ...series.map((s) => el('th', s[0])));
    table.append(headRow);
    const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: this.tz, ...(xs.length && xs[1] - xs[0] < DAY ? { hour: '2-digit', minute: '2-digit' } : { weekday: 'short', day: '2-digit', month: 'short' }) });
    xs.forEach((t, i) => {
      const tr = el('tr');
      tr.dataset.t = String(t);
      tr.append(el('td', fmt.format(new Date(t * 1000))), ...series.map((s) => el('td', s[1][i] == null ? '–' : String(s[1][i]))));
      table.append(tr);
    });
    const details = el('details');
    details.append(el('summary', 'Numbers'), table);
    box.append(details);
  }
}
