// Small helpers shared by the overview and the camera page: DOM building and number formats.
export const $ = (id) => document.getElementById(id);

export const fmtInt = (v) => (v === null || v === undefined ? '–' : String(v));
export const fmtSec = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')} min`;
};
export const fmtMs = (a, b) => (a == null ? '–' : `${a.toFixed(1)} / ${b == null ? '–' : b.toFixed(1)} ms`);
export const fmtBps = (v) => {
  if (v === null || v === undefined) return '–';
  const bits = v * 8;
  if (bits >= 1e6) return `${(bits / 1e6).toFixed(2)} Mbit/s`;
  if (bits >= 1e3) return `${(bits / 1e3).toFixed(1)} kbit/s`;
  return `${bits.toFixed(0)} bit/s`;
};
export const fmtPct = (share) => `${(share * 100).toFixed(1)} %`;
export const fmtTime = (ts) => new Date(ts * 1000).toLocaleTimeString([], { hour12: false });

export function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** A health pill (.pill with its value in <b>): one of the ok/warn/bad/unknown classes, other classes kept. */
export function setPill(pill, cls, text) {
  pill.classList.remove('ok', 'warn', 'bad', 'unknown');
  pill.classList.add(cls);
  pill.querySelector('b').textContent = text;
}

export const WORKER_CLASS = { online: 'ok', offline: 'bad', stale: 'warn' };
export const INPUT_TEXT = { lost: 'source lost', waiting: 'waiting for input' };

/** The worker health to show for a camera: the latest of the health tick and the camera's own messages. */
export function workerOf(ui, id) {
  return (ui.health && ui.health.workers[id]) || (ui.cameras[id] || {}).worker || { state: 'unknown' };
}

/** The input problem to show ({text, detail, state}) or null: none while the worker is offline or the input is fine. */
export function inputProblem(ui, id) {
  const input = (ui.cameras[id] || {}).input;
  const w = workerOf(ui, id).state;
  if (!input || !INPUT_TEXT[input.state] || w === 'offline' || w === 'unknown') return null;
  return { state: input.state, text: INPUT_TEXT[input.state], detail: input.detail || '' };
}
