// ultra-efficient-llm in the browser: a pool of module workers (one wasm instance each) behind
// promises. See index.d.ts for the API.
//
//   import { create } from 'ultra-efficient-llm';
//   const llm = await create({ workers: 4 });
//   await llm.train([file], { maxPatternLength: 5 }, { onProgress: (p) => console.log(p) });
//   const { text, stats } = await llm.generate('It is a truth', { seed: 42, maxTokens: 40 });
import { Pool } from './pool.js';
import { AbortError, FetchError, InvalidOptionError, NoModelError, UnsupportedEnvironmentError } from './errors.js';
import { beside, explainStartFailure, spawnWorker } from './spawn.js';

export * from './errors.js';

// The core's generation presets (src/config.rs), each as the options in which it differs from the
// core's defaults, keyed by preset name. They are not written here: scripts/build-pkg.sh asks the
// built core (`presets()` against `defaultGenerateOptions()`) and puts them in place of the
// `null` below. The pool needs them synchronously (`resolveConfig`, before any worker starts) on a
// page that never instantiates the wasm, so they cannot be asked for at run time.
const CORE_PRESETS = /* build-pkg.sh: core presets */ null;
if (CORE_PRESETS === null) {
  throw new Error('ultra-efficient-llm: index.js runs from the package that scripts/build-pkg.sh builds, '
    + 'which writes the core presets into it');
}

/**
 * Pool-level presets; any field given to `create` overrides the preset's. Each one's
 * `generateDefaults` are the core preset of the same name.
 */
export const presets = Object.freeze({
  development: Object.freeze({ workers: 2, log: 'detailed', slowOpMs: 50,
    generateDefaults: Object.freeze({ ...CORE_PRESETS.development }) }),
  production: Object.freeze({ workers: 8, log: 'quiet', slowOpMs: 200,
    generateDefaults: Object.freeze({ ...CORE_PRESETS.production }) }),
  high_performance: Object.freeze({ workers: 16, log: 'quiet', slowOpMs: 10,
    generateDefaults: Object.freeze({ ...CORE_PRESETS.high_performance }) }),
});

export const defaults = Object.freeze({
  // An upper bound, as each preset's `workers`: without `config.workers` the pool has
  // min(this, deviceWorkers()) workers (see resolveConfig).
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

/**
 * The generation workers this device can run side by side: its logical cores
 * (`navigator.hardwareConcurrency`) minus one, which the page's own thread and the training
 * worker need, and at least one. Where the browser does not say (or says something odd), two
 * cores are assumed, as the pool's install limit does (pool.js). More workers than cores buy no
 * throughput (each request runs on one core) and, without cross-origin isolation, each holds a
 * copy of the model: en-train at order 5 costs about 120 MB of page memory per worker
 * (docs/benchmarks.md).
 */
export function deviceWorkers() {
  const said = globalThis.navigator?.hardwareConcurrency;
  const cores = Number.isInteger(said) && said > 0 ? said : 2;
  return Math.max(1, cores - 1);
}

/**
 * The configuration `create(config)` would use (preset, then overrides). The worker count is the
 * caller's `workers` when given, as given; otherwise the device's (deviceWorkers), at most the
 * preset's `workers` (or `defaults.workers`): a preset's count is an upper bound, so
 * `high_performance` on a 4-core laptop starts 3 workers, not 16.
 */
export function resolveConfig(config = {}) {
  // Own keys only: "toString" or "__proto__" is no preset.
  if (config.preset && !Object.hasOwn(presets, config.preset)) {
    throw new InvalidOptionError(`unknown preset "${config.preset}"; expected one of: ${Object.keys(presets).join(', ')}`);
  }
  const preset = config.preset ? presets[config.preset] : {};
  const out = { ...defaults, ...preset, ...config };
  // `workers: undefined` counts as not given (a caller spreading an options object of its own).
  if (config.workers === undefined) out.workers = Math.min(preset.workers ?? defaults.workers, deviceWorkers());
  out.generateDefaults = { ...(preset.generateDefaults ?? {}), ...(config.generateDefaults ?? {}) };
  // Threads (one shared memory and one model for the generation workers) where the page can have
  // them: cross-origin isolated (COOP/COEP), so SharedArrayBuffer exists. See `threadsAvailable`.
  if (out.threads === undefined || out.threads === null) out.threads = threadsAvailable();
  if (typeof out.threads !== 'boolean') {
    throw new InvalidOptionError(`config.threads must be a boolean (or absent: ${threadsAvailable()} here), got ${typeof out.threads}`);
  }
  for (const key of ['workers', 'maxQueue']) {
    if (!Number.isInteger(out[key]) || out[key] < (key === 'workers' ? 1 : 0)) {
      throw new InvalidOptionError(`config.${key} must be an integer ≥ ${key === 'workers' ? 1 : 0}, got ${out[key]}`);
    }
  }
  return out;
}

/**
 * Whether this page can run the threaded build: cross-origin isolated (`crossOriginIsolated`,
 * which COOP `same-origin` and COEP `require-corp` give), so SharedArrayBuffer and shared
 * WebAssembly memory exist.
 */
export function threadsAvailable() {
  return globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

/**
 * A model name argument: a non-empty string (IndexedDB would take a number as another key, and
 * fail on `undefined` with a storage error); with `optional`, also nothing (a default name).
 */
function nameArg(name, optional = false) {
  // An empty string is no name: it would be stored under a default name the caller never sees.
  if (optional && (name === undefined || name === null)) return undefined;
  if (typeof name !== 'string' || name === '') {
    const got = name === null ? 'null' : typeof name === 'string' ? 'an empty string' : typeof name;
    throw new InvalidOptionError(`a model name must be a non-empty string, got ${got}`);
  }
  return name;
}

/** `{ overwrite }` of save/importModel: only a boolean (a truthy string is no consent to replace). */
function overwriteArg(options) {
  const overwrite = options?.overwrite ?? false;
  if (typeof overwrite !== 'boolean') {
    throw new InvalidOptionError(`options.overwrite must be a boolean, got ${typeof overwrite}`);
  }
  return overwrite;
}

const SAMPLES = 1024; // latest durations kept per op for the percentiles
// How long a generation worker asked to stop may take to answer before it is replaced: several
// of its stop polls (every 50 ms, see worker.js), with room for a busy machine.
const STOP_GRACE_MS = 500;
const TRAINER_RECYCLE_MS = 2000; // idle time after a training before its worker is replaced

/** Count, mean, max and the latest SAMPLES durations (a ring: O(1) per request, no allocation). */
class Durations {
  constructor() { this.count = 0; this.sum = 0; this.max = 0; this.ring = new Float64Array(SAMPLES); }
  add(ms) {
    this.ring[this.count % SAMPLES] = ms;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  summary() {
    const s = this.ring.slice(0, Math.min(this.count, SAMPLES)).sort();
    const pct = (p) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0);
    return { count: this.count, meanMs: this.count ? this.sum / this.count : 0,
      p50Ms: pct(50), p95Ms: pct(95), maxMs: this.max };
  }
}

class OpStats {
  constructor() {
    this.wall = new Durations();   // call -> settle, on the main thread
    this.errors = 0;
    this.worker = new Durations(); // time inside the worker that served it (timings.totalMs)
    this.wallWithWorker = 0;       // sum of wall times of the calls that have worker timings
    this.phases = {};              // phase -> sum of ms (mean = sum / worker.count)
    this.last = null;              // the latest call's worker timings
  }
  add(ms, ok, timings) {
    this.wall.add(ms);
    if (!ok) this.errors++;
    if (timings) {
      this.worker.add(timings.totalMs);
      this.wallWithWorker += ms;
      // Durations only (`…Ms`): timings also carry a count (installWorkers) and wasmBytes.
      for (const k in timings) if (k.endsWith('Ms')) this.phases[k] = (this.phases[k] ?? 0) + timings[k];
      this.last = timings;
    }
  }
  summary() {
    const w = this.wall.summary();
    const out = { count: w.count, errors: this.errors, meanMs: w.meanMs, p50Ms: w.p50Ms, p95Ms: w.p95Ms, maxMs: w.maxMs };
    const n = this.worker.count;
    if (n) {
      const phases = {};
      for (const k in this.phases) phases[k] = this.phases[k] / n;
      // Wall minus worker time: queueing, messaging (transfer, cloning) and main-thread work.
      out.worker = { ...this.worker.summary(), phases, last: { ...this.last } };
      out.overheadMeanMs = Math.max(0, (this.wallWithWorker - this.worker.sum) / n);
    }
    return out;
  }
}

/**
 * Starts the worker pool; resolves once every worker has initialised its wasm module. Rejects
 * with `UnsupportedEnvironmentError` where there is no `Worker` (Node.js, a server-side render).
 */
export async function create(config = {}) {
  if (typeof Worker !== 'function') {
    // Node.js has worker_threads, not Web Workers: point at what does run there.
    throw new UnsupportedEnvironmentError('create() runs the model in module Web Workers, and ' +
      'this environment has none (Node.js, or a server-side render). Outside a browser, use the ' +
      "WebAssembly module directly: import init, { Trainer, Model } from " +
      "'ultra-efficient-llm/core', then await init() (in Node it reads the .wasm from the " +
      'package folder), or the native crate.');
  }
  const llm = new Uellm(resolveConfig(config));
  try {
    await llm.ready;
  } catch (e) {
    llm.terminate();
    // A worker that crashed while starting: name its URL and what to do.
    throw await explainStartFailure(e, llm.workerUrl);
  }
  return llm;
}

class Uellm {
  constructor(config) {
    this.config = config;
    this.logger = config.logger ?? console;
    this.modelInfo = null;
    this.startedAt = now();
    this.ops = new Map();
    this.gen = { tokens: 0, elapsedMs: 0, cacheHits: 0, cacheMisses: 0 };
    this.events = { restarts: 0, timeouts: 0, aborts: 0, crashes: 0, stopped: 0 };
    this.terminated = false;
    // The default is spelled out as `new Worker(new URL('./worker.js', import.meta.url), {...})`:
    // bundlers (Vite, webpack 5, Parcel) recognise only that literal form and then bundle the
    // worker with its imports and the .wasm; a URL held in a variable is copied as a bare asset.
    // spawnWorker falls back to a same-origin blob: bootstrap when the script is cross-origin (a
    // CDN); `this.workerUrl` is where create() looks when the start fails (see spawn.js).
    const options = { type: 'module', name: 'ultra-efficient-llm' };
    this.workerUrl = config.workerUrl ? new URL(config.workerUrl, globalThis.location?.href) : beside('./worker.js');
    const makeWorker = config.workerUrl
      ? () => spawnWorker(this.workerUrl, options, () => new Worker(config.workerUrl, options))
      : () => spawnWorker(this.workerUrl, options,
        () => new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'ultra-efficient-llm' }));
    const initArgs = { testHooks: !!config.testHooks, wasmUrl: config.wasmUrl ? String(config.wasmUrl) : undefined };
    // The generation workers run the threaded build when config.threads (see resolveConfig): one
    // memory and one model for all of them. The training worker always runs the plain build, in
    // a memory of its own that it gives back when replaced (it holds no model).
    const genArgs = config.threads ? { ...initArgs, threads: true,
      threadsWasmUrl: config.threadsWasmUrl ? String(config.threadsWasmUrl) : undefined } : initArgs;
    // Worker replacements, by cause (pool-level: covers every request, test hooks included).
    const onEvent = (event, data) => {
      if (event === 'stopped') this.events.stopped++;
      if (event !== 'restart') return;
      this.events.restarts++;
      if (data.reason === 'TIMEOUT') this.events.timeouts++;
      else if (data.reason === 'ABORTED') this.events.aborts++;
      else this.events.crashes++;
    };
    // Generation workers hold a model, which a replacement must load again: one that is asked to
    // stop (abort, timeout) gets STOP_GRACE_MS to answer first (see pool.js). The training
    // worker holds none and is replaced at once.
    this.pool = new Pool({ name: 'generation', size: config.workers, maxQueue: config.maxQueue,
      makeWorker, initArgs: genArgs, initTimeoutMs: config.initTimeoutMs, onEvent,
      installTimeoutMs: config.storageTimeoutMs, stopGraceMs: STOP_GRACE_MS });
    this.trainer = new Pool({ name: 'training', size: 1, maxQueue: config.maxQueue, makeWorker,
      initArgs, initTimeoutMs: config.initTimeoutMs, onEvent });
    this.ready = Promise.all([this.pool.start(), this.trainer.start()]).then(() => this);
  }

  /**
   * The current model file as a Blob (kept by the pool for background installs and worker
   * restarts). Never an ArrayBuffer on this thread: see `installFirst`.
   */
  get modelFile() { return this.pool.modelBlob ?? null; }

  /** Whether the generation workers share one memory and one model (the threaded build). */
  get threaded() { return this.config.threads === true; }

  /** Runs `fn(trace)` and records its wall time and `trace.worker` (the worker's timings). */
  async timed(op, fn) {
    const t0 = now();
    const trace = { worker: null };
    try {
      const value = await fn(trace);
      this.record(op, now() - t0, true, value, trace.worker);
      return value;
    } catch (e) {
      this.record(op, now() - t0, false, undefined, trace.worker);
      throw e;
    }
  }

  record(op, ms, ok, value, timings) {
    let stats = this.ops.get(op);
    if (stats === undefined) this.ops.set(op, stats = new OpStats());
    stats.add(ms, ok, timings);
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
    if (!this.modelFile) throw new NoModelError();
  }

  // How a model file reaches the generation workers. The main thread holds it only as a Blob and
  // posts that Blob: a Blob crosses postMessage by reference (no bytes are cloned), and each
  // worker reads it with `blob.arrayBuffer()` on its own thread. The Blob itself is made where
  // the bytes are, off the main thread (the training worker, or the worker that read IndexedDB).
  // Alternatives considered: copying one ArrayBuffer per worker here (`slice` + transfer, what
  // this replaced) costs one 8.5 MB copy per worker ON this thread (56–104 ms long tasks with 4
  // workers); structured-cloning an ArrayBuffer without transferring it copies on this thread
  // too; staggering the copies with setTimeout only splits the long task, and keeps a copy here.
  // N transferable copies made by the training worker would work for train() but not for
  // restarts or load(). The Blob serves every path (train, load, loadBytes, worker restarts).

  /**
   * Loads a model file into ONE generation worker (`op`: `load` with a Blob, or `loadStored`,
   * which reads IndexedDB and answers with the file as a Blob) and makes it current as soon as
   * that worker has it: the call resolves then, and the pool installs the file in the other
   * workers in the background (see Pool#commit). A bad file fails in that one worker and changes
   * nothing (the previous model stays current everywhere).
   */
  async installFirst(op, args, trace, { signal, timeoutMs, priority, progress } = {}) {
    const blob = args.blob;
    // The worker reports `reading` (the file, from the Blob or IndexedDB) and `installing` (the
    // parse: its start, then the core's fraction as it goes); `installing` ends when it answers.
    const onEvent = progress ? (m) => {
      if (m.type !== 'progress') return;
      const reading = m.phase === 'reading';
      const fraction = reading ? (m.bytesTotal ? m.bytesSeen / m.bytesTotal : 0) : (m.fraction ?? 0);
      progress(m.phase, fraction, m.bytesSeen, m.bytesTotal);
    } : undefined;
    await this.pool.run(op, progress ? { ...args, progress: true } : args, { signal, trace, priority, onEvent,
      timeoutMs: timeoutMs ?? this.config.storageTimeoutMs,
      commit: (result) => { this.modelInfo = result.info; return result.blob ?? blob; } });
    return this.modelInfo;
  }

  train(sources, options, { onProgress, signal, timeoutMs, memory } = {}) {
    return this.timed('train', async (trace) => {
      if (memory !== undefined && !(Number.isSafeInteger(memory) && memory > 0)) {
        throw new InvalidOptionError(`memory must be a whole number of bytes ≥ 1, got ${memory}`);
      }
      const progress = progressReporter(onProgress);
      const list = await trainSources(sources, signal);
      let size = 0;
      // Worker events: `reading` (bytes fed so far) and `building` (its start, then the core's
      // fraction of the build as it goes).
      const onEvent = progress
        ? (m) => { if (m.type === 'progress') {
          size = m.bytesTotal;
          progress(m.phase, m.phase === 'reading' ? (m.bytesTotal ? m.bytesSeen / m.bytesTotal : 1) : (m.fraction ?? 0),
            m.bytesSeen, m.bytesTotal);
        } }
        : undefined;
      // Whatever the outcome (a training that fails late has grown the worker as much).
      try {
        const { blob, info } = await this.trainer.run('train', { sources: list, options, memory },
          { timeoutMs: timeoutMs ?? this.config.trainTimeoutMs, signal, onEvent, trace });
        progress?.('building', 1, size, size);
        // The first generation worker to load it makes it current (a priority request: a
        // trained model is not refused by a full queue); the others load it in the background.
        progress?.('installing', 0, size, size);
        const t0 = now();
        const first = { worker: null };
        // Of the install's events, the parse's fractions (its reading of the Blob is quick).
        const installing = progress && ((phase, fraction) => {
          if (phase === 'installing' && fraction > 0) progress('installing', fraction, size, size);
        });
        // A bounded training gives no info (its worker does not parse the model): the install's.
        const installed = await this.installFirst('load', { blob }, first, { signal, progress: installing });
        noteInstall(trace, first.worker, now() - t0);
        progress?.('installing', 1, size, size);
        progress?.('done', 1, size, size);
        return info ?? installed;
      } finally {
        this.recycleTrainerSoon();
      }
    });
  }

  /**
   * The training worker's memory stays at its training's peak (see Pool#recycle): once it has
   * been idle for TRAINER_RECYCLE_MS, a fresh worker replaces it. Not at once: a training that
   * follows soon after (a script's, say) reuses the memory already mapped, as a fresh worker
   * pays for every new page (in Chromium, en-train trained again in the same worker took a
   * median 425 ms, in a fresh one 536 ms). The model file is a Blob held by this thread, so it
   * outlives that worker.
   */
  recycleTrainerSoon() {
    clearTimeout(this.trainerRecycleTimer);
    this.trainerRecycleTimer = setTimeout(() => this.trainer.recycle(), TRAINER_RECYCLE_MS);
  }

  /** Loads model bytes (a model file: ArrayBuffer, typed array or Blob) into every worker. */
  loadBytes(source, { signal, timeoutMs, onProgress } = {}) {
    return this.timed('loadBytes', async (trace) => {
      // A Blob is used as is (no copy here); other bytes are copied once into a Blob, which
      // also keeps the caller's buffer untouched. (A Blob of anything else would be its text.)
      if (!(source instanceof Blob || source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
        throw new InvalidOptionError('loadBytes takes a model file: a Blob, an ArrayBuffer or a typed array');
      }
      const blob = source instanceof Blob ? source : new Blob([source]);
      return this.installReporting('load', { blob }, trace, { signal, timeoutMs }, onProgress);
    });
  }

  /** installFirst with `onProgress`: reading, installing (from the worker), then done here. */
  async installReporting(op, args, trace, call, onProgress) {
    const progress = progressReporter(onProgress);
    if (!progress) return this.installFirst(op, args, trace, call);
    let size = 0;
    const info = await this.installFirst(op, args, trace, { ...call,
      progress: (phase, fraction, seen, total) => { size = total; progress(phase, fraction, seen, total); } });
    progress('installing', 1, size, size);
    progress('done', 1, size, size);
    return info;
  }

  // generate/perplexity: the per-request path, kept flat (one promise from the pool, no async
  // wrapper; closures only for streaming).
  generate(prompt, options, { onToken, signal, timeoutMs } = {}) {
    if (onToken == null) return this.generation(prompt, options, { signal, timeoutMs }).promise;
    if (typeof onToken !== 'function') {
      return this.failFast('generate', now(), new InvalidOptionError('onToken must be a function (piece, token) => boolean | void'));
    }
    // Called per token, from the batches the worker sends. `false` stops the generation after
    // that token, as in the core: the result then ends with it. What it throws rejects the call.
    let count = 0;
    let chars = 0;
    return this.generation(prompt, options, { signal, timeoutMs }, (pieces, tokens, control) => {
      for (let i = 0; i < pieces.length; i++) {
        count++;
        chars += pieces[i].length;
        if (onToken(pieces[i], tokens[i]) === false) {
          control.stop(count, chars);
          return;
        }
      }
    }).promise;
  }

  /**
   * The text of a generation as it comes, as an async iterator of pieces (each the text of one
   * batch of tokens, see worker.js). Breaking out of the loop stops the generation; `result`
   * settles as `generate()` would, ending with the last piece taken when stopped so.
   */
  stream(prompt, options, { signal, timeoutMs } = {}) {
    const queue = [];
    let wake = null;
    let ended = false;
    let failure = null;
    let stopped = false;
    let takenTokens = 0;
    let takenChars = 0;
    const { promise: result, control } = this.generation(prompt, options, { signal, timeoutMs }, (pieces) => {
      queue.push({ text: pieces.join(''), tokens: pieces.length });
      wake?.();
    });
    const finish = (err) => { ended = true; failure = err; wake?.(); };
    // Also marks `result` as handled: a failure reaches the loop through next().
    result.then(() => finish(null), finish);
    return {
      result,
      async next() {
        for (;;) {
          if (stopped) return { value: undefined, done: true };
          if (queue.length) {
            const piece = queue.shift();
            takenTokens += piece.tokens;
            takenChars += piece.text.length;
            return { value: piece.text, done: false };
          }
          if (ended) {
            if (failure) throw failure;
            return { value: undefined, done: true };
          }
          await new Promise((resolve) => { wake = resolve; });
          wake = null;
        }
      },
      async return() {
        if (!stopped && !ended) control.stop(takenTokens, takenChars);
        stopped = true;
        queue.length = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  /**
   * A generate request: `{promise, control}`. `onBatch(pieces, tokens, control)`, when given,
   * gets the streamed batches; `control.stop(tokens, chars)` ends the generation early, its
   * result cut after that many tokens (and characters of text): the worker is asked to stop (see
   * Pool#requestStop), and later batches are dropped. A request still queued then is cancelled
   * (AbortError) instead.
   */
  generation(prompt, options, { signal, timeoutMs }, onBatch) {
    const t0 = now();
    let cut = null;
    const ref = {};
    const control = {
      stop: (tokens, chars) => {
        if (cut !== null || !ref.job || ref.job.done) return;
        cut = { tokens, chars };
        if (!ref.job.handle) this.pool.cancel(ref.job, new AbortError('the generation was stopped before it started'));
        else this.pool.requestStop(ref.job);
      },
    };
    if (!this.modelFile) return { promise: this.failFast('generate', t0, new NoModelError()), control };
    let opts;
    try {
      opts = generateOptions(this.config.generateDefaults, options);
    } catch (e) {
      return { promise: this.failFast('generate', t0, e), control };
    }
    const trace = { worker: null };
    const onEvent = onBatch ? (m) => { if (m.type === 'tokens' && cut === null) onBatch(m.pieces, m.tokens, control); } : undefined;
    let request = this.pool.run('generate', { prompt, options: opts, stream: !!onBatch },
      { timeoutMs: timeoutMs ?? this.config.generateTimeoutMs, signal, onEvent, trace, ref });
    if (onBatch) request = request.then((out) => (cut === null ? out : truncated(out, cut)));
    return { promise: this.measured('generate', t0, trace, request), control };
  }

  perplexity(text, { signal, timeoutMs } = {}) {
    const t0 = now();
    if (!this.modelFile) return this.failFast('perplexity', t0, new NoModelError());
    const trace = { worker: null };
    return this.measured('perplexity', t0, trace, this.pool.run('perplexity', { text },
      { timeoutMs: timeoutMs ?? this.config.generateTimeoutMs, signal, trace }));
  }

  /**
   * The likeliest next words after `context`, best first, each with its exact probability
   * (`{ word, probability, log10Prob }`); `options`: `k` (10), `prefix` (a word being typed),
   * `ignoreCase`, `allowEnd` (`</s>` may be predicted), `minProbability`.
   */
  predict(context, options, call) {
    return this.modelCall('predict', { context, options }, call);
  }

  /** Per-token scores of `text` (KenLM `query -v word`'s): one entry per sentence. */
  score(text, call) {
    return this.modelCall('score', { text }, call);
  }

  /** `candidates` (words or phrases) ordered by their probability after `context`. */
  rank(context, candidates, call) {
    return this.modelCall('rank', { context, candidates }, call);
  }

  /** A request `op` that needs the model, served by an idle generation worker. */
  modelCall(op, args, { signal, timeoutMs } = {}) {
    const t0 = now();
    if (!this.modelFile) return this.failFast(op, t0, new NoModelError());
    const trace = { worker: null };
    return this.measured(op, t0, trace, this.pool.run(op, args,
      { timeoutMs: timeoutMs ?? this.config.generateTimeoutMs, signal, trace }));
  }

  failFast(op, t0, err) {
    this.record(op, now() - t0, false);
    return Promise.reject(err);
  }

  /** Records `promise` (a pool.run given `trace`) under `op` when it settles. */
  measured(op, t0, trace, promise) {
    return promise.then(
      (value) => { this.record(op, now() - t0, true, value, trace.worker); return value; },
      (err) => { this.record(op, now() - t0, false, undefined, trace.worker); throw err; });
  }

  info() {
    return this.timed('info', async (trace) => {
      if (!this.modelFile) return null;
      return this.pool.run('info', {}, { timeoutMs: this.config.storageTimeoutMs, trace });
    });
  }

  // ---- storage (IndexedDB, inside a worker) ----
  storage(op, args, trace, extra = {}) {
    return this.pool.run(op, args, { timeoutMs: this.config.storageTimeoutMs, trace, ...extra });
  }

  save(name, options) {
    return this.timed('save', async (trace) => {
      const n = nameArg(name, true);
      const overwrite = overwriteArg(options);
      this.requireModel();
      return this.storage('save', { name: n, base: this.config.modelName, overwrite }, trace);
    });
  }

  load(name, { onProgress, signal, timeoutMs } = {}) {
    // One worker reads the file from IndexedDB and parses it; the call resolves then, and the
    // others load the shared file in the background (see installFirst). Nobody reads it twice.
    return this.timed('load', async (trace) => this.installReporting('loadStored', { name: nameArg(name), share: true },
      trace, { signal, timeoutMs }, onProgress));
  }

  /**
   * Loads the model file at `url` (a URL or a string, relative to the page): one worker
   * downloads it (`onProgress`: `downloading` with `bytesSeen` and `bytesTotal`, null when the
   * server sends no length, then `installing` and `done`), checks `integrity` (an SRI hash,
   * `sha256-…`) and makes it current, as `load` does. With `cache` (the default) the file is kept
   * in the model library under its URL, with its index image: the next call revalidates it with
   * the server (ETag, Last-Modified) and loads the copy when it is unchanged, or when the network
   * fails (offline). Errors: NetworkError (no network and no copy), FetchError (an HTTP status
   * ≥ 400), IntegrityError, and the model file's own (NotAModelError, ...).
   */
  loadUrl(url, { onProgress, signal, timeoutMs, integrity, cache = true } = {}) {
    return this.timed('loadUrl', async (trace) => {
      let href;
      try {
        href = new URL(url instanceof URL ? url.href : String(url), globalThis.location?.href).href;
      } catch {
        throw new InvalidOptionError(`loadUrl takes a URL, got ${JSON.stringify(String(url))}`);
      }
      if (integrity !== undefined && typeof integrity !== 'string') {
        throw new InvalidOptionError('integrity must be a string such as "sha256-<base64>"');
      }
      return this.installReporting('loadUrl', { url: href, integrity, cache: cache !== false, share: true }, trace,
        { signal, timeoutMs: timeoutMs ?? this.config.trainTimeoutMs }, onProgress);
    });
  }

  /**
   * Frees the current model in every generation worker, keeping the workers: a later `load`,
   * `loadBytes` or `train` needs no new worker, and builds its model in the memory this one
   * used (a WebAssembly instance's memory never shrinks, so `wasmBytes` stays as it was, but it
   * does not grow again for a model of the same size). Requests that need a model fail with
   * NoModelError from now on; those already running end first (their workers free the model
   * then). Resolves once every worker has freed it, or once a model loaded meanwhile has become
   * current instead.
   */
  unload() {
    return this.timed('unload', async () => {
      this.modelInfo = null;
      await this.pool.unload();
    });
  }

  list() { return this.timed('list', (trace) => this.storage('list', {}, trace)); }
  remove(name) { return this.timed('remove', (trace) => this.storage('remove', { name: nameArg(name) }, trace)); }

  exportModel(name) {
    return this.timed('export', async (trace) => {
      const file = await this.storage('export', { name: nameArg(name) }, trace);
      return file instanceof Blob ? file : new Blob([file], { type: 'application/octet-stream' });
    });
  }

  importModel(source, name, options) {
    return this.timed('import', (trace) => this.storage('import',
      { source, name: nameArg(name, true), base: this.config.modelName, overwrite: overwriteArg(options) }, trace));
  }

  /**
   * The browser's storage for this site (what saved models live in): bytes used and available
   * (`navigator.storage.estimate()`), and whether it is persistent, i.e. kept when the device
   * runs short of space; by default a browser may clear it then. `null` where the browser does
   * not say (no StorageManager, as outside a secure context).
   */
  async storageInfo() {
    const sm = globalThis.navigator?.storage;
    const [estimate, persisted] = await Promise.all([
      sm?.estimate ? sm.estimate().catch(() => null) : null,
      sm?.persisted ? sm.persisted().catch(() => null) : null,
    ]);
    return { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, persisted };
  }

  /**
   * Asks the browser to keep this site's storage (the saved models) when space runs short
   * (`navigator.storage.persist()`); resolves to whether it is persistent now. Browsers decide
   * by their own rules (a permission prompt, or how the site is used), so the answer may be
   * false; asking again later is harmless.
   */
  async persistStorage() {
    const sm = globalThis.navigator?.storage;
    if (!sm?.persist) return false;
    try {
      return await sm.persist();
    } catch {
      return false;
    }
  }

  // ---- observability ----
  /**
   * Memory of the pool's workers, as of their last answers: per generation worker its
   * WebAssembly memory (`wasmBytes`) and what its model takes of it (`modelBytes`, the model
   * info's `memoryBytes`; 0 without a model), their sums, the training worker's WebAssembly
   * memory, and `totalWasmBytes`, the WebAssembly memory of every worker of the pool: what the
   * pool costs the page, less each worker's JavaScript heap and code, which no page API reports
   * without cross-origin isolation (docs/benchmarks.md measures the whole).
   */
  memory() {
    const p = this.pool.stats();
    const t = this.trainer.stats();
    return { workers: p.memory, modelBytes: p.modelBytes, wasmBytes: p.wasmBytes,
      trainingWasmBytes: t.wasmBytes, totalWasmBytes: p.wasmBytes + t.wasmBytes };
  }

  health() {
    const p = this.pool.stats();
    const t = this.trainer.stats();
    let status = 'ok';
    // Workers still loading the current model in the background count as up (not degraded).
    if (this.terminated) status = 'terminated';
    else if (p.live === 0) status = 'down';
    else if (p.live < p.total || t.live + t.recycling < t.total) status = 'degraded';
    return {
      status,
      timestamp: new Date().toISOString(),
      modelLoaded: !!this.modelFile,
      poolActive: !this.terminated && p.live > 0,
      workers: { total: p.total, ready: p.ready, busy: p.busy, idle: p.idle, installing: p.installing,
        starting: p.starting },
      training: { busy: t.busy > 0, queued: t.queued },
      queued: p.queued + t.queued,
      memory: this.memory(),
    };
  }

  metrics() {
    const ops = {};
    for (const [op, s] of this.ops) ops[op] = s.summary();
    const lookups = this.gen.cacheHits + this.gen.cacheMisses;
    const uptimeMs = now() - this.startedAt;
    let requests = 0;
    for (const s of this.ops.values()) requests += s.wall.count;
    const pool = this.pool.stats();
    return {
      uptimeMs,
      ops,
      modelMemoryBytes: this.modelInfo?.memoryBytes ?? 0,
      modelFileBytes: this.modelFile?.size ?? 0,
      cache: { hits: this.gen.cacheHits, misses: this.gen.cacheMisses,
        hitRate: lookups ? this.gen.cacheHits / lookups : null },
      throughput: {
        tokens: this.gen.tokens,
        tokensPerSecond: this.gen.elapsedMs > 0 ? this.gen.tokens / (this.gen.elapsedMs / 1000) : 0,
        requestsPerSecond: uptimeMs > 0 ? requests / (uptimeMs / 1000) : 0,
      },
      workers: { ...this.events, ready: pool.ready },
      workerMemoryBytes: { generation: pool.wasmBytes, training: this.trainer.stats().wasmBytes },
      memory: this.memory(),
    };
  }

  /** Test-only operations (`config.testHooks: true`). */
  get __test() {
    if (!this.config.testHooks) return undefined;
    return {
      crash: (mode = 'throw', extra = {}) => this.pool.run('__crash', { mode, ...extra },
        { timeoutMs: extra.timeoutMs ?? this.config.generateTimeoutMs }),
      // Every live generation worker's build and shared model (see worker.js, mode 'shared').
      workers: () => Promise.all(this.pool.handles.filter((h) => h && !h.dead && h.ready)
        .map((h) => h.call('__crash', { mode: 'shared' }))),
      // A save that fails inside its transaction after writing the bytes (kind 'quota').
      saveFailing: (name, kind = 'quota') => this.timed('save', async (trace) => {
        this.requireModel();
        return this.storage('save', { name, base: this.config.modelName, overwrite: true, failForTest: kind }, trace);
      }),
    };
  }

  terminate() {
    this.terminated = true;
    clearTimeout(this.trainerRecycleTimer);
    this.pool.terminate();
    this.trainer.terminate();
  }
}

/**
 * train(): adds the install in the first generation worker to `trace.worker` (the training
 * worker's timings): `installMs` (wall, on the main thread, from sending the file to that
 * worker's answer), `installWorkers` (1), and that worker's `installReadMs`, `installParseMs`,
 * `installTotalMs`. The other workers load the file afterwards, in the background.
 */
function noteInstall(trace, timings, wallMs) {
  if (!trace.worker) return;
  const t = trace.worker;
  t.installMs = wallMs;
  t.installWorkers = timings ? 1 : 0;
  t.installReadMs = timings?.readMs ?? 0;
  t.installParseMs = timings?.parseMs ?? 0;
  t.installTotalMs = timings?.totalMs ?? 0;
}

/** A generation cut after `tokens` tokens (`chars` characters of text): stopped early. */
function truncated(out, { tokens, chars }) {
  return { ...out, text: out.text.slice(0, chars), tokens: out.tokens.slice(0, tokens),
    stats: { ...out.stats, tokens, stopReason: 'cancelled' } };
}

/**
 * The options a generate request sends: the call's over the pool's `generateDefaults`, except
 * that a call naming a core `preset` gets that preset's values, not the pool's defaults (the
 * core applies the preset first, and any field set would override it). A copy: a queued request
 * is cloned only when dispatched, after the caller may have changed its options object.
 */
function generateOptions(defaults, options) {
  if (options != null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new InvalidOptionError(`generate options must be an object, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const seed = options?.seed;
  // The core takes seeds from 0 to 2^53 - 1 (what `stats.seed` can give back exactly as a
  // number); a bigint, even a small one, is refused here so that the type (`number`) and the
  // run time agree.
  if (seed != null && !(Number.isSafeInteger(seed) && seed >= 0)) {
    const got = typeof seed === 'bigint' ? `the bigint ${seed}n` : typeof seed === 'number' ? String(seed) : typeof seed;
    throw new InvalidOptionError(`options.seed must be an integer number from 0 to 2^53 - 1 (Number.MAX_SAFE_INTEGER), got ${got}`);
  }
  return options?.preset != null ? { ...options } : { ...defaults, ...options };
}

/**
 * `onProgress` as `(phase, fraction, bytesSeen, bytesTotal) => void`, adding `elapsedMs` since
 * the call; null without one. What the callback throws propagates: it fails the call.
 */
function progressReporter(onProgress) {
  if (onProgress == null) return null;
  if (typeof onProgress !== 'function') throw new InvalidOptionError('onProgress must be a function');
  const t0 = now();
  return (phase, fraction, bytesSeen, bytesTotal) =>
    onProgress({ phase, fraction, bytesSeen, bytesTotal, elapsedMs: now() - t0 });
}

/**
 * train(): the sources as the training worker takes them. A URL is fetched and a Response read
 * here, into Blobs (neither crosses postMessage; a Blob does, by reference, and the worker reads
 * it in slices); anything else that is not text or bytes is refused before it reaches a worker.
 */
async function trainSources(sources, signal) {
  const list = Array.isArray(sources) ? sources : [sources];
  const out = [];
  for (const src of list) {
    if (typeof src === 'string' || src instanceof Blob || src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
      out.push(src);
    } else if (src instanceof URL) {
      let response;
      try {
        response = await fetch(src, { signal });
      } catch (e) {
        if (signal?.aborted) throw new AbortError();
        throw new FetchError(`could not fetch the training source ${src.href}: ${e?.message ?? e}`);
      }
      out.push(await responseBlob(response, src.href));
    } else if (typeof Response === 'function' && src instanceof Response) {
      out.push(await responseBlob(src, src.url || 'a Response'));
    } else {
      const got = src === null ? 'null' : typeof src === 'object' ? (src.constructor?.name ?? 'an object') : typeof src;
      throw new InvalidOptionError('a training source must be text (a string is the text itself, not a path: ' +
        `pass a URL object to fetch one), a File, Blob, ArrayBuffer, typed array, URL or Response; got ${got}`);
    }
  }
  return out;
}

async function responseBlob(response, what) {
  if (!response.ok) throw new FetchError(`the training source ${what} answered HTTP ${response.status}`);
  if (response.bodyUsed) throw new InvalidOptionError(`the body of the training source ${what} has been read already`);
  try {
    return await response.blob();
  } catch (e) {
    throw new FetchError(`could not read the training source ${what}: ${e?.message ?? e}`);
  }
}

function now() {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}
