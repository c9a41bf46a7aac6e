// The browser benchmark's page: steps driven one by one by run.mjs (page.evaluate), each
// returning plain numbers. Everything goes through the package API (`create`, `train`, `save`,
// `load`, `generate`), except `core.*`, which runs the core benchmark in a worker of its own
// (core-worker.js) for figures comparable one to one with `uellm-bench`.
import * as uellm from 'ultra-efficient-llm';

let llm = null;
let corpus = null; // { blob, bytes }
let coreWorker = null;
let nextId = 1;
const pending = new Map();

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN;
};
const summary = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), max: Math.max(...xs),
  mean: xs.reduce((a, b) => a + b, 0) / xs.length });

function coreCall(op, args, transfer = []) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    coreWorker.postMessage({ id, op, args }, transfer);
  });
}

/** Longest requestAnimationFrame gap and long tasks on this (main) thread while `fn` runs. */
async function measureResponsiveness(fn) {
  const longTasks = [];
  const bigGaps = []; // [start, length] of every frame gap over 50 ms, start from the call
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) longTasks.push({ startMs: e.startTime - t0, ms: e.duration }); });
    observer.observe({ type: 'longtask', buffered: false });
  } catch { /* no longtask support */ }
  let t0 = performance.now();
  let maxGap = 0;
  let frames = 0;
  let running = true;
  let last = null;
  const tick = (t) => {
    if (!running) return;
    if (last !== null) {
      maxGap = Math.max(maxGap, t - last);
      if (t - last > 50) bigGaps.push({ startMs: last - t0, ms: t - last });
    }
    last = t;
    frames++;
    requestAnimationFrame(tick);
  };
  // Start once a frame is running, so the first gap is not the wait for the first frame.
  await new Promise((r) => requestAnimationFrame((t) => { last = t; requestAnimationFrame(tick); r(); }));
  t0 = performance.now();
  const value = await fn(t0);
  await new Promise((r) => requestAnimationFrame(() => r())); // count a gap at the very end
  running = false;
  observer?.disconnect();
  return { value, maxGapMs: maxGap, frames, longTasks: longTasks.length,
    longestTaskMs: longTasks.length ? Math.max(...longTasks.map((l) => l.ms)) : 0, bigGaps, longTaskList: longTasks };
}

/** Waits until every generation worker serves the current model; ms since `t0`. */
async function allReady(t0) {
  const total = llm.health().workers.total;
  while (llm.health().workers.ready !== total) {
    if (performance.now() - t0 > 60_000) throw new Error(`workers not ready: ${JSON.stringify(llm.health().workers)}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

window.bench = {
  async loadCorpus(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
    const blob = await res.blob();
    corpus = { blob, bytes: await blob.arrayBuffer() };
    return { bytes: blob.size };
  },

  async createPool(workers) {
    const t0 = performance.now();
    llm = await uellm.create({ workers, log: 'silent', maxQueue: 1024 });
    return { ms: performance.now() - t0 };
  },

  /** train() of the corpus (a Blob, like a picked File): wall time, time to the worker's 'done'. */
  async train(order) {
    let doneAt = null;
    let t0 = 0;
    const r = await measureResponsiveness(async (start) => {
      t0 = start;
      const info = await llm.train([corpus.blob], { maxPatternLength: order }, {
        onProgress: (p) => { if (p.phase === 'done' && doneAt === null) doneAt = performance.now(); },
      });
      return { wallMs: performance.now() - t0, info };
    });
    // train() resolves when one generation worker has the model; the others load it in the
    // background. Wait for them (so the next steps measure a settled pool).
    const allReadyMs = await allReady(t0);
    // The training worker is replaced 2 s after a training (TRAINER_RECYCLE_MS, js/index.js):
    // wait until its successor has started too, so that the start falls in no measured step.
    const resolvedAt = t0 + r.value.wallMs;
    await new Promise((res) => setTimeout(res, Math.max(0, resolvedAt + 2600 - performance.now())));
    // Time inside the training worker per phase, and the install in the generation workers
    // (metrics().ops.train.worker.last: readMs, trainMs, toBytesMs, blobMs, installMs, ...).
    const timings = llm.metrics().ops.train?.worker?.last ?? null;
    return { wallMs: r.value.wallMs, allReadyMs, workerDoneMs: doneAt === null ? null : doneAt - t0, timings,
      maxGapMs: r.maxGapMs, frames: r.frames, longTasks: r.longTasks, longestTaskMs: r.longestTaskMs,
      // Where the gaps fall: before workerDoneMs = training; after = installing in the workers.
      bigGaps: r.bigGaps, longTaskList: r.longTaskList,
      order: r.value.info.order, patterns: r.value.info.patterns, fileBytes: r.value.info.fileBytes,
      memoryBytes: r.value.info.memoryBytes };
  },

  async save(name) {
    const t0 = performance.now();
    const meta = await llm.save(name);
    return { ms: performance.now() - t0, bytes: meta.bytes, timings: llm.metrics().ops.save?.worker?.last ?? null };
  },

  /** loadUrl() of a model file into the pool, cold (no cached copy): wall time to the first
   * worker ready, and that worker's timings (fetch, download, parse). */
  async loadUrl(url) {
    const t0 = performance.now();
    await llm.loadUrl(url, { cache: false });
    return { ms: performance.now() - t0, timings: llm.metrics().ops.loadUrl?.worker?.last ?? null };
  },

  /** load() into the pool: wall time (resolves when the worker that read IndexedDB has parsed
   * it), that worker's own timings (read + fromBytes), and the time until every worker has it. */
  async load(name) {
    const t0 = performance.now();
    await llm.load(name);
    const ms = performance.now() - t0;
    const timings = llm.metrics().ops.load?.worker?.last ?? null;
    return { ms, allReadyMs: await allReady(t0), timings };
  },

  async remove(name) { await llm.remove(name); return true; },

  /** `n` sequential requests (seeds seed0..), one at a time: latency per request. */
  /**
   * Typing `text` one character at a time into a text box, as the website's Type tab answers
   * each keystroke: an `input` event, then `predict` (k = 5, the word being typed as the prefix)
   * and the suggestions put in the page. Per keystroke: the time from the event to the
   * suggestions in the page (`inPage`) and to the next animation frame (`frame`, which adds the
   * wait for the frame boundary); medians and 99th percentiles.
   */
  async keystrokes(text) {
    const area = document.createElement('textarea');
    const list = document.createElement('ol');
    document.body.append(area, list);
    const inPage = [];
    const frame = [];
    let pending = null;
    area.addEventListener('input', () => {
      const t0 = performance.now();
      const before = area.value;
      const partial = /[\p{L}\p{N}_]*$/u.exec(before)[0];
      pending = llm.predict(before.slice(0, before.length - partial.length), { k: 5, prefix: partial }).then((ps) => {
        list.replaceChildren(...ps.map((p) => {
          const li = document.createElement('li');
          li.textContent = `${p.word} ${(p.probability * 100).toFixed(1)}%`;
          return li;
        }));
        inPage.push(performance.now() - t0);
        return new Promise((r) => requestAnimationFrame(() => { frame.push(performance.now() - t0); r(); }));
      });
    });
    for (let i = 1; i <= text.length; i++) {
      area.value = text.slice(0, i);
      area.dispatchEvent(new Event('input'));
      await pending;
    }
    area.remove();
    list.remove();
    const q = (xs, f) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))];
    return { n: inPage.length, p50: q(inPage, 0.5), p99: q(inPage, 0.99), frameP50: q(frame, 0.5), frameP99: q(frame, 0.99) };
  },

  async sequential(n, tokens, seed0 = 0) {
    const lat = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await llm.generate('', { seed: seed0 + i, maxTokens: tokens, stopAtSentenceEnd: false });
      lat.push(performance.now() - t0);
    }
    return summary(lat);
  },

  /** `batches` rounds of `c` concurrent requests: batch wall time and per-request latency. */
  async concurrent(batches, c, tokens, seed0 = 0) {
    const batch = [];
    const lat = [];
    let seed = seed0;
    for (let b = 0; b < batches; b++) {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: c }, () => {
        const s = seed++;
        return llm.generate('', { seed: s, maxTokens: tokens, stopAtSentenceEnd: false })
          .then(() => lat.push(performance.now() - t0));
      }));
      batch.push(performance.now() - t0);
    }
    return { batch: summary(batch), request: summary(lat) };
  },

  /** `total` requests kept `inFlight` deep: requests/s over the whole wall time. */
  async throughput(total, inFlight, tokens, seed0 = 0) {
    let next = 0;
    let tokensOut = 0;
    const lane = async () => {
      while (next < total) {
        const seed = seed0 + next++;
        const g = await llm.generate('', { seed, maxTokens: tokens, stopAtSentenceEnd: false });
        tokensOut += g.stats.tokens;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: inFlight }, lane));
    const ms = performance.now() - t0;
    const g = llm.metrics().ops.generate;
    return { requests: total, inFlight, ms, requestsPerSecond: total / (ms / 1000),
      tokensPerSecond: tokensOut / (ms / 1000),
      // Over the latest requests: wall (main thread) vs time inside the worker.
      wallMeanMs: g.meanMs, workerMeanMs: g.worker?.meanMs ?? null, overheadMeanMs: g.overheadMeanMs ?? null };
  },

  /** Long sequential requests: tokens/s measured inside the worker (stats.elapsedMs). */
  async longGeneration(n, tokens, seed0 = 0) {
    let toks = 0;
    let ms = 0;
    const per = [];
    for (let i = 0; i < n; i++) {
      const g = await llm.generate('', { seed: seed0 + i, maxTokens: tokens, stopAtSentenceEnd: false });
      toks += g.stats.tokens;
      ms += g.stats.elapsedMs;
      per.push(g.stats.tokensPerSecond);
    }
    return { requests: n, tokens: toks, workerMs: ms, tokensPerSecond: toks / (ms / 1000),
      perRequestP50: pct(per, 50) };
  },

  terminate() { llm?.terminate(); llm = null; return true; },

  core: {
    async start() {
      coreWorker = new Worker(new URL('./core-worker.js', import.meta.url), { type: 'module' });
      coreWorker.onmessage = ({ data }) => {
        const p = pending.get(data.id);
        pending.delete(data.id);
        if (data.ok) p.resolve(data.result); else p.reject(new Error(data.error));
      };
      coreWorker.onerror = (ev) => {
        for (const p of pending.values()) p.reject(new Error(`core worker: ${ev.message ?? 'failed to load'}`));
        pending.clear();
      };
      return coreCall('init');
    },
    train(order) {
      const bytes = corpus.bytes.slice(0);
      return coreCall('train', { bytes, order }, [bytes]);
    },
    loadStored(name) { return coreCall('loadStored', { name }); },
    generate(requests, tokens, seed0 = 0) { return coreCall('generate', { requests, tokens, seed0 }); },
    free() { return coreCall('free'); },
    stop() { coreWorker?.terminate(); coreWorker = null; return true; },
  },
};

document.getElementById('status').textContent = 'ready';
window.pageReady = true;
