// The one place that knows the wasm glue's API (`./ultra_efficient_llm.js`, the wasm-pack
// `--target web` output that the build copies next to this file).
//
// Target contract (camelCase options and results):
//   new Trainer(opts); trainer.setTotalBytes(n); trainer.feed(text); trainer.feedBytes(u8);
//   trainer.bytesSeen(); trainer.finish(onProgress?) -> Model;
//   trainer.finishFile(onProgress?) -> {bytes, info}
//   Model.checkHeader(u8); Model.fromBytes(u8, onProgress?); model.toBytes();
//   model.generate(prompt, opts, onToken?);
//   model.perplexity(text); model.info(); model.cacheStats()
//
// Older glue (only `Model.train(text, opts)`, snake_case options and results) is adapted here:
// options are converted to snake_case, results to camelCase, streamed bytes are decoded and
// collected, and streaming emits the whole text as one piece. When the glue exposes `Trainer`
// everything passes straight through.
import init, * as glue from './ultra_efficient_llm.js';
import { WorkerLoadError } from './errors.js';

let ready = null;
let memory = null; // the instance's WebAssembly.Memory

/**
 * Initialises the wasm module once (idempotent). A failure rejects with a WorkerLoadError that
 * names the .wasm URL and keeps the browser's own message (which names none, e.g. "HTTP status
 * code is not ok").
 */
export function initCore(wasmUrl) {
  if (!ready) {
    ready = (wasmUrl ? init({ module_or_path: wasmUrl }) : init()).then((exports) => {
      memory = exports?.memory ?? null;
    }, (err) => { throw wasmLoadError(err, wasmUrl); });
    ready.catch(() => { ready = null; });
  }
  return ready;
}

/**
 * The error of a failed wasm init, naming the URL: the one given, else the .wasm this worker
 * requested (the glue's default URL may have been rewritten by a bundler, so it is read from
 * resource timing, or from the glue's own message, "failed to fetch Wasm: 404 … fetching '<url>'",
 * as a response that is not read to its end makes no resource timing entry).
 */
function wasmLoadError(err, wasmUrl) {
  const given = wasmUrl ? new URL(wasmUrl, globalThis.location?.href).href : null;
  const entries = globalThis.performance?.getEntriesByType?.('resource') ?? [];
  const entry = entries.filter((e) => (given ? e.name === given : /\.wasm([?#]|$)/.test(e.name))).at(-1);
  const quoted = /fetching '([^']+)'/.exec(String(err?.message ?? ''))?.[1];
  const url = given ?? entry?.name ?? quoted;
  if (!url) return err;
  const status = entry?.responseStatus ? entry.responseStatus
    : /failed to fetch Wasm: (\d{3})/.exec(String(err?.message ?? ''))?.[1];
  return new WorkerLoadError(`the WebAssembly module ${url}${status ? ` (HTTP ${status})` : ''} could not be `
    + `loaded: ${err?.name ?? 'Error'}: ${err?.message ?? err}. It must be served next to the worker script `
    + '(or at config.wasmUrl) as application/wasm.', { url, cause: err });
}

/**
 * Bytes of WebAssembly memory this instance holds (null before init): what the worker costs,
 * as the memory only grows, to the peak of its largest job.
 */
export const wasmMemoryBytes = () => (memory ? memory.buffer.byteLength : null);

/** True when the glue implements the target contract (streaming trainer, camelCase). */
export const nativeContract = typeof glue.Trainer === 'function';

const camelToSnake = (s) => s.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
const snakeToCamel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

function mapKeys(value, fn, deep) {
  if (Array.isArray(value)) return deep ? value.map((v) => mapKeys(v, fn, deep)) : value;
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) out[fn(k)] = deep ? mapKeys(v, fn, deep) : v;
  return out;
}

const toCoreOptions = (opts) =>
  opts == null ? undefined : nativeContract ? opts : mapKeys(opts, camelToSnake, false);
const fromCore = (value) => (nativeContract ? value : mapKeys(value, snakeToCamel, true));

/** A streaming trainer with the target contract's methods. */
export function createTrainer(options) {
  if (nativeContract) return new glue.Trainer(options ?? {});
  return new LegacyTrainer(options);
}

class LegacyTrainer {
  constructor(options) {
    this.options = toCoreOptions(options);
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    this.parts = [];
    this.seen = 0;
    this.total = 0;
  }
  setTotalBytes(n) { this.total = n; }
  feed(text) {
    this.parts.push(text);
    this.seen += new TextEncoder().encode(text).length;
  }
  feedBytes(bytes) {
    try {
      this.parts.push(this.decoder.decode(bytes, { stream: true }));
    } catch (e) {
      const err = new Error('the input is not UTF-8 text; train on text files only');
      err.name = 'NotTextError';
      err.code = 'NOT_TEXT';
      throw err;
    }
    this.seen += bytes.length;
  }
  bytesSeen() { return this.seen; }
  finish() {
    this.parts.push(this.decoder.decode());
    const text = this.parts.join('');
    this.parts = [];
    return glue.Model.train(text, this.options);
  }
  free() {}
}

/**
 * Checks a model file's header (magic, version, length) without reading the rest (typed errors
 * as `modelFromBytes`); false when this core has no such check.
 */
export function checkModelHeader(bytes) {
  if (typeof glue.Model.checkHeader !== 'function') return false;
  glue.Model.checkHeader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  return true;
}

/** `onProgress(fraction)`, when given, follows the parse (a core without it ignores it). */
export function modelFromBytes(bytes, onProgress) {
  return glue.Model.fromBytes(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), onProgress);
}

/** `{text, tokens, stats}`; `onToken(piece, token)` is called per generated token. */
export function generate(model, prompt, options, onToken) {
  if (nativeContract) {
    return onToken ? model.generate(prompt, options ?? undefined, onToken)
      : model.generate(prompt, options ?? undefined);
  }
  const out = fromCore(model.generate(prompt, toCoreOptions(options)));
  if (onToken && out.text) onToken(out.text, out.tokens.join(' '));
  return out;
}

export const perplexity = (model, text) => fromCore(model.perplexity(text));
export const info = (model) => fromCore(model.info());
export function cacheStats(model) {
  if (typeof model.cacheStats === 'function') return fromCore(model.cacheStats());
  return null;
}
export const coreVersion = () => (typeof glue.version === 'function' ? glue.version() : null);
/** Whether `generate` streams one callback per token (false: one piece with the whole text). */
export const streamsTokens = nativeContract;
