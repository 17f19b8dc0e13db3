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

/** A history answer (history.js) as CSV: one row a bucket, a column per line direction and zone. */
function history(h) {
  const lines = [...new Set(h.buckets.flatMap((b) => Object.keys(b.lines)))].sort();
  const zones = [...new Set(h.buckets.flatMap((b) => Object.keys(b.zones)))].sort();
  const head = ['start_utc', `start_${h.tz}`, 'avg_in_frame', 'max_in_frame', 'unique', 'avg_stay_s',
    ...lines.flatMap((n) => [`line ${n} in`, `line ${n} out`]), ...zones.map((n) => `zone ${n} entered`)];
  const rows = h.buckets.map((b) => [new Date(b.t * 1000).toISOString(), b.label, b.avg_in_frame, b.max_in_frame, b.unique,
    b.avg_stay_s, ...lines.flatMap((n) => [b.lines[n]?.in ?? 0, b.lines[n]?.out ?? 0]), ...zones.map((n) => b.zones[n] ?? 0)]);
  return [head, ...rows].map((r) => `${r.map(cell).join(',')}\r\n`).join('');
}

module.exports = { COLUMNS, header, row, history };
