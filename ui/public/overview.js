// The overview: one tile per camera (a still refreshed about once a second, worker and input state,
// people now and today) and the site's totals. A tile links to its camera's page.
import { $, fmtInt, inputProblem, setPill, WORKER_CLASS, workerOf } from './fmt.js';
import { HistoryView } from './history.js';

const STILL_MS = 1000;

/** A plain left click: the page switches by itself; anything else (new tab, copy link) keeps the link's default. */
const plainClick = (e) => e.button === 0 && !e.metaKey && !e.ctrlKey && !e.shiftKey && !e.altKey;

export class Overview {
  /**
   * @param {object} ui the page's shared state (app.js)
   * @param {(camera: string) => void} open shows a camera's page
   */
  constructor(ui, open) {
    this.ui = ui;
    this.open = open;
    this.tiles = new Map(); // id -> {li, refs, img, loading, onScreen}
    this.history = new HistoryView($('site-history'), () => null); // every camera summed
    // Only tiles on screen fetch stills: a site with many cameras costs what the visitor sees.
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const t = this.tiles.get(e.target.dataset.camera);
        if (t) t.onScreen = e.isIntersecting;
      }
      this.refreshStills();
    });
    setInterval(() => this.refreshStills(), STILL_MS);
    document.addEventListener('visibilitychange', () => this.refreshStills());
  }

  get shown() {
    return !$('overview').hidden;
  }

  show() {
    $('overview').hidden = false;
    this.render();
    this.history.load();
  }

  hide() {
    $('overview').hidden = true;
  }

  /** Tiles for exactly the cameras known, in id order, each brought up to date, and the totals. */
  render() {
    if (!this.shown) return;
    const ids = Object.keys(this.ui.cameras).sort();
    for (const [id, t] of this.tiles) {
      if (!this.ui.cameras[id]) {
        this.observer.unobserve(t.li);
        t.li.remove();
        this.tiles.delete(id);
      }
    }
    let prev = null;
    for (const id of ids) {
      const t = this.tiles.get(id) || this._addTile(id);
      if (!t.li.isConnected || t.li.previousElementSibling !== prev) {
        if (prev) prev.after(t.li);
        else $('tiles').prepend(t.li);
      }
      prev = t.li;
      this._renderTile(id, t);
    }
    $('no-cameras').hidden = ids.length > 0;
    this._renderTotals();
  }

  /** One camera changed. */
  update(id) {
    if (!this.shown) return;
    const t = this.tiles.get(id);
    if (!t) {
      this.render(); // a new camera
      return;
    }
    this._renderTile(id, t);
    this._renderTotals();
  }

  _addTile(id) {
    const li = $('tile-template').content.firstElementChild.cloneNode(true);
    const q = (cls) => li.querySelector(`.${cls}`);
    li.dataset.camera = id;
    const link = q('tile-link');
    link.href = `/?camera=${encodeURIComponent(id)}`;
    link.addEventListener('click', (e) => {
      if (!plainClick(e)) return;
      e.preventDefault();
      this.open(id);
    });
    q('tile-name').textContent = id;
    const t = {
      li, img: null, loading: false, onScreen: false,
      refs: { still: q('still'), noPic: q('no-pic'), worker: q('tile-worker'), input: q('tile-input'),
        inputState: q('tile-input-state'), inputDetail: q('tile-input-detail'), inFrame: q('tile-in-frame'), total: q('tile-total') },
    };
    this.tiles.set(id, t);
    this.observer.observe(li);
    return t;
  }

  /** People in frame are shown only for a worker that is not offline: its last state says nothing about now. */
  _numbers(id) {
    const s = (this.ui.cameras[id] || {}).state;
    const present = workerOf(this.ui, id).state !== 'offline';
    return { inFrame: s && present ? s.in_frame : null, total: s ? s.total : null };
  }

  _renderTile(id, t) {
    const { refs } = t;
    const w = workerOf(this.ui, id).state;
    setPill(refs.worker, WORKER_CLASS[w] || 'unknown', w);
    t.li.dataset.worker = w;
    const problem = inputProblem(this.ui, id);
    t.li.dataset.input = problem ? problem.state : 'ok';
    refs.input.hidden = !problem;
    if (problem) {
      refs.inputState.textContent = problem.text;
      refs.inputDetail.textContent = problem.detail;
      refs.input.title = problem.detail;
    }
    const n = this._numbers(id);
    refs.inFrame.textContent = fmtInt(n.inFrame);
    refs.total.textContent = fmtInt(n.total);
  }

  _renderTotals() {
    const ids = Object.keys(this.ui.cameras);
    let inFrame = 0;
    let total = 0;
    let online = 0;
    for (const id of ids) {
      const n = this._numbers(id);
      inFrame += n.inFrame || 0;
      total += n.total || 0;
      if (workerOf(this.ui, id).state === 'online') online += 1;
    }
    $('site-in-frame').textContent = ids.length ? String(inFrame) : '–';
    $('site-total').textContent = ids.length ? String(total) : '–';
    $('site-online').textContent = ids.length ? `${online} / ${ids.length}` : '–';
  }

  /** Starts a new still for each tile on screen whose last one is done; nothing while the tab is hidden. */
  refreshStills() {
    if (!this.shown || !this.ui.config || document.visibilityState !== 'visible') return;
    for (const [id, t] of this.tiles) if (t.onScreen && !t.loading) this._loadStill(id, t);
  }

  _loadStill(id, t) {
    const { config } = this.ui;
    t.loading = true;
    // Loaded and decoded off the page, then swapped in: the old picture stays until the new one is ready.
    const img = new Image();
    img.className = 'still-img';
    img.alt = `${id} now`;
    img.src = `${config.stream_base}${config.still_path.replace('{camera}', encodeURIComponent(id))}?t=${Date.now()}`;
    img.decode().then(() => {
      if (t.img) t.img.replaceWith(img);
      else t.refs.still.prepend(img);
      t.img = img;
      t.refs.noPic.hidden = true;
      t.li.dataset.still = 'ok';
    }, () => {
      if (t.img) t.img.remove();
      t.img = null;
      t.refs.noPic.hidden = false;
      t.li.dataset.still = 'none';
    }).finally(() => { t.loading = false; });
  }
}
