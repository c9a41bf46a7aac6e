// The core benchmark inside one dedicated module worker, without the pool: the same steps as
// `uellm-bench` (src/bin/uellm-bench/measure.rs) timed with performance.now() inside the
// worker. It uses the package's own core.js (the wasm glue adapter) and storage.js (its
// IndexedDB layout), so the "load from IndexedDB into a worker" figure reads exactly what
// `llm.save()` wrote.
import * as core from '/node_modules/ultra-efficient-llm/core.js';
import * as storage from '/node_modules/ultra-efficient-llm/storage.js';

const CHUNK = 1 << 20; // the runtime's worker feeds 1 MiB slices too
let model = null;

function setModel(m) {
  if (model) model.free?.();
  model = m;
}

const ops = {
  async init() {
    const t0 = performance.now();
    await core.initCore();
    return { initMs: performance.now() - t0, version: core.coreVersion() };
  },

  /** Trains at `order` on `bytes` (ArrayBuffer), then serialises; like measure.rs's training step. */
  train({ bytes, order }) {
    const u8 = new Uint8Array(bytes);
    // Like measure.rs, which holds no model while it trains: the loaded one would otherwise make
    // this instance grow by the whole training peak (new wasm pages are faulted in one by one).
    setModel(null);
    const t0 = performance.now();
    const trainer = core.createTrainer({ maxPatternLength: order, minFrequency: 1, maxPatterns: 0 });
    trainer.setTotalBytes(u8.length);
    for (let i = 0; i < u8.length; i += CHUNK) trainer.feedBytes(u8.subarray(i, Math.min(u8.length, i + CHUNK)));
    const m = trainer.finish();
    const trainMs = performance.now() - t0;
    const t1 = performance.now();
    const file = m.toBytes();
    const toBytesMs = performance.now() - t1;
    const info = core.info(m);
    m.free?.();
    // Model.fromBytes on the bytes just made (measure.rs's "load" figure).
    const t2 = performance.now();
    setModel(core.modelFromBytes(file));
    const fromBytesMs = performance.now() - t2;
    return { trainMs, toBytesMs, fromBytesMs, fileBytes: file.byteLength, patterns: info.patterns,
      memoryBytes: info.memoryBytes };
  },

  /** Reads `name` from IndexedDB and parses it: the model is then ready in this worker. */
  async loadStored({ name }) {
    const t0 = performance.now();
    const bytes = new Uint8Array(await (await storage.loadModelFile(name)).arrayBuffer());
    const readMs = performance.now() - t0;
    const t1 = performance.now();
    setModel(core.modelFromBytes(bytes));
    const parseMs = performance.now() - t1;
    return { readMs, parseMs, totalMs: performance.now() - t0, bytes: bytes.byteLength };
  },

  /**
   * `requests` text generations with seeds `seed0..` (measure.rs's generate_text). Without
   * cross-origin isolation performance.now() ticks in 100 µs steps, so requests are timed in
   * groups of `group` and the per-request time is the median of the group means (groups of 100
   * requests of ~50 µs last ~5 ms: a 100 µs tick is 2% of one, not the 10% of a group of 20).
   */
  generate({ requests, tokens, group = 100, seed0 = 0, options = {} }) {
    const opts = { maxTokens: tokens, stopAtSentenceEnd: false, ...options };
    const groups = [];
    let total = 0;
    const t0 = performance.now();
    for (let start = 0; start < requests; start += group) {
      const end = Math.min(requests, start + group);
      const g0 = performance.now();
      for (let seed = start; seed < end; seed++) {
        total += core.generate(model, '', { ...opts, seed: seed0 + seed }).stats.tokens;
      }
      groups.push((performance.now() - g0) / (end - start));
    }
    const ms = performance.now() - t0;
    const sorted = groups.sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return { requests, tokens: total, ms, group, tokensPerSecond: total / (ms / 1000), usPerRequest: medianMs * 1000,
      crossOriginIsolated: self.crossOriginIsolated };
  },

  free() { setModel(null); return true; },
};

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    self.postMessage({ id, ok: true, result: await ops[op](args ?? {}) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: `${e?.name}: ${e?.message}` });
  }
};
