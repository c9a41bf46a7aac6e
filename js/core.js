// The one place that knows the wasm glue's API (`./ultra_efficient_llm.js`, the wasm-pack
// `--target web` output of the same build, which scripts/build-pkg.sh copies next to this file):
//   new Trainer(opts); trainer.setTotalBytes(n); trainer.feed(text); trainer.feedBytes(u8);
//   trainer.bytesSeen(); trainer.finish(onProgress?) -> Model;
//   trainer.finishFile(onProgress?) -> {bytes, info}
//   new BoundedTrainer(opts, memory, syncAccessHandle); .feed/.feedBytes/.bytesSeen;
//   .secondPass() -> SecondPass (the same feeds again); .finishFile(onProgress?) -> {bytes, built}
//   Model.checkHeader(u8); Model.fromBytes(u8, onProgress?); model.toBytes();
//   model.generate(prompt, opts, onToken?);
//   model.perplexity(text); model.predict(context, opts); model.score(text);
//   model.rank(context, candidates); model.info(); model.cacheStats(); version()
// Options and results are camelCase objects on both sides, so they pass straight through.
//
// Two builds of the same bindings: the plain one (./ultra_efficient_llm.js) and the threaded one
// (./threads/ultra_efficient_llm.js: atomics, a shared WebAssembly.Memory), which only a
// cross-origin isolated page can use. Both are imported (statically, so that every bundler sees
// them and emits both .wasm files); `initCore` picks one. In the threaded build every generation
// worker instantiates the module with the same memory, and a model that one worker loaded
// reaches the others as a handle (`shareModel`/`adoptModel`): one copy for the pool.
import initPlain, * as plainGlue from './ultra_efficient_llm.js';
import initThreads, * as threadsGlue from './threads/ultra_efficient_llm.js';
import { WorkerLoadError } from './errors.js';

let ready = null;
let memory = null; // the instance's WebAssembly.Memory
let glue = plainGlue;

/**
 * Initialises the wasm module once (idempotent). A failure rejects with a WorkerLoadError that
 * names the .wasm URL and keeps the browser's own message (which names none, e.g. "HTTP status
 * code is not ok").
 *
 * `threads`: use the threaded build; then `memory` and `module` (from another worker's
 * `sharedMemory()`) join that worker's memory, and without them this instance makes the memory
 * the others will join. `threadsWasmUrl` is the threaded .wasm (default: threads/ next to the
 * glue).
 */
export function initCore(wasmUrl, { threads = false, memory: joined, module, threadsWasmUrl } = {}) {
  if (!ready) {
    glue = threads ? threadsGlue : plainGlue;
    const url = threads ? threadsWasmUrl : wasmUrl;
    const source = module ?? url ?? undefined;
    const init = threads ? initThreads : initPlain;
    ready = init(threads ? { module_or_path: source, memory: joined } : { module_or_path: source }).then((exports) => {
      memory = exports?.memory ?? null;
    }, (err) => { throw wasmLoadError(err, url); });
    ready.catch(() => { ready = null; });
  }
  return ready;
}

/** Whether this instance is the threaded build (after `initCore`). */
export const threaded = () => glue === threadsGlue && glue.threaded();

/**
 * What another worker needs to join this instance's memory (threaded build): the shared
 * `WebAssembly.Memory` and the compiled `WebAssembly.Module` (both cross postMessage; the
 * module's compiled code is shared, not compiled again).
 */
export const sharedMemory = () => ({ memory, module: glue.compiledModule() });

/** Whether this instance's memory is a SharedArrayBuffer (the threaded build's). */
export const memoryIsShared = () => typeof SharedArrayBuffer === 'function' && memory?.buffer instanceof SharedArrayBuffer;

/** A handle other instances of this memory turn into the same model (`adoptModel`). */
export const shareModel = (model) => model.share();

/** The model `handle` names in this memory, as a Model of this instance (no copy); throws when
 * no live model has it. */
export const adoptModel = (handle) => glue.Model.fromShared(handle);

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

/** The first pass of a training within `memory` bytes, its temporary files in `handle` (an OPFS
 * sync access handle): the glue's `BoundedTrainer`; `secondPass()`, then `finishFile()`. */
export const createBoundedTrainer = (options, memory, handle) => new glue.BoundedTrainer(options ?? {}, memory, handle);

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
export const predict = (model, context, options) => model.predict(context, options ?? undefined);
export const score = (model, text) => model.score(text);
export const rank = (model, context, candidates) => model.rank(context, candidates);
export const info = (model) => model.info();
export const cacheStats = (model) => model.cacheStats();
export const coreVersion = () => glue.version();
