// Type declarations of the package's errors (js/errors.js), which index.d.ts re-exports and the
// WebAssembly module's own declarations (ultra_efficient_llm.d.ts) name for the errors it throws.
import type { UellmErrorCode } from './ultra_efficient_llm.js';

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
  | 'FETCH_FAILED' | 'NETWORK_ERROR' | 'INTEGRITY_MISMATCH' | 'WORKER_LOAD_FAILED' | 'STORAGE_UNAVAILABLE' | 'STORAGE_BLOCKED' | 'STORAGE_ERROR'
  | 'INVALID_OP' | 'INTERNAL' | 'UELLM_ERROR' | 'TEST_HOOK';

/** Every `code` an error of this package has, the core's included. */
export type ErrorCode = CoreErrorCode | RuntimeErrorCode;

/**
 * Base class of every error this package throws: the pool's, and the core's (the WebAssembly
 * module's, also when it is used directly through `ultra-efficient-llm/core`, whose declarations
 * name this class), which keep their own name and code (`NotAModelError` / `NOT_A_MODEL`, ...).
 * `err instanceof UellmError` holds for all of them.
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
/** From `loadUrl` when the model cannot be downloaded and no copy is cached (offline, DNS, CORS). */
export class NetworkError extends UellmError { name: 'NetworkError'; code: 'NETWORK_ERROR'; }
/** From `loadUrl` when the downloaded file does not match `integrity`. */
export class IntegrityError extends UellmError { name: 'IntegrityError'; code: 'INTEGRITY_MISMATCH'; }
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
/**
 * An error with that name, code and message: of the class of that name when there is one, else a
 * `UellmError` carrying them. The WebAssembly module makes the errors it throws with this.
 */
export function makeError(name: string, code: string, message: string): UellmError;
/** Rebuilds a real Error (of the matching class when known) from its `{name, code, message}` form. */
export function fromWire(wire: WireError): UellmError;
/** The `{name, code, message}` form of any thrown value. */
export function toWire(err: unknown): WireError;
