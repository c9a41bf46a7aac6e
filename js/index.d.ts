// Type declarations of the ultra-efficient-llm browser runtime (js/index.js). The options and
// results that the pool passes to and from the core are the core's own types, declared once in
// the generated `ultra_efficient_llm.d.ts` (bindings/wasm/src/typescript.rs) and imported here;
// the pool's types add what only the pool has (call options such as `signal`, `timeoutMs`, `onProgress`).
import type {
  CacheStats, GenerateOptions as CoreGenerateOptions, Generation, GenerationStats,
  ModelInfo as CoreModelInfo, OnToken, Perplexity, PredictOptions, Prediction, Preset, Ranked,
  SentenceScore, StopReason, TokenScore, TrainingStats, TrainOptions,
} from './ultra_efficient_llm.js';

export type {
  CacheStats, Generation, GenerationStats, OnToken, Perplexity, PredictOptions, Prediction, Ranked,
  SentenceScore, StopReason, TokenScore, TrainingStats, TrainOptions,
};

// The error classes (UellmError, TimeoutError, ...), ErrorCode and the wire form: errors.d.ts.
export * from './errors.js';

/** A named set of core generation options (the core's `Preset`; its values: the core's `presets()`). */
export type GenerationPreset = Preset;

/**
 * Options of `generate` and `stream`: the core's `GenerateOptions`, every field optional. They
 * are merged over the pool's `config.generateDefaults`, unless the call names a `preset`: then
 * the preset is applied first and the call's own fields override it (the pool's defaults are not
 * used). `seed` is a number from 0 to 2^53 - 1; a bigint, or a number out of that range, is an
 * InvalidOptionError.
 */
export type GenerateOptions = CoreGenerateOptions;

/** The core's `ModelInfo`, and, from `info()`, one worker's activation-cache figures. */
export interface ModelInfo extends CoreModelInfo {
  cache?: CacheStats | null;
}

export interface SavedModel {
  name: string;
  /** Size of the model file in bytes. */
  bytes: number;
  /** ISO 8601 time of the save. */
  created: string;
  order: number | null;
  patterns: number | null;
  /** A model kept by `loadUrl` (named by its URL): where it came from, and what revalidates it. */
  url?: string;
  etag?: string | null;
  lastModified?: string | null;
  integrity?: string | null;
}

/** The browser's storage for this site, as `storageInfo()` reports it (null: not known). */
export interface StorageInfo {
  /** Bytes used by this site (all of its storage, not only the saved models). */
  usage: number | null;
  /** Bytes this site may use. */
  quota: number | null;
  /** Whether the browser keeps this storage when space runs short (see `persistStorage`). */
  persisted: boolean | null;
}

/**
 * A progress report of `train`, `load` or `loadBytes`. The phases come in order, each reported
 * from its start (`fraction` 0) to its end (1), its fraction never going back: `reading` (train:
 * the sources fed to the trainer, `fraction` = bytesSeen / bytesTotal; load: the model file
 * read), `building` (train only: counting, smoothing and writing the model file in the training
 * worker), `installing` (the model decoded and indexed in the first generation worker), then
 * one `done`, just before the call resolves. In `building` and `installing` the fraction is the
 * share of the core's work done, weighted by what each pass costs, reported at most every
 * 50 ms; `building` may jump ahead when the patterns have been counted (the work that remains
 * is known only then). A small model may be built or installed within one report: then its
 * fraction goes from 0 to 1 with nothing between.
 */
export interface TrainProgress {
  phase: 'reading' | 'downloading' | 'building' | 'installing' | 'done';
  /** How much of the current phase is done, 0..1. */
  fraction: number;
  /** train: bytes of the sources fed so far (a newline added between two sources counts);
   *  load: bytes of the model file read; loadUrl, `downloading`: bytes downloaded. */
  bytesSeen: number;
  /** loadUrl, `downloading`: null while the server has sent no length. */
  bytesTotal: number | null;
  /** Milliseconds since the call. */
  elapsedMs: number;
}
export type Progress = TrainProgress;

/**
 * A training source. A string is the text itself (not a path or URL: pass a `URL` object to
 * fetch one); a `URL` is fetched and a `Response`'s body read (a status ≥ 400 is a FetchError).
 * Bytes must be UTF-8 text. Each source ends a line: one that does not end with a newline gets
 * one before the next source.
 */
export type TrainSource = string | ArrayBuffer | ArrayBufferView | Blob | File | URL | Response;

/** Options of `save` and `importModel`. */
export interface SaveOptions {
  /** Replace a saved model of that name (default false: ModelExistsError). */
  overwrite?: boolean;
}

/**
 * What `stream()` returns: the generated text in pieces as they come, each the text of one batch
 * of tokens (the first token alone, then about one batch per 16 ms).
 */
export interface GenerationStream extends AsyncIterableIterator<string> {
  /** The whole generation, as `generate` resolves it (rejects as it would). When the loop is
   *  left early (break, return, throw), the generation stops and this ends with the last piece
   *  taken (stopReason "cancelled"). */
  readonly result: Promise<Generation>;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the configured timeout for this call (measured from dispatch to a worker). */
  timeoutMs?: number;
}

/** The call options of `generate`: the core's `onToken`, run on the page, besides the pool's own. */
export interface GenerateCallOptions extends CallOptions {
  onToken?: OnToken;
}

/** The pool presets: the core's preset names, each pool preset's `generateDefaults` being the
 *  core preset of its name (as it differs from the core's defaults). */
export type PresetName = Preset;
export type LogLevel = 'detailed' | 'quiet' | 'silent';

export interface Logger { info?(msg: string): void; warn?(msg: string): void; }

export interface Config {
  /** Pool preset; fields given here override it. */
  preset?: PresetName;
  /**
   * Generation workers. Given, it is used as given. Otherwise the pool fits the device: one
   * worker per core but one (`navigator.hardwareConcurrency - 1`, at least 1; see
   * `deviceWorkers()`), at most the preset's `workers` (development 2, production 8,
   * high_performance 16) or, without a preset, `defaults.workers` (4). Each worker holds its own
   * copy of the model. A separate training worker is always started.
   */
  workers?: number;
  /** Requests waiting for a busy pool (default 256); beyond → QueueFullError at once. */
  maxQueue?: number;
  /** Defaults: generate 30 s, train 300 s, storage/load 30 s, worker start 30 s. */
  generateTimeoutMs?: number;
  trainTimeoutMs?: number;
  storageTimeoutMs?: number;
  initTimeoutMs?: number;
  /** 'detailed': a perf line per op and slow-op warnings; 'quiet': warnings only; 'silent'. */
  log?: LogLevel;
  /** Warn when an op takes longer than this (ms); null = never. */
  slowOpMs?: number | null;
  /** Options merged under every generate() call's options (not under a call that names a core `preset`). */
  generateDefaults?: GenerateOptions;
  /** Base of default save names: `<modelName>_YYYYMMDD_HHMMSS` (default "model"). */
  modelName?: string;
  logger?: Logger;
  /**
   * Where worker.js lives (default: next to index.js, which bundlers that understand
   * `new Worker(new URL('./worker.js', import.meta.url))` rewrite). Set it when a bundler does not
   * emit the worker (esbuild: bundle `ultra-efficient-llm/worker.js` as an entry of its own). A
   * cross-origin URL (a CDN) is started through a same-origin `blob:` module that imports it.
   */
  workerUrl?: string | URL;
  /** Where the .wasm lives (default: next to the worker script). */
  wasmUrl?: string | URL;
  /**
   * Whether the generation workers run the threaded build: one shared WebAssembly memory, and
   * the model loaded once for all of them. Default: `threadsAvailable()`, i.e. when the page is
   * cross-origin isolated (COOP `same-origin` + COEP `require-corp`). `false` gives each worker
   * its own copy (the plain build); `true` on a page that is not isolated makes `create()` fail.
   */
  threads?: boolean;
  /** Where the threaded build's .wasm lives (default: `threads/` next to the worker script). */
  threadsWasmUrl?: string | URL;
  /** Enables test-only operations (`llm.__test`). Never in production. */
  testHooks?: boolean;
}

export interface ResolvedConfig extends Required<Omit<Config, 'preset' | 'logger' | 'workerUrl' | 'wasmUrl' | 'threadsWasmUrl'>> {
  preset?: PresetName;
  logger?: Logger;
  workerUrl?: string | URL;
  wasmUrl?: string | URL;
  threadsWasmUrl?: string | URL;
}

/** Whether this page can run the threaded build (cross-origin isolated, with SharedArrayBuffer). */
export function threadsAvailable(): boolean;

export interface Health {
  status: 'ok' | 'degraded' | 'down' | 'terminated';
  timestamp: string;
  modelLoaded: boolean;
  poolActive: boolean;
  /**
   * `ready`: workers serving the current model (requests go only to these); `idle`: ready ones
   * without a request; `busy`: workers serving a request; `installing`: initialised workers still
   * loading the current model in the background (they join as they finish); `starting`: workers
   * not initialised yet (new or replacements). `status` is 'ok' while workers are installing.
   */
  workers: { total: number; ready: number; busy: number; idle: number; installing: number; starting: number };
  training: { busy: boolean; queued: number };
  queued: number;
  /** The workers' memory: each generation worker's model and WebAssembly memory, and the pool's total. */
  memory: PoolMemory;
}

/** One generation worker's memory, as of its last answer. */
export interface WorkerMemory {
  /** Its place in the pool, 0 to `config.workers - 1` (a replacement takes the same slot). */
  slot: number;
  /** Its WebAssembly memory (`WebAssembly.Memory` `buffer.byteLength`). It never shrinks: it
   *  stays at the peak of the worker's largest load, also after `unload()`. */
  wasmBytes: number;
  /** What the model it holds takes of that memory (its `ModelInfo.memoryBytes`); 0 without one. */
  modelBytes: number;
}

/**
 * The pool's memory as its workers report it with every answer (live workers only: a worker
 * still starting is counted once it has answered). Each generation worker holds its own copy of
 * the model, so `modelBytes` is the model's `memoryBytes` times the workers that have it.
 */
export interface PoolMemory {
  workers: WorkerMemory[];
  /** Sum of the generation workers' `modelBytes` (0 after `unload()`). */
  modelBytes: number;
  /** Sum of the generation workers' `wasmBytes`. */
  wasmBytes: number;
  /** The training worker's WebAssembly memory (its training's peak, until it is replaced 2 s
   *  after the training). */
  trainingWasmBytes: number;
  /** `wasmBytes + trainingWasmBytes`: the WebAssembly memory the pool holds in the page. The
   *  page's process holds more (each worker's JavaScript heap and code: a few MB a worker). */
  totalWasmBytes: number;
}

/**
 * Time spent inside a worker on one request, in ms, as the worker reports it with every answer.
 * Phases appear when the op has them.
 */
export interface WorkerTimings {
  /** Queued inside the worker behind its earlier requests. */
  waitMs: number;
  /** Handling the request, from its start to the answer being posted. */
  totalMs: number;
  /** IndexedDB read (load, export, list), the shared model file read (load into a worker), or
   *  reading and feeding the training sources (train). */
  readMs?: number;
  /** Model.fromBytes. */
  parseMs?: number;
  /** Trainer.finishFile (building the model file). */
  trainMs?: number;
  /** Copying the model file into the Blob the workers share. */
  blobMs?: number;
  /** IndexedDB write (save, import, remove). */
  writeMs?: number;
  generateMs?: number;
  perplexityMs?: number;
  predictMs?: number;
  scoreMs?: number;
  rankMs?: number;
  /** train: installing the model in the first generation worker (the call resolves then; the
   *  others load it in the background): wall time on the main thread, how many (1), and that
   *  worker's phases. */
  installMs?: number;
  installWorkers?: number;
  installReadMs?: number;
  installParseMs?: number;
  installTotalMs?: number;
  /** The worker's WebAssembly memory in bytes after the request (not a duration). */
  wasmBytes?: number;
  /** What the worker's model then takes of that memory (its `memoryBytes`; 0 with none). */
  modelBytes?: number;
  [phase: string]: number | undefined;
}

export interface DurationStats {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface OpMetrics {
  count: number;
  errors: number;
  /** Wall time on the main thread (call → settle); percentiles over the latest 1024 calls. */
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Time inside the worker that served the call (`WorkerTimings.totalMs`), its mean per phase
   *  (the `…Ms` fields) and the latest call's timings. Absent until a call of this op got an
   *  answer from a worker. */
  worker?: DurationStats & { phases: Partial<WorkerTimings>; last: WorkerTimings };
  /** Mean wall time minus worker time over those calls: queueing, messaging and main-thread work. */
  overheadMeanMs?: number;
}

export interface Metrics {
  uptimeMs: number;
  ops: Record<string, OpMetrics>;
  /** What the current model takes in one worker's memory (its `memoryBytes`; 0 when none). */
  modelMemoryBytes: number;
  /** Size of the current model file (0 when none). */
  modelFileBytes: number;
  /** Activation-cache lookups over all workers' generations. */
  cache: { hits: number; misses: number; hitRate: number | null };
  throughput: { tokens: number; tokensPerSecond: number; requestsPerSecond: number };
  /**
   * Worker replacements by cause (`restarts` in all; `aborts` includes requests failed by a
   * throwing callback); `stopped`: aborted or timed-out requests whose worker stopped when asked
   * and stayed in service; `ready`: generation workers serving the current model.
   */
  workers: { restarts: number; timeouts: number; aborts: number; crashes: number; stopped: number; ready: number };
  /**
   * WebAssembly memory held by the live generation workers (together) and by the training
   * worker, as of their last answers. It only grows, to each worker's largest job: a generation
   * worker holds its load's peak (more than `modelMemoryBytes`), and the training worker its
   * training's until it is replaced, 2 s after the training.
   */
  workerMemoryBytes: { generation: number; training: number };
  /** Per worker and in total, as in `health()`. */
  memory: PoolMemory;
}

export interface Uellm {
  readonly config: ResolvedConfig;
  /**
   * The current model's file as a Blob (null before any model): what the workers load from,
   * e.g. to hand the model to another pool with `loadBytes` or to download it without saving.
   */
  readonly modelFile: Blob | null;
  /** Whether the generation workers share one memory and one model (`config.threads`). */
  readonly threaded: boolean;
  /**
   * Trains in the training worker, then installs the model in one generation worker and resolves:
   * the model is current from then on (requests go only to workers that have it), and the other
   * workers load it in the background, at most `navigator.hardwareConcurrency - 1` at once
   * (see `health().workers.ready`). A request made while no worker has it waits in the queue.
   * Once the training worker has been idle for 2 s afterwards, a fresh one replaces it, which
   * gives back the memory the training took (WebAssembly memory never shrinks); a `train()`
   * made while it starts waits for it.
   *
   * With `memory`, the training worker trains within about that many bytes of WebAssembly
   * memory (beyond the vocabulary) whatever the sources' size: it reads them twice (the words,
   * then the patterns, counted in runs that fit the bound) and keeps the runs in a temporary file
   * of the origin private file system, deleted at the end. The model is the same, byte for byte;
   * `reading` then counts both passes (`bytesTotal` is twice the sources' bytes), and `building`
   * moves as each step of the build gets through each pattern length. Without
   * `memory`, a training whose in-memory peak is estimated above 2 GiB (about 160 MB of text at
   * order 5) trains within 1 GiB where that file system is available. `maxPatterns` is not
   * available within a bound (an InvalidOptionError); a browser context without the origin
   * private file system gives a StorageUnavailableError, a full storage quota a
   * QuotaExceededError.
   */
  train(sources: TrainSource | TrainSource[], options?: TrainOptions,
    /** What `onProgress` throws rejects the call, and stops the training. */
    call?: CallOptions & { onProgress?: (p: TrainProgress) => void; memory?: number }): Promise<ModelInfo>;
  /** Loads a model file (e.g. fetched or picked by the user): resolves as soon as one worker has
   *  it (the others follow in the background, as for `train`). A bad file changes no worker's model. */
  loadBytes(bytes: ArrayBuffer | ArrayBufferView | Blob,
    call?: CallOptions & { onProgress?: (p: Progress) => void }): Promise<ModelInfo>;
  /**
   * Generates a continuation of `prompt` in a generation worker. `onToken(piece, token)` runs on
   * the main thread for every token, from batches the worker sends (the first token at once,
   * then one batch per ~16 ms); returning `false` stops the generation after that token, as in
   * the core (the result ends with it; stopReason "cancelled"); what it throws rejects the call.
   * An abort or timeout rejects at once and stops the worker between two tokens (it stays in
   * service); only a worker that does not stop within 500 ms is replaced.
   */
  generate(prompt: string, options?: GenerateOptions, call?: GenerateCallOptions): Promise<Generation>;
  /**
   * The same generation as an async iterator of text pieces:
   * `for await (const piece of llm.stream(prompt, options)) show(piece)`. Leaving the loop early
   * stops the generation; `result` has the whole Generation.
   */
  stream(prompt: string, options?: GenerateOptions, call?: CallOptions): GenerationStream;
  perplexity(text: string, call?: CallOptions): Promise<Perplexity>;
  /**
   * The likeliest next words after `context` (from the start of a sentence), best first, each
   * with its exact probability: next-word suggestions, and with `prefix` word completion.
   */
  predict(context: string, options?: PredictOptions, call?: CallOptions): Promise<Prediction[]>;
  /** Per-token scores of `text`, as KenLM's `query -v word` gives them: one entry per sentence. */
  score(text: string, call?: CallOptions): Promise<SentenceScore[]>;
  /** `candidates` (words or phrases) ordered by their probability after `context`, likeliest first. */
  rank(context: string, candidates: string[], call?: CallOptions): Promise<Ranked[]>;
  /** Info of the current model (null when none), with one worker's cache statistics. */
  info(): Promise<ModelInfo | null>;
  /**
   * Saves the current model in IndexedDB. Without a name (undefined or null): a new default name,
   * `<modelName>_YYYYMMDD_HHMMSS`, with `_2`, `_3`, ... when taken (never an existing model). A
   * name that is taken is ModelExistsError unless `{ overwrite: true }`; an empty name is
   * InvalidOptionError.
   */
  save(name?: string | null, options?: SaveOptions): Promise<SavedModel>;
  /** Loads a saved model (one IndexedDB read): resolves as soon as one worker has it, the others
   *  follow in the background (as for `train`); NotFoundError when absent. */
  load(name: string, call?: CallOptions & { onProgress?: (p: Progress) => void }): Promise<ModelInfo>;
  /**
   * Downloads the model file at `url` (with progress), checks `integrity` (SRI, `sha256-…`) and
   * loads it as `load` does; with `cache` (default true) it is kept in the model library under
   * its URL and revalidated with the server on the next call (offline, the copy loads).
   * NetworkError, FetchError (HTTP status), IntegrityError, or the file's own error.
   */
  loadUrl(url: string | URL, options?: CallOptions & {
    onProgress?: (p: Progress) => void; integrity?: string; cache?: boolean;
  }): Promise<ModelInfo>;
  list(): Promise<SavedModel[]>;
  remove(name: string): Promise<true>;
  exportModel(name: string): Promise<Blob>;
  /** Validates (typed core error on a bad file; nothing stored) and saves a model file; names
   *  as for `save` (a taken one needs `{ overwrite: true }`). */
  importModel(source: Blob | ArrayBuffer | ArrayBufferView, name?: string | null, options?: SaveOptions): Promise<SavedModel>;
  /** This site's storage: used and available bytes, and whether it is persistent. */
  storageInfo(): Promise<StorageInfo>;
  /** Asks the browser to keep the saved models when space runs short; resolves to whether it
   *  will (browsers decide by their own rules, so it may be false). */
  persistStorage(): Promise<boolean>;
  /**
   * Frees the model in every generation worker without stopping them; a later `load`, `loadBytes`
   * or `train` uses the same workers, and builds its model in the memory this one used (a
   * worker's WebAssembly memory never shrinks: `health().memory` shows `modelBytes` 0 while
   * `wasmBytes` stays). Calls that need a model (`generate`, `stream`, `perplexity`, `save`)
   * then fail with NoModelError, and `info()` gives null. A request already running ends first;
   * its worker frees the model then. Resolves once every worker has freed it (or once a model
   * that a load or training made current meanwhile has taken its place).
   */
  unload(): Promise<void>;
  health(): Health;
  metrics(): Metrics;
  /** Terminates every worker; pending and later calls reject with TerminatedError. */
  terminate(): void;
}

/**
 * Starts the pool; resolves when every worker has initialised. Rejects with WorkerLoadError when
 * the worker script or its .wasm cannot be loaded (the message names the URL and what to do),
 * with another init error, or with UnsupportedEnvironmentError where there is no `Worker`, as in
 * Node.js: there, use `ultra-efficient-llm/core` directly (`await init()` reads the .wasm from
 * disk).
 */
export function create(config?: Config): Promise<Uellm>;
/** The configuration `create(config)` would use. */
export function resolveConfig(config?: Config): ResolvedConfig;
/**
 * The generation workers this device runs side by side: `navigator.hardwareConcurrency - 1`, at
 * least 1 (2 cores assumed where the browser does not say). Without `config.workers`, the pool
 * has this many, at most the preset's (or the default's) `workers`.
 */
export function deviceWorkers(): number;
/** The pool presets. Their `workers` are upper bounds of the device-sized count (see `Config.workers`). */
export const presets: Readonly<Record<PresetName, Readonly<Partial<Config>>>>;
/** The defaults of `create()`. `workers` (4) is an upper bound of the device-sized count. */
export const defaults: Readonly<Required<Omit<Config, 'preset' | 'logger' | 'workerUrl' | 'wasmUrl'>>>;
