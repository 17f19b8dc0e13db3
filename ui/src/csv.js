'use strict';
// CSV export of events (RFC 4180 quoting; cells that a spreadsheet would run as a formula are defused).

const COLUMNS = ['id', 'seq', 'camera', 'type', 'time_utc', 'ts', 'video_s', 'track_id', 'duration_s', 'side',
  'line', 'direction', 'zone', 'dwell_s', 'rule', 'value', 'limit', 'class', 'score', 'detail', 'date', 'total'];

function cell(v) {
  if (v === undefined || v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const header = () => `${COLUMNS.join(',')}\r\n`;

function row(ev) {
  const values = { ...ev, time_utc: new Date(ev.ts * 1000).toISOString() };
  return `${COLUMNS.map((c) => cell(values[c])).join(',')}\r\n`;
}

const CHARTS = new Set(['people', 'lines', 'zones', 'stay']);

/**
 * A history answer (history.js) as CSV: one row a bucket; columns of one chart (`people`, `lines`,
 * `zones`, `stay`) or, with none, of all of them (a column per line direction and zone).
 */
function history(h, chart = null) {
  const lines = [...new Set(h.buckets.flatMap((b) => Object.keys(b.lines)))].sort();
  const zones = [...new Set(h.buckets.flatMap((b) => Object.keys(b.zones)))].sort();
  const cols = [ // [chart, header, value of a bucket]
    ['people', 'avg_in_frame', (b) => b.avg_in_frame], ['people', 'max_in_frame', (b) => b.max_in_frame],
    ['people', 'unique', (b) => b.unique], ['stay', 'avg_stay_s', (b) => b.avg_stay_s],
    ...lines.flatMap((n) => [['lines', `line ${n} in`, (b) => b.lines[n]?.in ?? 0], ['lines', `line ${n} out`, (b) => b.lines[n]?.out ?? 0]]),
    ...zones.map((n) => ['zones', `zone ${n} entered`, (b) => b.zones[n] ?? 0]),
  ].filter(([c]) => !chart || c === chart);
  const head = ['start_utc', `start_${h.tz}`, ...cols.map((c) => c[1])];
  const rows = h.buckets.map((b) => [new Date(b.t * 1000).toISOString(), b.label, ...cols.map((c) => c[2](b))]);
  return [head, ...rows].map((r) => `${r.map(cell).join(',')}\r\n`).join('');
}

module.exports = { COLUMNS, header, row, history, CHARTS };
