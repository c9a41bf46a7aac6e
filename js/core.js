// The one place that knows the wasm glue's API (`./ultra_efficient_llm.js`, the wasm-pack
// `--target web` output of the same build, which scripts/build-pkg.sh copies next to this file):
//   new Trainer(opts); trainer.setTotalBytes(n); trainer.feed(text); trainer.feedBytes(u8);
//   trainer.bytesSeen(); trainer.finish(onProgress?) -> Model;
//   trainer.finishFile(onProgress?) -> {bytes, info}
//   Model.checkHeader(u8); Model.fromBytes(u8, onProgress?); model.toBytes();
//   model.generate(prompt, opts, onToken?);
//   model.perplexity(text); model.info(); model.cacheStats(); version()
// Options and results are camelCase objects on both sides, so they pass straight through.
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

/** A streaming trainer (the glue's `Trainer`). */
export const createTrainer = (options) => new glue.Trainer(options ?? {});

/** Checks a model file's header (magic, version, length) without reading the rest (typed errors
 * as `modelFromBytes`). */
export function checkModelHeader(bytes) {
  glue.Model.checkHeader(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

/** `onProgress(fraction)`, when given, follows the parse. */
export function modelFromBytes(bytes, onProgress) {
  return glue.Model.fromBytes(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), onProgress);
}

/** A model from its index image (`modelToImage`): no build, and no more memory than the image. */
export function modelFromImage(bytes) {
  return glue.Model.fromImage(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
}

/** The model's index image: what `modelFromImage` loads without a build. */
export const modelToImage = (model) => model.toImage();

/** `{text, tokens, stats}`; `onToken(piece, token)` is called per generated token. */
export const generate = (model, prompt, options, onToken) => model.generate(prompt, options ?? undefined, onToken);

export const perplexity = (model, text) => model.perplexity(text);
export const info = (model) => model.info();
export const cacheStats = (model) => model.cacheStats();
export const coreVersion = () => glue.version();
