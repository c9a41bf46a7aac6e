// Train panel: source (bundled sample or the user's .txt files), options, progress, cancel.
import { $, describeError, dropZone, formatBytes, formatMs, intField, show, workerCount } from './ui.js';

const SAMPLES = {
  'sample-en': { url: './samples/tiny.txt', label: 'the English sample' },
  'sample-es': { url: './samples/es-tiny.txt', label: 'the Spanish sample' },
};

export function initTrain(app) {
  const form = $('train-form');
  const fileInput = $('train-files');
  const list = $('train-file-list');
  const msg = $('train-msg');
  const bar = $('train-progress');
  const phase = $('train-phase');
  const startBtn = $('train-start');
  const cancelBtn = $('train-cancel');
  let files = [];
  let controller = null;
  let picked = 0; // bumps with every choice/drop, so a slow check of an older one is ignored

  /**
   * The usable files of `chosen`: empty ones are left out (at least one must have text), binary
   * ones (a NUL in the first 8 kB) are refused. Throws an Error with a message for the user.
   */
  async function checkFiles(chosen) {
    if (!chosen.length) throw new Error('Choose or drop at least one .txt file first.');
    const empty = chosen.filter((f) => f.size === 0);
    if (empty.length === chosen.length) throw new Error(`${chosen.length > 1 ? 'All chosen files are' : `"${chosen[0].name}" is`} empty: there is no text to learn from.`);
    const kept = chosen.filter((f) => f.size > 0);
    for (const f of kept) {
      const head = new Uint8Array(await f.slice(0, 8192).arrayBuffer());
      if (head.includes(0)) throw new Error(`"${f.name}" is not a text file (binary data). Use UTF-8 .txt files.`);
    }
    const skipped = empty.length ? ` (${empty.map((f) => `"${f.name}"`).join(', ')} ${empty.length > 1 ? 'are' : 'is'} empty and left out)` : '';
    return { kept, label: kept.length === 1 ? `“${kept[0].name}”` : `${kept.length} files`, skipped };
  }

  // Chosen or dropped files are checked at once, so a wrong file is reported before Train.
  async function setFiles(fileList) {
    files = [...fileList];
    const mine = ++picked;
    list.replaceChildren(...files.map((f) => {
      const li = document.createElement('li');
      li.textContent = `${f.name} (${formatBytes(f.size)})`;
      return li;
    }));
    if (!files.length) return;
    form.elements.source.value = 'files';
    try {
      const { label, skipped } = await checkFiles(files);
      if (mine === picked && !controller) show(msg, `Ready to train on ${label}${skipped}.`, 'info');
    } catch (err) {
      if (mine === picked && !controller) show(msg, err.message, 'error');
    }
  }
  fileInput.addEventListener('change', () => setFiles(fileInput.files));
  dropZone($('train-drop'), setFiles);

  async function sources() {
    const choice = form.elements.source.value;
    if (choice !== 'files') {
      const s = SAMPLES[choice];
      const res = await fetch(s.url);
      if (!res.ok) throw new Error(`Could not read the ${s.label} (${res.status}).`);
      return { list: [await res.blob()], label: s.label };
    }
    const { kept, label } = await checkFiles(files);
    return { list: kept, label };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (controller) return;
    picked += 1; // a file check still running must not overwrite this run's messages
    let options;
    let src;
    try {
      options = {
        maxPatternLength: intField($('opt-order'), { min: 1, max: 16 }),
        minFrequency: intField($('opt-minfreq'), { min: 1 }),
        maxPatterns: intField($('opt-maxpatterns'), { min: 0 }),
      };
      src = await sources();
    } catch (err) {
      show(msg, err.message, 'error');
      return;
    }
    controller = new AbortController();
    const release = app.hold(); // the model must land in the pool it was trained for
    startBtn.disabled = true;
    cancelBtn.disabled = false;
    show(msg, '', 'info');
    const t0 = performance.now();
    let last = { phase: 'starting', bytesSeen: 0, bytesTotal: 0 };
    const render = () => {
      const elapsed = formatMs(performance.now() - t0);
      const bytes = last.bytesTotal ? `${formatBytes(last.bytesSeen)} / ${formatBytes(last.bytesTotal)}` : '';
      // Building and installing count no bytes: their fraction is the share of the work done.
      const working = last.phase === 'building' || last.phase === 'installing';
      const label = working ? `${last.phase} ${Math.floor((last.fraction ?? 0) * 100)}%` : last.phase;
      phase.textContent = [label, bytes, elapsed].filter(Boolean).join(' · ');
      bar.value = working ? (last.fraction ?? 0) : last.bytesTotal ? last.bytesSeen / last.bytesTotal : 0;
    };
    render();
    const timer = setInterval(render, 100);
    try {
      const llm = await app.pool($('opt-preset').value);
      const info = await llm.train(src.list, options, {
        signal: controller.signal,
        onProgress: (p) => { last = p; render(); },
      });
      last = { phase: 'done', bytesSeen: last.bytesTotal, bytesTotal: last.bytesTotal };
      render();
      bar.value = 1;
      app.setModel({ info, origin: `trained on ${src.label}`, savedAs: null });
      show(msg, `Trained in ${formatMs(performance.now() - t0)}: order ${info.order}, ${info.patterns.toLocaleString('en-US')} patterns. Try it under Generate.`, 'ok');
    } catch (err) {
      const cancelled = err?.name === 'AbortError';
      last = { ...last, phase: cancelled ? 'cancelled' : 'failed' };
      render();
      bar.value = 0;
      show(msg, cancelled ? 'Training cancelled.' : describeError(err), cancelled ? 'info' : 'error');
      // Whatever model was there before is still what the pool holds.
      try {
        const info = await app.llm?.info();
        if (!info) app.setModel(null);
      } catch { /* the status line keeps its last state */ }
    } finally {
      clearInterval(timer);
      controller = null;
      release();
      startBtn.disabled = false;
      cancelBtn.disabled = true;
    }
  });

  cancelBtn.addEventListener('click', () => controller?.abort());

  // The pool preset applies at once: a new pool takes over the loaded model (app.pool).
  const presetSel = $('opt-preset');
  const presetName = (value) => (value ? `“${value.replace('_', ' ')}”` : 'default');
  const lockPreset = () => { presetSel.disabled = app.holds > 0 || Boolean(app.switching); };
  app.events.addEventListener('hold', lockPreset);
  presetSel.addEventListener('change', async () => {
    const wanted = presetSel.value;
    const had = Boolean(app.model);
    presetSel.disabled = true;
    startBtn.disabled = true;
    presetSel.setAttribute('aria-busy', 'true');
    show(msg, `Starting a worker pool with the ${presetName(wanted)} preset…${had ? ' The loaded model moves over to it.' : ''}`, 'info');
    try {
      const llm = await app.pool(wanted);
      show(msg, `Pool preset ${presetName(app.preset)}: ${workerCount(llm.config.workers)}`
        + `${had && app.model ? '; the model is still loaded.' : '.'}`, 'ok');
    } catch (err) {
      show(msg, `Could not change the preset: ${describeError(err)} The previous pool${had ? ' and its model' : ''} stay in use.`, 'error');
    } finally {
      presetSel.value = app.preset;
      presetSel.removeAttribute('aria-busy');
      lockPreset();
      startBtn.disabled = Boolean(controller);
    }
  });
}
