// ultra-efficient-llm in the browser: a pool of module workers (one wasm instance each) behind
// promises. See index.d.ts for the API.
//
//   import { create } from 'ultra-efficient-llm';
//   const llm = await create({ workers: 4 });
//   await llm.train([file], { maxPatternLength: 5 }, { onProgress: (p) => console.log(p) });
//   const { text, stats } = await llm.generate('It is a truth', { seed: 42, maxTokens: 40 });
import { Pool } from './pool.js';
import { NoModelError } from './errors.js';

export * from './errors.js';

/** Pool-level presets; any field given to `create` overrides the preset's. */
export const presets = Object.freeze({
  development: Object.freeze({ workers: 2, log: 'detailed', slowOpMs: 50,
    generateDefaults: Object.freeze({ maxPatternsPerQuery: 500 }) }),
  production: Object.freeze({ workers: 8, log: 'quiet', slowOpMs: 200,
    generateDefaults: Object.freeze({ maxPatternsPerQuery: 2000 }) }),
  high_performance: Object.freeze({ workers: 16, log: 'quiet', slowOpMs: 10,
    generateDefaults: Object.freeze({ maxPatternsPerQuery: 5000, activationCacheSize: 5000 }) }),
});

export const defaults = Object.freeze({
  workers: 4,
  maxQueue: 256,
  generateTimeoutMs: 30_000,
  trainTimeoutMs: 300_000,
  storageTimeoutMs: 30_000,
  initTimeoutMs: 30_000,
  log: 'quiet',          // 'detailed' (perf line per op + slow-op warnings) | 'quiet' (warnings) | 'silent'
  slowOpMs: null,        // warn when an op takes longer (null: never)
  generateDefaults: {},
  modelName: 'model',
  testHooks: false,
});

/** The configuration `create(config)` would use (preset, then overrides). */
export function resolveConfig(config = {}) {
  const preset = config.preset ? presets[config.preset] : {};
  if (!preset) {
    const err = new Error(`unknown preset "${config.preset}"; expected one of: ${Object.keys(presets).join(', ')}`);
    err.name = 'InvalidOptionError';
    err.code = 'INVALID_OPTION';
    throw err;
  }
  const out = { ...defaults, ...preset, ...config };
  out.generateDefaults = { ...(preset.generateDefaults ?? {}), ...(config.generateDefaults ?? {}) };
  for (const key of ['workers', 'maxQueue']) {
    if (!Number.isInteger(out[key]) || out[key] < (key === 'workers' ? 1 : 0)) {
      const err = new Error(`config.${key} must be an integer ≥ ${key === 'workers' ? 1 : 0}, got ${out[key]}`);
      err.name = 'InvalidOptionError';
      err.code = 'INVALID_OPTION';
      throw err;
    }
  }
  return out;
}

class OpStats {
  constructor() { this.count = 0; this.errors = 0; this.samples = []; this.sum = 0; this.max = 0; }
  add(ms, ok) {
    this.count++;
    if (!ok) this.errors++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
    this.samples.push(ms);
    if (this.samples.length > 1024) this.samples.shift();
  }
  summary() {
    const s = [...this.samples].sort((a, b) => a - b);
    const pct = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
    return { count: this.count, errors: this.errors, meanMs: this.count ? this.sum / this.count : 0,
      p50Ms: pct(50), p95Ms: pct(95), maxMs: this.max };
  }
}

/** Starts the worker pool; resolves once every worker has initialised its wasm module. */
export async function create(config = {}) {
  const llm = new Uellm(resolveConfig(config));
  try {
    await llm.ready;
  } catch (e) {
    llm.terminate();
    throw e;
  }
  return llm;
}

class Uellm {
  constructor(config) {
    this.config = config;
    this.logger = config.logger ?? console;
    this.modelBytes = null;   // ArrayBuffer of the current model (kept for worker restarts)
    this.modelInfo = null;
    this.modelVersion = 0;
    this.startedAt = now();
    this.ops = new Map();
    this.gen = { tokens: 0, elapsedMs: 0, cacheHits: 0, cacheMisses: 0 };
    this.events = { restarts: 0, timeouts: 0, aborts: 0, crashes: 0 };
    this.terminated = false;
    // The default is spelled out as `new Worker(new URL('./worker.js', import.meta.url), {...})`:
    // bundlers (Vite, webpack 5, Parcel) recognise only that literal form and then bundle the
    // worker with its imports and the .wasm; a URL held in a variable is copied as a bare asset.
    const makeWorker = config.workerUrl
      ? () => new Worker(config.workerUrl, { type: 'module', name: 'ultra-efficient-llm' })
      : () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'ultra-efficient-llm' });
    const initArgs = { testHooks: !!config.testHooks, wasmUrl: config.wasmUrl ? String(config.wasmUrl) : undefined };
    // Worker replacements, by cause (pool-level: covers every request, test hooks included).
    const onEvent = (event, data) => {
      if (event !== 'restart') return;
      this.events.restarts++;
      if (data.reason === 'TIMEOUT') this.events.timeouts++;
      else if (data.reason === 'ABORTED') this.events.aborts++;
      else this.events.crashes++;
    };
    this.pool = new Pool({ name: 'generation', size: config.workers, maxQueue: config.maxQueue,
      makeWorker, initArgs, initTimeoutMs: config.initTimeoutMs, onEvent,
      onReady: (h) => this.loadCurrentModel(h) });
    this.trainer = new Pool({ name: 'training', size: 1, maxQueue: config.maxQueue, makeWorker,
      initArgs, initTimeoutMs: config.initTimeoutMs, onEvent, onReady: async () => {} });
    this.ready = Promise.all([this.pool.start(), this.trainer.start()]).then(() => this);
  }

  // A (re)started generation worker gets the current model; reloads if it changed meanwhile.
  async loadCurrentModel(handle) {
    let version = -1;
    while (this.modelBytes && version !== this.modelVersion && !handle.dead) {
      version = this.modelVersion;
      const bytes = this.modelBytes.slice(0);
      await handle.call('load', { bytes }, { transfer: [bytes], timeoutMs: this.config.storageTimeoutMs });
    }
  }

  async timed(op, fn) {
    const t0 = now();
    try {
      const value = await fn();
      this.record(op, now() - t0, true, value);
      return value;
    } catch (e) {
      this.record(op, now() - t0, false);
      throw e;
    }
  }

  record(op, ms, ok, value) {
    if (!this.ops.has(op)) this.ops.set(op, new OpStats());
    this.ops.get(op).add(ms, ok);
    const log = this.config.log;
    if (ok && op === 'generate' && value?.stats) {
      const s = value.stats;
      this.gen.tokens += s.tokens ?? 0;
      this.gen.elapsedMs += s.elapsedMs ?? 0;
      this.gen.cacheHits += s.cacheHits ?? 0;
      this.gen.cacheMisses += s.cacheMisses ?? 0;
      if (log === 'detailed') {
        const sparsity = typeof s.sparsity === 'number' ? ` | Sparsity: ${(s.sparsity * 100).toFixed(1)}%` : '';
        this.logger.info?.(`⚡ Generated in ${(ms / 1000).toFixed(3)}s | ${Math.round((s.tokens ?? 0) / Math.max(ms / 1000, 1e-9))} tokens/s${sparsity}`);
      }
    } else if (ok && log === 'detailed') {
      this.logger.info?.(`⚡ ${op} in ${(ms / 1000).toFixed(3)}s`);
    }
    if (log !== 'silent' && this.config.slowOpMs != null && ms > this.config.slowOpMs) {
      this.logger.warn?.(`🐢 slow ${op}: ${ms.toFixed(1)} ms (threshold ${this.config.slowOpMs} ms)`);
    }
  }

  requireModel() {
    if (!this.modelBytes) throw new NoModelError();
  }

  /** Installs `bytes` (ArrayBuffer) as the current model on every generation worker. */
  async distribute(bytes, info, except) {
    this.modelBytes = bytes;
    this.modelInfo = info;
    this.modelVersion++;
    await this.pool.broadcast('load', () => {
      const copy = bytes.slice(0);
      return { args: { bytes: copy }, transfer: [copy] };
    }, { timeoutMs: this.config.storageTimeoutMs, except });
  }

  train(sources, options, { onProgress, signal, timeoutMs } = {}) {
    return this.timed('train', async () => {
      const list = Array.isArray(sources) ? sources : [sources];
      const onEvent = onProgress
        ? (m) => { if (m.type === 'progress') onProgress({ phase: m.phase, bytesSeen: m.bytesSeen, bytesTotal: m.bytesTotal }); }
        : undefined;
      const { bytes, info } = await this.trainer.run('train', { sources: list, options },
        { timeoutMs: timeoutMs ?? this.config.trainTimeoutMs, signal, onEvent });
      await this.distribute(bytes, info);
      return info;
    });
  }

  /** Loads model bytes (a model file: ArrayBuffer, typed array or Blob) into every worker. */
  loadBytes(source, { signal, timeoutMs } = {}) {
    return this.timed('loadBytes', async () => {
      const buf = source instanceof Blob ? await source.arrayBuffer()
        : source instanceof ArrayBuffer ? source.slice(0)
          : new Uint8Array(source.buffer, source.byteOffset, source.byteLength).slice().buffer;
      const copy = buf.slice(0);
      // Validate on one worker first: a bad file throws its typed error and changes nothing.
      const { info } = await this.pool.run('load', { bytes: copy }, { transfer: [copy], signal,
        timeoutMs: timeoutMs ?? this.config.storageTimeoutMs });
      await this.distribute(buf, info);
      return info;
    });
  }

  generate(prompt, options, { onToken, signal, timeoutMs } = {}) {
    return this.timed('generate', async () => {
      this.requireModel();
      const opts = { ...this.config.generateDefaults, ...(options ?? {}) };
      const onEvent = onToken ? (m) => { if (m.type === 'token') onToken(m.piece, m.token); } : undefined;
      return this.pool.run('generate', { prompt, options: opts, stream: !!onToken },
        { timeoutMs: timeoutMs ?? this.config.generateTimeoutMs, signal, onEvent });
    });
  }

  perplexity(text, { signal, timeoutMs } = {}) {
    return this.timed('perplexity', async () => {
      this.requireModel();
      return this.pool.run('perplexity', { text },
        { timeoutMs: timeoutMs ?? this.config.generateTimeoutMs, signal });
    });
  }

  info() {
    return this.timed('info', async () => {
      if (!this.modelBytes) return null;
      return this.pool.run('info', {}, { timeoutMs: this.config.storageTimeoutMs });
    });
  }

  // ---- storage (IndexedDB, inside a worker) ----
  storage(op, args, extra = {}) {
    return this.pool.run(op, args, { timeoutMs: this.config.storageTimeoutMs, ...extra });
  }

  save(name) {
    return this.timed('save', async () => {
      this.requireModel();
      return this.storage('save', { name, base: this.config.modelName });
    });
  }

  load(name) {
    return this.timed('load', async () => {
      // One worker reads and parses it (a bad file throws its typed error and changes nothing);
      // then every worker gets a copy.
      const { bytes, info } = await this.storage('loadStored', { name });
      await this.distribute(bytes, info);
      return info;
    });
  }

  list() { return this.timed('list', () => this.storage('list', {})); }
  remove(name) { return this.timed('remove', () => this.storage('remove', { name })); }

  exportModel(name) {
    return this.timed('export', async () => {
      const buf = await this.storage('export', { name });
      return new Blob([buf], { type: 'application/octet-stream' });
    });
  }

  importModel(source, name) {
    return this.timed('import', () => this.storage('import', { source, name, base: this.config.modelName }));
  }

  // ---- observability ----
  health() {
    const p = this.pool.stats();
    const t = this.trainer.stats();
    let status = 'ok';
    if (this.terminated) status = 'terminated';
    else if (p.ready === 0) status = 'down';
    else if (p.ready < p.total || t.ready < t.total) status = 'degraded';
    return {
      status,
      timestamp: new Date().toISOString(),
      modelLoaded: !!this.modelBytes,
      poolActive: !this.terminated && p.ready > 0,
      workers: { total: p.total, busy: p.busy, idle: p.idle, starting: p.starting },
      training: { busy: t.busy > 0, queued: t.queued },
      queued: p.queued + t.queued,
    };
  }

  metrics() {
    const ops = {};
    for (const [op, s] of this.ops) ops[op] = s.summary();
    const lookups = this.gen.cacheHits + this.gen.cacheMisses;
    const uptimeMs = now() - this.startedAt;
    const requests = [...this.ops.values()].reduce((a, s) => a + s.count, 0);
    return {
      uptimeMs,
      ops,
      modelMemoryBytes: this.modelInfo?.memoryBytes ?? this.modelInfo?.memory_bytes ?? 0,
      modelFileBytes: this.modelBytes?.byteLength ?? 0,
      cache: { hits: this.gen.cacheHits, misses: this.gen.cacheMisses,
        hitRate: lookups ? this.gen.cacheHits / lookups : null },
      throughput: {
        tokens: this.gen.tokens,
        tokensPerSecond: this.gen.elapsedMs > 0 ? this.gen.tokens / (this.gen.elapsedMs / 1000) : 0,
        requestsPerSecond: uptimeMs > 0 ? requests / (uptimeMs / 1000) : 0,
      },
      workers: { ...this.events },
    };
  }

  /** Test-only operations (`config.testHooks: true`). */
  get __test() {
    if (!this.config.testHooks) return undefined;
    return {
      crash: (mode = 'throw', extra = {}) => this.pool.run('__crash', { mode, ...extra },
        { timeoutMs: extra.timeoutMs ?? this.config.generateTimeoutMs }),
      // A save that fails inside its transaction after writing the bytes (kind 'quota').
      saveFailing: (name, kind = 'quota') => this.timed('save', async () => {
        this.requireModel();
        return this.storage('save', { name, base: this.config.modelName, failForTest: kind });
      }),
    };
  }

  terminate() {
    this.terminated = true;
    this.pool.terminate();
    this.trainer.terminate();
  }
}

function now() {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
