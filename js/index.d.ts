// Type declarations of the ultra-efficient-llm browser runtime (js/index.js). The options and
// results that the pool passes to and from the core are the core's own types, declared once in
// the generated `ultra_efficient_llm.d.ts` (bindings/wasm/src/typescript.rs) and imported here;
// the pool's types add what only the pool has (call options such as `signal`, `timeoutMs`, `onProgress`).
import type {
  CacheStats, GenerateOptions as CoreGenerateOptions, Generation, GenerationStats,
  ModelInfo as CoreModelInfo, OnToken, Perplexity, Preset, StopReason, TrainingStats, TrainOptions,
  UellmErrorCode,
} from './ultra_efficient_llm.js';

export type {
  CacheStats, Generation, GenerationStats, OnToken, Perplexity, StopReason, TrainingStats, TrainOptions,
};

/** The codes of the core's errors (the core module's `UellmErrorCode`); in the pool they arrive as
 *  `UellmError`s with the core's name, e.g. `NotAModelError` / `NOT_A_MODEL`. */
export type CoreErrorCode = UellmErrorCode;

/**
 * The codes of the errors this runtime gives itself (js/errors.js): one per error class below, and
 * `INTERNAL` (a thrown value that had no code: a bug, as the core's `INTERNAL` is), `UELLM_ERROR`
 * (a wire form without one) and `TEST_HOOK` (only with `config.testHooks`).
 */
export type RuntimeErrorCode =
  | 'TIMEOUT' | 'ABORTED' | 'QUEUE_FULL' | 'WORKER_CRASHED' | 'QUOTA_EXCEEDED' | 'NOT_FOUND'
  | 'NO_MODEL' | 'TERMINATED' | 'INVALID_OPTION' | 'UNSUPPORTED_ENVIRONMENT' | 'MODEL_EXISTS'
  | 'FETCH_FAILED' | 'WORKER_LOAD_FAILED' | 'STORAGE_UNAVAILABLE' | 'STORAGE_BLOCKED' | 'STORAGE_ERROR'
  | 'INVALID_OP' | 'INTERNAL' | 'UELLM_ERROR' | 'TEST_HOOK';

/** Every `code` an error of this package has, the core's included. */
export type ErrorCode = CoreErrorCode | RuntimeErrorCode;

/**
 * Base class of every error this package throws; core errors keep their own name and code. The
 * core module (`ultra-efficient-llm/core`), which exports no error class (it throws plain `Error`s
 * with a `name` and a `code`), declares those as the interface `UellmError`: a value of that type
 * is a value of this one, so one handler typed `UellmError` takes the errors of both.
 */
export class UellmError extends Error {
  constructor(message?: string, options?: { name?: string; code?: ErrorCode; cause?: unknown });
  /** Stable machine-readable code, e.g. "TIMEOUT", "NOT_A_MODEL", "INVALID_OPTION". */
  code: ErrorCode;
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
/** From `save`/`importModel` with the name of a saved model, without `{ overwrite: true }`. */
export class ModelExistsError extends UellmError { name: 'ModelExistsError'; code: 'MODEL_EXISTS'; }
/** From `train` when a `URL` source cannot be fetched, or a `Response` source is not ok (HTTP status ≥ 400). */
export class FetchError extends UellmError { name: 'FetchError'; code: 'FETCH_FAILED'; }
/** From the storage calls: IndexedDB is not available where the workers run (some private modes). */
export class StorageUnavailableError extends UellmError { name: 'StorageUnavailableError'; code: 'STORAGE_UNAVAILABLE'; }
/** From the storage calls: another tab holds the model database open at an older version. */
export class StorageBlockedError extends UellmError { name: 'StorageBlockedError'; code: 'STORAGE_BLOCKED'; }
/** From the storage calls: IndexedDB failed otherwise (a full quota is a QuotaExceededError). */
export class StorageError extends UellmError { name: 'StorageError'; code: 'STORAGE_ERROR'; }
/** From a worker sent an operation it does not know (a message not sent by this package's pool). */
export class InvalidOpError extends UellmError { name: 'InvalidOpError'; code: 'INVALID_OP'; }
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

export interface WireError { name: string; code: string; message: string; url?: string; }
/** Rebuilds a real Error (of the matching class when known) from its `{name, code, message}` form. */
export function fromWire(wire: WireError): UellmError;
/** The `{name, code, message}` form of any thrown value. */
export function toWire(err: unknown): WireError;

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
  phase: 'reading' | 'building' | 'installing' | 'done';
  /** How much of the current phase is done, 0..1. */
  fraction: number;
  /** train: bytes of the sources fed so far (a newline added between two sources counts);
   *  load: bytes of the model file read. */
  bytesSeen: number;
  bytesTotal: number;
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
   */
  train(sources: TrainSource | TrainSource[], options?: TrainOptions,
    /** What `onProgress` throws rejects the call, and stops the training. */
    call?: CallOptions & { onProgress?: (p: TrainProgress) => void }): Promise<ModelInfo>;
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
