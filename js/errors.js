// Error classes of the package: every code the runtime itself gives an error is here (and in
// errors.d.ts, `ErrorCode`). Every error has a stable `name` and `code`; errors cross postMessage
// as `{name, code, message}` and are rebuilt here as real `Error`s. The wasm module throws its own
// errors through `makeError` (its glue imports this module, ./errors.js), so every error a user of
// the package can see, from the pool or from the core used directly, is a `UellmError`.

/**
 * Base class; also carries any core error (`NotAModelError`/`NOT_A_MODEL`, ...) rebuilt from its
 * wire form. Its own defaults (`UellmError`/`UELLM_ERROR`) name a wire form without a name or code;
 * `INTERNAL` is the code of a thrown value that had none (see toWire).
 */
export class UellmError extends Error {
  constructor(message, { name = 'UellmError', code = 'UELLM_ERROR', cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.code = code;
  }
}

function define(name, code, defaultMessage) {
  const cls = class extends UellmError {
    constructor(message = defaultMessage, options = {}) {
      super(message, { ...options, name, code });
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  cls.code = code;
  return cls;
}

export const TimeoutError = define('TimeoutError', 'TIMEOUT', 'the operation timed out');
export const AbortError = define('AbortError', 'ABORTED', 'the operation was aborted');
export const QueueFullError = define('QueueFullError', 'QUEUE_FULL',
  'the request queue is full; retry later or raise config.maxQueue');
export const WorkerCrashedError = define('WorkerCrashedError', 'WORKER_CRASHED',
  'the worker crashed; it has been replaced, retry the request');
export const QuotaExceededError = define('QuotaExceededError', 'QUOTA_EXCEEDED',
  'the browser storage quota is exhausted; remove saved models and retry');
export const NotFoundError = define('NotFoundError', 'NOT_FOUND', 'no saved model has that name');
export const NoModelError = define('NoModelError', 'NO_MODEL',
  'no model is loaded; train or load one first');
export const TerminatedError = define('TerminatedError', 'TERMINATED',
  'the pool has been terminated');
export const InvalidOptionError = define('InvalidOptionError', 'INVALID_OPTION',
  'an option or argument is invalid');
export const UnsupportedEnvironmentError = define('UnsupportedEnvironmentError',
  'UNSUPPORTED_ENVIRONMENT', 'this environment has no module Web Workers');
export const ModelExistsError = define('ModelExistsError', 'MODEL_EXISTS',
  'a saved model already has that name; pass { overwrite: true } to replace it');
export const FetchError = define('FetchError', 'FETCH_FAILED',
  'a training source could not be fetched');
/** `loadUrl`: the model could not be downloaded (offline with no cached copy, DNS, CORS, a reset). */
export const NetworkError = define('NetworkError', 'NETWORK_ERROR',
  'the model could not be downloaded');
/** `loadUrl`: the downloaded file does not match the `integrity` asked for. */
export const IntegrityError = define('IntegrityError', 'INTEGRITY_MISMATCH',
  'the downloaded file does not match its integrity hash');
/** Inside a worker: IndexedDB is missing (some private modes, or a context without it). */
export const StorageUnavailableError = define('StorageUnavailableError', 'STORAGE_UNAVAILABLE',
  'IndexedDB is not available in this browser context');
/** Inside a worker: another tab holds the model database open at an older version. */
export const StorageBlockedError = define('StorageBlockedError', 'STORAGE_BLOCKED',
  'the model database is blocked by another tab');
/** Inside a worker: IndexedDB failed otherwise (a full quota is a QuotaExceededError). */
export const StorageError = define('StorageError', 'STORAGE_ERROR', 'storage failed');
/** A worker was sent an operation it does not know (a message not sent by this package's pool). */
export const InvalidOpError = define('InvalidOpError', 'INVALID_OP', 'unknown operation');

/**
 * The worker script could not be started (a bundler did not emit it, a wrong URL or MIME type, a
 * cross-origin script the page may not run): `url` is the script's URL; the message says what the
 * server answered and what to do (e.g. `create({ workerUrl })`). Thrown on the page only.
 */
export class WorkerLoadError extends UellmError {
  constructor(message = 'the worker script could not be loaded', { url, cause } = {}) {
    super(message, { name: 'WorkerLoadError', code: 'WORKER_LOAD_FAILED', cause });
    this.url = url ?? null;
  }
}
WorkerLoadError.code = 'WORKER_LOAD_FAILED';

const classes = new Map([TimeoutError, AbortError, QueueFullError, WorkerCrashedError,
  QuotaExceededError, NotFoundError, NoModelError, TerminatedError, InvalidOptionError,
  UnsupportedEnvironmentError, ModelExistsError, FetchError, NetworkError, IntegrityError, StorageUnavailableError,
  StorageBlockedError, StorageError, InvalidOpError, WorkerLoadError].map((c) => [c.name, c]));

/** The wire form of any thrown value: `{name, code, message}` (and `url`, when it has one). */
export function toWire(err) {
  if (err && typeof err === 'object') {
    const name = typeof err.name === 'string' ? err.name : 'Error';
    let code = typeof err.code === 'string' ? err.code : undefined;
    if (!code) code = name === 'QuotaExceededError' ? 'QUOTA_EXCEEDED' : 'INTERNAL';
    const wire = { name, code, message: String(err.message ?? err) };
    if (typeof err.url === 'string') wire.url = err.url; // WorkerLoadError: the URL that failed
    return wire;
  }
  return { name: 'Error', code: 'INTERNAL', message: String(err) };
}

/**
 * A `UellmError` with that name, code and message: of the class of that name when there is one
 * (`InvalidOptionError`, ...), else a `UellmError` that carries them (the core's `NotAModelError`,
 * ...). The wasm module makes each error it throws with this.
 */
export function makeError(name, code, message) {
  const cls = classes.get(name);
  return cls && cls !== WorkerLoadError ? new cls(message) : new UellmError(message, { name, code });
}

/** Rebuilds a real `Error` from its wire form. */
export function fromWire(wire) {
  const { name = 'UellmError', code = 'UELLM_ERROR', message = '' } = wire ?? {};
  if (name === 'WorkerLoadError') return new WorkerLoadError(message, { url: wire.url });
  return makeError(name, code, message);
}
