// People-in-frame over the last 10 minutes, drawn on a <canvas> (no chart library needed).
export const WINDOW_S = 600;

export class PeopleChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.points = []; // [unix second, peak in_frame in that second]
  }

  setSeries(series) {
    this.points = series.map((p) => [p[0], p[1]]);
    this._trim(Date.now() / 1000);
  }

  add(tSec, value) {
    const sec = Math.floor(tSec);
    const last = this.points[this.points.length - 1];
    if (last && last[0] === sec) last[1] = Math.max(last[1], value);
    else this.points.push([sec, value]);
    this._trim(sec);
  }

  _trim(now) {
    const oldest = now - WINDOW_S;
    while (this.points.length && this.points[0][0] <= oldest) this.points.shift();
  }

  draw(nowSec = Date.now() / 1000) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(50, c.clientWidth), h = Math.max(50, c.clientHeight);
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    this._trim(nowSec);
    c.dataset.points = String(this.points.length);

    const padL = 28, padB = 18, padT = 6, padR = 6;
    const pw = w - padL - padR, ph = h - padT - padB;
    const peak = this.points.reduce((m, p) => Math.max(m, p[1]), 0);
    const ymax = Math.max(2, Math.ceil(peak * 1.2));
    const x = (t) => padL + ((t - (nowSec - WINDOW_S)) / WINDOW_S) * pw;
    const y = (v) => padT + ph - (v / ymax) * ph;

    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#8da2c0';
    g.strokeStyle = '#22304d';
    g.lineWidth = 1;
    const step = Math.max(1, Math.ceil(ymax / 4));
    for (let v = 0; v <= ymax; v += step) {
      g.beginPath(); g.moveTo(padL, y(v) + 0.5); g.lineTo(w - padR, y(v) + 0.5); g.stroke();
      g.fillText(String(v), 4, y(v) + 4);
    }
    for (let m = 0; m <= 10; m += 2) {
      const t = nowSec - m * 60;
      g.fillText(m === 0 ? 'now' : `-${m}m`, Math.min(x(t) - 10, w - 26), h - 4);
    }
    if (!this.points.length) return;

    // Step line: the count holds until the next sample.
    g.beginPath();
    g.moveTo(x(this.points[0][0]), y(this.points[0][1]));
    for (let i = 1; i < this.points.length; i++) {
      const [t, v] = this.points[i];
      const gap = t - this.points[i - 1][0] > 5; // no data for a while: do not bridge the gap
      if (gap) g.moveTo(x(t), y(v));
      else g.lineTo(x(t), y(this.points[i - 1][1]));
      g.lineTo(x(t), y(v));
    }
    const lastP = this.points[this.points.length - 1];
    if (nowSec - lastP[0] < 5) g.lineTo(x(nowSec), y(lastP[1]));
    g.strokeStyle = '#2dd4bf';
    g.lineWidth = 2;
    g.stroke();
  }
}
