// Benchmark panel: the original project's performance scenarios, run in this browser against the
// loaded model (the English sample is trained first when there is none), shown next to the
// figures the original (seed) project claimed. Every result is also written to the log below the
// table and to the console.
//
// Counts can be lowered for quick runs (the end-to-end test does): URL query parameters
// `bench-requests`, `bench-inflight`, `bench-reps`, `bench-tokens`, or the same names as data
// attributes of the button (`data-requests`, `data-inflight`, `data-reps`, `data-tokens`).
import { $, describeError, formatMs, show } from './ui.js';

const PROMPT = 'It is a truth';
const DEFAULTS = { requests: 500, inflight: 8, reps: 5, tokens: 100 };

/** Scenario rows: id, label(params), the seed's claim (text). */
const SCENARIOS = [
  { id: 'single', label: (p) => `Single generation latency (${p.tokens} tokens, median of ${p.reps})`, claim: '150 ms' },
  { id: 'concurrent', label: (p) => `3 concurrent generations (${p.tokens} tokens each, median of ${p.reps} batches)`, claim: '150 ms per generation' },
  { id: 'throughput', label: (p) => `Throughput (${p.requests} requests × ${p.tokens} tokens, ${p.inflight} in flight)`, claim: '15 req/s' },
  { id: 'load', label: (p) => `Model load from IndexedDB (until a worker can generate) (median of ${p.reps})`, claim: '50–100 ms' },
  { id: 'save', label: (p) => `Model save to IndexedDB (median of ${p.reps})`, claim: '100–200 ms' },
];

function params(button) {
  const q = new URLSearchParams(location.search);
  const out = {};
  for (const [k, def] of Object.entries(DEFAULTS)) {
    const raw = button.dataset[k] ?? q.get(`bench-${k}`);
    const v = Number(raw);
    out[k] = raw != null && Number.isInteger(v) && v > 0 ? v : def;
  }
  out.inflight = Math.min(out.inflight, out.requests);
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const fmt = (ms) => (ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : formatMs(ms));

export function initBenchmark(app) {
  const button = $('bench-run');
  const rows = $('bench-rows');
  const phase = $('bench-phase');
  const msg = $('bench-msg');
  const log = $('bench-log');
  let running = false;

  function writeLog(line) {
    const stamp = new Date().toLocaleTimeString();
    log.append(`[${stamp}] ${line}\n`);
    console.info(`[benchmark] ${line}`);
  }

  function renderTable(p, results = {}) {
    rows.replaceChildren(...SCENARIOS.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.scenario = s.id;
      const r = results[s.id];
      const name = document.createElement('td');
      name.textContent = s.label(p);
      const measured = document.createElement('td');
      measured.className = 'num measured';
      measured.textContent = r ? r.text : '–';
      if (r) {
        measured.dataset.value = String(r.value);
        measured.dataset.unit = r.unit;
      }
      const claim = document.createElement('td');
      claim.className = 'num';
      claim.textContent = s.claim;
      tr.append(name, measured, claim);
      return tr;
    }));
  }
  renderTable(params(button));

  async function ensureModel() {
    const llm = await app.pool();
    if (app.model) return llm;
    phase.textContent = 'No model loaded: training the English sample first…';
    writeLog('no model loaded: training the English sample (default options)');
    const res = await fetch('./samples/tiny.txt');
    if (!res.ok) throw new Error(`Could not read the English sample (${res.status}).`);
    const t0 = performance.now();
    const info = await llm.train([await res.blob()], {});
    writeLog(`trained in ${fmt(performance.now() - t0)}: order ${info.order}, ${info.patterns} patterns`);
    app.setModel({ info, origin: 'trained on the English sample', savedAs: null });
    return llm;
  }

  async function run() {
    const p = params(button);
    const results = {};
    const set = (id, value, unit, text) => {
      results[id] = { value, unit, text };
      renderTable(p, results);
      writeLog(`${SCENARIOS.find((s) => s.id === id).label(p)}: ${text}`);
    };
    renderTable(p, results);
    writeLog(`run: ${JSON.stringify(p)}`);
    const llm = await ensureModel();
    const opts = (seed) => ({ maxTokens: p.tokens, stopAtSentenceEnd: false, seed });

    phase.textContent = 'Warming up…';
    await Promise.all(Array.from({ length: llm.config.workers }, (_, i) => llm.generate(PROMPT, opts(1000 + i))));

    // 1. Single generation latency.
    const single = [];
    let tokens = 0;
    for (let i = 0; i < p.reps; i += 1) {
      phase.textContent = `Single generation ${i + 1}/${p.reps}…`;
      const t0 = performance.now();
      const r = await llm.generate(PROMPT, opts(i));
      single.push(performance.now() - t0);
      tokens += r.stats.tokens;
    }
    const m1 = median(single);
    set('single', m1, 'ms', `${fmt(m1)} (min ${fmt(Math.min(...single))}, max ${fmt(Math.max(...single))}; ${Math.round(tokens / p.reps)} tokens on average)`);

    // 2. Three concurrent generations.
    const batches = [];
    const each = [];
    for (let i = 0; i < p.reps; i += 1) {
      phase.textContent = `3 concurrent generations ${i + 1}/${p.reps}…`;
      const t0 = performance.now();
      await Promise.all([0, 1, 2].map(async (j) => {
        const s = performance.now();
        await llm.generate(PROMPT, opts(100 + i * 3 + j));
        each.push(performance.now() - s);
      }));
      batches.push(performance.now() - t0);
    }
    const m2 = median(each);
    set('concurrent', m2, 'ms', `${fmt(m2)} per generation (batch of 3: ${fmt(median(batches))})`);

    // 3. Throughput: `requests` requests, `inflight` at a time.
    let next = 0;
    let done = 0;
    let tokTotal = 0;
    const t3 = performance.now();
    const tickPhase = setInterval(() => { phase.textContent = `Throughput: ${done}/${p.requests} requests…`; }, 200);
    try {
      await Promise.all(Array.from({ length: p.inflight }, async () => {
        while (next < p.requests) {
          const i = next;
          next += 1;
          const r = await llm.generate(PROMPT, opts(10_000 + i));
          tokTotal += r.stats.tokens;
          done += 1;
        }
      }));
    } finally {
      clearInterval(tickPhase);
    }
    const secs = (performance.now() - t3) / 1000;
    const rps = p.requests / secs;
    set('throughput', rps, 'req/s', `${rps.toFixed(1)} req/s (${Math.round(tokTotal / secs).toLocaleString('en-US')} tokens/s; ${formatMs(secs * 1000)} in all)`);

    // 4 + 5. Save temporary copies, load them, remove them.
    const stamp = Date.now().toString(36);
    const names = Array.from({ length: p.reps }, (_, i) => `__benchmark_${stamp}_${i}`);
    const saves = [];
    const loads = [];
    try {
      for (const [i, name] of names.entries()) {
        phase.textContent = `Model save ${i + 1}/${p.reps}…`;
        const t0 = performance.now();
        await llm.save(name);
        saves.push(performance.now() - t0);
      }
      for (const [i, name] of names.entries()) {
        phase.textContent = `Model load ${i + 1}/${p.reps}…`;
        const t0 = performance.now();
        await llm.load(name); // the same model: what the pool serves does not change
        loads.push(performance.now() - t0);
      }
    } finally {
      phase.textContent = 'Removing the temporary copies…';
      for (const name of names) {
        try { await llm.remove(name); } catch { /* never saved */ }
      }
      app.events.dispatchEvent(new Event('library-changed'));
    }
    const bytes = app.model?.info?.fileBytes;
    const size = bytes ? ` (model file ${(bytes / 1024).toFixed(0)} kB)` : '';
    const m4 = median(loads);
    set('load', m4, 'ms', `${fmt(m4)} (min ${fmt(Math.min(...loads))}, max ${fmt(Math.max(...loads))})${size}`);
    const m5 = median(saves);
    set('save', m5, 'ms', `${fmt(m5)} (min ${fmt(Math.min(...saves))}, max ${fmt(Math.max(...saves))})${size}`);
    return results;
  }

  button.addEventListener('click', async () => {
    if (running) return;
    running = true;
    const release = app.hold(); // the run uses one pool from start to end
    button.disabled = true;
    show(msg, '', 'info');
    const t0 = performance.now();
    try {
      await run();
      phase.textContent = `Done in ${formatMs(performance.now() - t0)}.`;
      show(msg, 'Benchmark finished.', 'ok');
      writeLog(`done in ${formatMs(performance.now() - t0)}`);
    } catch (err) {
      phase.textContent = 'Failed.';
      show(msg, describeError(err), 'error');
      writeLog(`failed: ${describeError(err)}`);
    } finally {
      running = false;
      release();
      button.disabled = false;
    }
  });
}
