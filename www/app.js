// The app shell: starts the worker pool, owns the shared state (pool + current model), switches
// sections by URL hash and wires up the six panels.
import { create } from './pkg/index.js';
import { $, describeError, formatBytes, formatInt, workerCount } from './ui.js';
import { initTrain } from './train.js';
import { initGenerate } from './generate.js';
import { initLibrary } from './library.js';
import { initStarters } from './starters.js';
import { initType } from './type.js';
import { initEvaluate } from './evaluate.js';
import { initDashboard } from './dashboard.js';
import { initBenchmark } from './benchmark.js';
import { remember, restore } from './session.js';

/** Shared state. `model` describes the model currently loaded in the pool (null when none). */
export const app = {
  llm: null,
  preset: '',
  model: null, // { info, origin: string, savedAs: string | null, restored?: boolean }
  // Whether the current model will come back after a reload ({ kept, reason }: see session.js),
  // and what became of the model remembered from the last visit, when it did not come back.
  kept: null,
  restoreNote: '',
  events: new EventTarget(),
  ready: null,
  tab: 'train',
  switching: null, // the pool replacement in progress (a promise), if any
  holds: 0, // long operations (training, benchmark) bound to the current pool

  /**
   * The pool for `preset`: the current one, or (when the preset differs) a new pool that takes
   * over the loaded model; the old pool finishes what it is doing, then is terminated.
   */
  async pool(preset = this.preset) {
    while (this.switching) await this.switching.catch(() => {});
    if (this.llm && preset === this.preset) return this.llm;
    this.switching = this.replacePool(preset);
    try {
      return await this.switching;
    } finally {
      this.switching = null;
    }
  },

  async replacePool(preset) {
    const old = this.llm;
    const next = await create(preset ? { preset } : {});
    let info = null;
    if (old && this.model) {
      try {
        for (;;) {
          const file = await currentModelFile(old, this.model);
          info = await next.loadBytes(file);
          // A model loaded or trained into the old pool meanwhile: take that one instead.
          if (!(old.modelFile instanceof Blob) || old.modelFile === file) break;
        }
      } catch (err) {
        next.terminate(); // the old pool, and its model, stay in use
        throw err;
      }
    }
    this.llm = next;
    this.preset = preset;
    if (old) retire(old);
    if (this.model) this.setModel({ ...this.model, info });
    else this.events.dispatchEvent(new Event('model'));
    return next;
  },

  /**
   * Marks a long operation bound to the current pool (a training, a benchmark run): the preset
   * cannot change until the returned function is called.
   */
  hold() {
    this.holds += 1;
    this.events.dispatchEvent(new Event('hold'));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds -= 1;
      this.events.dispatchEvent(new Event('hold'));
    };
  },

  setModel(model) {
    this.model = model;
    this.kept = null;
    if (model) this.restoreNote = '';
    this.events.dispatchEvent(new Event('model'));
    // Remembered for the next start (session.js); the status line says if it could not be.
    remember(model, this.llm).then((kept) => {
      if (this.model !== model) return;
      this.kept = kept;
      this.events.dispatchEvent(new Event('model'));
    });
  },
};

/**
 * The file of the model `llm` serves, as a Blob: the pool keeps it (`modelFile`, the Blob its
 * workers load from). A model saved in the library can also be read back from there.
 */
async function currentModelFile(llm, model) {
  const blob = llm.modelFile;
  if (blob instanceof Blob && blob.size > 0) return blob;
  if (model.savedAs) return llm.exportModel(model.savedAs);
  throw new Error('the loaded model could not be read from the worker pool; save it before changing the preset');
}

/**
 * Terminates a pool once it is idle (its running generations, trainings and storage calls are
 * allowed to finish, for at most a minute).
 */
async function retire(llm) {
  const t0 = performance.now();
  for (;;) {
    const h = llm.health();
    if ((h.workers.busy === 0 && h.queued === 0 && !h.training.busy) || performance.now() - t0 > 60_000) break;
    await new Promise((r) => { setTimeout(r, 100); });
  }
  llm.terminate();
}

function renderModelStatus() {
  const el = $('model-status');
  const m = app.model;
  const has = Boolean(m);
  for (const b of document.querySelectorAll('[data-model-button]')) b.disabled = !has;
  for (const p of document.querySelectorAll('[data-needs-model]')) p.hidden = has;
  if (!m) {
    el.textContent = `No model yet: train one or load one from the library.${app.restoreNote ? ` ${app.restoreNote}` : ''}`;
    return;
  }
  const { info } = m;
  const restored = m.restored ? ', restored from the last visit' : '';
  const where = m.savedAs ? `saved as “${m.savedAs}”${restored}` : `${m.origin}${restored}, not saved`;
  // Threaded (a cross-origin isolated page): the generation workers hold the model once, together.
  const shared = app.llm?.threaded ? ' sharing one model' : '';
  const pool = app.llm ? ` · pool: ${app.preset ? app.preset.replace('_', ' ') : 'default'}, ${workerCount(app.llm.config.workers)}${shared}` : '';
  const lost = app.kept?.kept === false ? ` · it will not come back after a reload: ${app.kept.reason}` : '';
  el.textContent = `Model: order ${info.order} · ${formatInt(info.patterns)} patterns · `
    + `vocabulary ${formatInt(info.vocabSize)} · ${formatBytes(info.fileBytes)} (${where})${pool}${lost}`;
}

const TABS = ['train', 'generate', 'type', 'library', 'evaluate', 'dashboard', 'benchmark'];

/** Shows the section named by the URL hash; the tabs follow the ARIA tabs pattern. */
function showTab() {
  const id = (location.hash || '#train').slice(1);
  const tab = TABS.includes(id) ? id : 'train';
  app.tab = tab;
  for (const k of TABS) $(k).hidden = k !== tab;
  for (const a of document.querySelectorAll('.tabs [role="tab"]')) {
    const selected = a.dataset.tab === tab;
    a.setAttribute('aria-selected', String(selected));
    a.tabIndex = selected ? 0 : -1; // one tab stop for the row; arrow keys move within it
    if (selected) revealTab(a);
  }
  app.events.dispatchEvent(new Event('tab'));
}

/** Scrolls the tab row (not the page) so that `a` is fully visible. */
function revealTab(a) {
  const row = a.parentElement;
  const margin = 16;
  if (a.offsetLeft < row.scrollLeft) row.scrollLeft = Math.max(0, a.offsetLeft - margin);
  else if (a.offsetLeft + a.offsetWidth > row.scrollLeft + row.clientWidth) {
    row.scrollLeft = a.offsetLeft + a.offsetWidth - row.clientWidth + margin;
  }
}

/** Arrow keys, Home and End move between tabs (and show them); Space shows the focused one. */
function tabKeys(e) {
  const tabs = [...document.querySelectorAll('.tabs [role="tab"]')];
  const i = tabs.indexOf(e.target);
  if (i < 0) return;
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1, ' ': i }[e.key];
  if (to === undefined || e.altKey || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  const next = tabs[(to + tabs.length) % tabs.length];
  // Replaces the history entry: moving along the row is not a navigation worth a Back step.
  if (location.hash !== `#${next.dataset.tab}`) history.replaceState(null, '', `#${next.dataset.tab}`);
  showTab();
  next.focus();
}

async function main() {
  // Dropping a file outside a drop zone must not navigate away from the app: such drops are
  // refused ("no drop" cursor). Other drags, such as text dropped into a text field, keep their
  // default behaviour; drop zones accept files before these listeners run.
  const carriesFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const refuse = (e) => {
    if (!carriesFiles(e) || e.defaultPrevented) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'none';
  };
  window.addEventListener('dragover', refuse);
  window.addEventListener('drop', (e) => { if (carriesFiles(e)) e.preventDefault(); });
  window.addEventListener('hashchange', showTab);
  const tabRow = document.querySelector('.tabs');
  tabRow.addEventListener('keydown', tabKeys);
  // A narrower window (a phone turned upright) must not hide the selected tab off the row's edge.
  new ResizeObserver(() => {
    const selected = tabRow.querySelector('[aria-selected="true"]');
    if (selected) revealTab(selected);
  }).observe(tabRow);
  showTab();
  app.events.addEventListener('model', renderModelStatus);
  renderModelStatus();
  $('model-status').textContent = 'Starting workers…';

  initTrain(app);
  initGenerate(app);
  initLibrary(app);
  initType(app);
  initEvaluate(app);
  initDashboard(app);
  initBenchmark(app);
  try {
    await app.pool();
    await restoreLastModel();
    renderModelStatus();
    document.body.dataset.ready = 'true';
    app.events.dispatchEvent(new Event('ready'));
    initStarters(app);
  } catch (err) {
    $('model-status').textContent = `Could not start the model workers: ${describeError(err)}`;
    $('model-status').dataset.kind = 'error';
  }
}

/** Loads the model of the last visit (session.js) before the page says it is ready. */
async function restoreLastModel() {
  $('model-status').textContent = 'Restoring the model of your last visit…';
  try {
    const r = await restore(app.llm);
    if (r?.missing) app.restoreNote = `(The model of your last visit, “${r.missing}”, is no longer in the library.)`;
    else if (r) app.setModel({ ...r, restored: true });
  } catch (err) {
    app.restoreNote = `(The model of your last visit could not be restored: ${describeError(err)})`;
  }
}

/**
 * Registers the service worker (sw.js) that precaches the whole site, so that once loaded it also
 * works offline. Not available on plain-http hosts other than localhost (no secure context): the
 * site then simply needs the network. `data-offline="ready"` on <body> once it controls the page.
 *
 * The worker also makes the site cross-origin isolated (it adds COOP and COEP to the site's own
 * responses), which lets the package share one model between its generation workers. A page it
 * did not serve (the first visit) is not isolated: once the worker controls it, the page reloads,
 * once (a session flag keeps a browser that cannot isolate from reloading again). Resolves to
 * true when the page is about to reload (then the app does not start).
 */
async function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return false;
  const registration = navigator.serviceWorker.register('./sw.js').catch((err) => {
    // Not fatal: the site works online without it (and offline, an update check of an installed
    // worker fails while that worker keeps serving).
    if (!navigator.serviceWorker.controller) document.body.dataset.offline = `unavailable: ${describeError(err)}`;
    return null;
  });
  navigator.serviceWorker.ready.then(() => {
    if (navigator.serviceWorker.controller) document.body.dataset.offline = 'ready';
  });
  const controlled = new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      document.body.dataset.offline = 'ready';
      resolve();
    });
  });
  if (globalThis.crossOriginIsolated || !flag(RELOADED, null) || !(await registration)) return false;
  // Served by a worker already (an older build's, without the headers): the new one takes over
  // on activation (skipWaiting, clients.claim).
  const waited = await Promise.race([controlled.then(() => true),
    new Promise((resolve) => { setTimeout(() => resolve(false), ISOLATION_WAIT_MS); })]);
  if (!waited && !navigator.serviceWorker.controller) return false;
  flag(RELOADED, '1');
  location.reload();
  return true;
}

const RELOADED = 'uellm-isolation-reload';
const ISOLATION_WAIT_MS = 10_000;

/**
 * sessionStorage: with `value` null, whether `key` is unset (true where there is no storage, so
 * that no reload is tried); otherwise sets it.
 */
function flag(key, value) {
  try {
    if (value === null) return sessionStorage.getItem(key) === null;
    sessionStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

registerServiceWorker().catch(() => false).then((reloading) => {
  if (!reloading) main();
});
