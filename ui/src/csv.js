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

module.exports = { COLUMNS, header, row };
