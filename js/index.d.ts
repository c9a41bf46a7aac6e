// Type declarations of the ultra-efficient-llm browser runtime (js/index.js).

/** Base class of every error this package throws; core errors keep their own name and code. */
export class UellmError extends Error {
  constructor(message?: string, options?: { name?: string; code?: string; cause?: unknown });
  /** Stable machine-readable code, e.g. "TIMEOUT", "NOT_A_MODEL", "INVALID_OPTION". */
  code: string;
}
export class TimeoutError extends UellmError { name: 'TimeoutError'; code: 'TIMEOUT'; }
export class AbortError extends UellmError { name: 'AbortError'; code: 'ABORTED'; }
export class QueueFullError extends UellmError { name: 'QueueFullError'; code: 'QUEUE_FULL'; }
export class WorkerCrashedError extends UellmError { name: 'WorkerCrashedError'; code: 'WORKER_CRASHED'; }
export class QuotaExceededError extends UellmError { name: 'QuotaExceededError'; code: 'QUOTA_EXCEEDED'; }
export class NotFoundError extends UellmError { name: 'NotFoundError'; code: 'NOT_FOUND'; }
export class NoModelError extends UellmError { name: 'NoModelError'; code: 'NO_MODEL'; }
export class TerminatedError extends UellmError { name: 'TerminatedError'; code: 'TERMINATED'; }
/** A bad option or argument: from `create`/`resolveConfig` (config), or a worker (request options, sources). */
export class InvalidOptionError extends UellmError { name: 'InvalidOptionError'; code: 'INVALID_OPTION'; }
/** From `create()` where there is no `Worker` (Node.js, server-side rendering). */
export class UnsupportedEnvironmentError extends UellmError { name: 'UnsupportedEnvironmentError'; code: 'UNSUPPORTED_ENVIRONMENT'; }
/**
 * From `create()`: the worker script or its .wasm could not be loaded (a bundler that did not emit
 * the worker, a wrong URL or MIME type, a cross-origin script the page may not run). The message
 * names the URL, what the server answered and what to do (e.g. `create({ workerUrl })`).
 */
export class WorkerLoadError extends UellmError {
  constructor(message?: string, options?: { url?: string; cause?: unknown });
  name: 'WorkerLoadError';
  code: 'WORKER_LOAD_FAILED';
  /** The URL that failed (null when not known, e.g. rebuilt from its wire form). */
  url: string | null;
}

/** Codes of the core (wasm) errors, rethrown as `UellmError` with these names. */
export type CoreErrorCode =
  | 'NOT_A_MODEL' | 'UNSUPPORTED_VERSION' | 'TRUNCATED' | 'CORRUPTED' | 'INVALID_OPTION'
  | 'EMPTY_INPUT' | 'NOT_TEXT' | 'INVALID_ARPA';

export interface WireError { name: string; code: string; message: string; url?: string; }
/** Rebuilds a real Error (of the matching class when known) from its `{name, code, message}` form. */
export function fromWire(wire: WireError): UellmError;
/** The `{name, code, message}` form of any thrown value. */
export function toWire(err: unknown): WireError;

export interface TrainOptions {
  /** Longest pattern in words (the model order), 1..16; default 6. */
  maxPatternLength?: number;
  /** Drop patterns of order ≥ 2 seen fewer times; default 1. */
  minFrequency?: number;
  /** Cap on stored patterns (most frequent kept); 0 = no cap. */
  maxPatterns?: number;
}

export interface GenerateOptions {
  maxTokens?: number;
  contextWindow?: number;
  /** Same seed + options → same text (also natively). */
  seed?: number | bigint;
  temperature?: number;
  topK?: number;
  topP?: number;
  stopAtSentenceEnd?: boolean;
  minGeneratedTokensRatio?: number;
  maxPatternsPerQuery?: number;
  maxBackupPatterns?: number;
  activationThreshold?: number;
  frequencyNormalization?: boolean;
  activationCacheSize?: number;
}

export interface GenerationStats {
  tokens: number;
  elapsedMs: number;
  tokensPerSecond: number;
  /** Share of stored patterns no consulted context touched (0..1). */
  sparsity: number;
  patternsActivated?: number;
  patternsTotal?: number;
  cacheHits: number;
  cacheMisses: number;
  cacheHitRate: number | null;
  seed: number | bigint;
  stopReason: string;
  /** True when the model's own distribution was sampled exactly (no shaping options). */
  exact: boolean;
  [key: string]: unknown;
}

export interface Generation { text: string; tokens: string[]; stats: GenerationStats; }

export interface Perplexity {
  perplexity: number;
  perplexityExcludingOov: number;
  log10Prob: number;
  tokens: number;
  oov: number;
  sentences: number;
  [key: string]: unknown;
}

export interface ModelInfo {
  order: number;
  vocabSize: number;
  /** n-grams per order, index 0 = unigrams. */
  ngrams: number[];
  patterns: number;
  memoryBytes: number;
  fileBytes: number;
  cache?: CacheStats | null;
  [key: string]: unknown;
}

export interface CacheStats { hits: number; misses: number; entries: number; capacity: number; }

export interface SavedModel {
  name: string;
  /** Size of the model file in bytes. */
  bytes: number;
  /** ISO 8601 time of the save. */
  created: string;
  order: number | null;
  patterns: number | null;
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

export interface TrainProgress {
  phase: 'reading' | 'building' | 'done';
  bytesSeen: number;
  bytesTotal: number;
}

export type TrainSource = string | ArrayBuffer | ArrayBufferView | Blob | File;

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the configured timeout for this call (measured from dispatch to a worker). */
  timeoutMs?: number;
}

export type PresetName = 'development' | 'production' | 'high_performance';
export type LogLevel = 'detailed' | 'quiet' | 'silent';

export interface Logger { info?(msg: string): void; warn?(msg: string): void; }

export interface Config {
  /** Pool preset; fields given here override it. */
  preset?: PresetName;
  /** Generation workers (default 4). A separate training worker is always started. */
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
  /** Options merged under every generate() call's options. */
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
  /** Enables test-only operations (`llm.__test`). Never in production. */
  testHooks?: boolean;
}

export interface ResolvedConfig extends Required<Omit<Config, 'preset' | 'logger' | 'workerUrl' | 'wasmUrl'>> {
  preset?: PresetName;
  logger?: Logger;
  workerUrl?: string | URL;
  wasmUrl?: string | URL;
}

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
  /** Trainer.finish (building the model). */
  trainMs?: number;
  /** Model.toBytes. */
  toBytesMs?: number;
  /** Copying the model file into the Blob the workers share. */
  blobMs?: number;
  /** IndexedDB write (save, import, remove). */
  writeMs?: number;
  generateMs?: number;
  perplexityMs?: number;
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
  modelMemoryBytes: number;
  /** Size of the current model file (0 when none). */
  modelFileBytes: number;
  /** Activation-cache lookups over all workers' generations. */
  cache: { hits: number; misses: number; hitRate: number | null };
  throughput: { tokens: number; tokensPerSecond: number; requestsPerSecond: number };
  /** Worker replacements by cause, and `ready`: generation workers serving the current model. */
  workers: { restarts: number; timeouts: number; aborts: number; crashes: number; ready: number };
  /**
   * WebAssembly memory held by the live generation workers (together) and by the training
   * worker, as of their last answers. It only grows, to each worker's largest job: a generation
   * worker holds its load's peak (more than `modelMemoryBytes`), and the training worker its
   * training's until it is replaced, 2 s after the training.
   */
  workerMemoryBytes: { generation: number; training: number };
}

export interface Uellm {
  readonly config: ResolvedConfig;
  /**
   * The current model's file as a Blob (null before any model): what the workers load from,
   * e.g. to hand the model to another pool with `loadBytes` or to download it without saving.
   */
  readonly modelFile: Blob | null;
  /**
   * Trains in the training worker, then installs the model in one generation worker and resolves:
   * the model is current from then on (requests go only to workers that have it), and the other
   * workers load it in the background, at most `navigator.hardwareConcurrency - 1` at once
   * (see `health().workers.ready`). A request made while no worker has it waits in the queue.
   * Once the training worker has been idle for 2 s afterwards, a fresh one replaces it, which
   * gives back the memory the training took (WebAssembly memory never shrinks); a `train()`
   * made while it starts waits for it.
   */
  train(sources: TrainSource | TrainSource[], options?: TrainOptions,
    call?: CallOptions & { onProgress?: (p: TrainProgress) => void }): Promise<ModelInfo>;
  /** Loads a model file (e.g. fetched or picked by the user): resolves as soon as one worker has
   *  it (the others follow in the background, as for `train`). A bad file changes no worker's model. */
  loadBytes(bytes: ArrayBuffer | ArrayBufferView | Blob, call?: CallOptions): Promise<ModelInfo>;
  generate(prompt: string, options?: GenerateOptions,
    /** `onToken` runs on the main thread per streamed token; its return value is ignored (stop with `signal`). */
    call?: CallOptions & { onToken?: (piece: string, token: string) => void }): Promise<Generation>;
  perplexity(text: string, call?: CallOptions): Promise<Perplexity>;
  /** Info of the current model (null when none), with one worker's cache statistics. */
  info(): Promise<ModelInfo | null>;
  /** Saves the current model in IndexedDB (default name `<modelName>_YYYYMMDD_HHMMSS`). */
  save(name?: string): Promise<SavedModel>;
  /** Loads a saved model (one IndexedDB read): resolves as soon as one worker has it, the others
   *  follow in the background (as for `train`); NotFoundError when absent. */
  load(name: string): Promise<ModelInfo>;
  list(): Promise<SavedModel[]>;
  remove(name: string): Promise<true>;
  exportModel(name: string): Promise<Blob>;
  /** Validates (typed core error on a bad file; nothing stored) and saves a model file. */
  importModel(source: Blob | ArrayBuffer | ArrayBufferView, name?: string): Promise<SavedModel>;
  /** This site's storage: used and available bytes, and whether it is persistent. */
  storageInfo(): Promise<StorageInfo>;
  /** Asks the browser to keep the saved models when space runs short; resolves to whether it
   *  will (browsers decide by their own rules, so it may be false). */
  persistStorage(): Promise<boolean>;
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
export const presets: Readonly<Record<PresetName, Readonly<Partial<Config>>>>;
export const defaults: Readonly<Required<Omit<Config, 'preset' | 'logger' | 'workerUrl' | 'wasmUrl'>>>;
