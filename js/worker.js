// Module worker: one wasm instance, one Model. Requests `{id, op, args}` are answered with
// `{id, ok: true, result, timings}` or `{id, ok: false, error: {name, code, message}, timings}`;
// progress and streamed tokens are posted as `{id, type: 'progress' | 'tokens', ...}` before the
// answer.
// Messages that arrive before the wasm module is initialised are queued and answered in order.
//
// `timings` is the time spent inside this worker, in ms (performance.now()): `waitMs` (queued in
// this worker behind earlier requests), `totalMs` (handling it) and the op's phases, e.g.
// `readMs` (IndexedDB / Blob / training input), `checkMs` (Model.checkHeader), `parseMs`
// (Model.fromBytes), `adoptMs` (taking another worker's model by its handle, threaded build),
// `restoreMs` (rebuilding the previous model after a failed load), `trainMs`
// (Trainer.finishFile), `blobMs` (copying the model file into a Blob), `writeMs`,
// `generateMs`, `perplexityMs`, `predictMs`, `scoreMs`, `rankMs`; and two sizes, not durations: `wasmBytes`, the worker's
// WebAssembly memory afterwards, and `modelBytes`, what the model it then holds takes of that
// memory (its info's `memoryBytes`; 0 with none). The pool keeps both per worker (health(),
// metrics()).
//
// `unload` frees the model (the worker stays, ready for the next load).
import * as core from './core.js';
import * as storage from './storage.js';
import { FetchError, IntegrityError, InvalidOpError, InvalidOptionError, NetworkError, NoModelError,
  QuotaExceededError, StorageUnavailableError, UellmError, toWire } from './errors.js';

const CHUNK = 1 << 20; // bytes per Blob slice fed to the trainer
// Generation with a token callback (streaming, or a long generation that may be asked to stop).
const CLOCK_EVERY = 32;   // tokens between clock reads: performance.now() costs ~0.3 µs in a worker
const FLUSH_MS = 16;      // a streamed batch: about one animation frame's worth of tokens
const POLL_MS = 50;       // how often a long generation checks its stop URL (~1 ms per check)
// Generations of at most this many tokens run without a callback: the core's callback makes two
// strings per token, which costs about 0.75 µs a token (20k tokens of exact sampling: 25 ms with
// it, 8-12 ms without). They take at most a few hundred ms (shaped sampling of a big model: 6 µs
// a token), so one that is stopped ends within the pool's grace period anyway.
const QUIET_MAX_TOKENS = 20_000;
const DEFAULT_MAX_TOKENS = 50; // the core's default (no preset changes it)
// During a call into the core that reports progress (a training's build, a model's parse): at
// most one progress message per this many ms. The core reports up to ~200 fractions per call;
// a message for each would cost the page more than it shows.
const PROGRESS_MS = 50;

let model = null;
let modelInfo = null;
// The current model's file as a Blob: what `replaceModel` rebuilds the model from if a
// replacement fails after the model was freed.
let modelFile = null;
let testHooks = false;
let failInstalls = 0; // test hook: background installs (`args.install`) left to fail
let wasmUrl;
let initError = null;
let initialised = false;
let canStop = false; // a synchronous XMLHttpRequest of an object URL works here (see stopRequested)
const pending = [];
let running = Promise.resolve();

self.onmessage = (ev) => {
  const msg = ev.data;
  if (!msg || typeof msg !== 'object' || msg.id === undefined) return;
  // Test-only: throw synchronously from the message handler -> an `error` event in the page.
  if (testHooks && msg.op === '__crash' && msg.args?.mode === 'throw') {
    throw new Error('test hook: worker crashed on purpose');
  }
  msg.arrivedAt = performance.now();
  if (!initialised && msg.op !== 'init') {
    pending.push(msg);
    return;
  }
  enqueue(msg);
};

// Requests run one after another (a train's awaits must not interleave with a generate).
function enqueue(msg) {
  running = running.then(() => handle(msg));
}

async function handle({ id, op, args = {}, arrivedAt }) {
  const t0 = performance.now();
  const timings = { waitMs: arrivedAt === undefined ? 0 : t0 - arrivedAt, totalMs: 0 };
  try {
    const { result, transfer = [] } = await dispatch(id, op, args, timings);
    timings.totalMs = performance.now() - t0;
    timings.wasmBytes = core.wasmMemoryBytes();
    timings.modelBytes = modelBytes();
    self.postMessage({ id, ok: true, result, timings }, transfer);
  } catch (err) {
    timings.totalMs = performance.now() - t0;
    timings.wasmBytes = core.wasmMemoryBytes();
    timings.modelBytes = modelBytes();
    const wire = toWire(err);
    // A wasm trap leaves the instance unusable: tell the pool to replace this worker.
    const fatal = err instanceof WebAssembly.RuntimeError;
    // Its memory size hints at whether it ran out, which the trap's own message does not: a
    // failed allocation ends in "unreachable". (Measured in Node, order 6: 381 MB of text trained
    // in 2 GiB; 811 MB trapped at 2.7 GiB, when doubling an array would have passed 4 GiB.)
    if (fatal) Object.assign(wire, { name: 'WorkerCrashedError', code: 'WORKER_CRASHED',
      message: `the worker's WebAssembly instance trapped: ${err.message} (its memory had grown ` +
        `to ${Math.round((timings.wasmBytes ?? 0) / 2 ** 20)} MiB; an instance can have ` +
        '4096 MiB at most)' });
    self.postMessage({ id, ok: false, error: wire, fatal, timings });
  }
}

// `fraction`: how much of `building` or `installing` is done, from the core (see coreProgress);
// absent for `reading` (the page computes it from the bytes) and at a phase's start.
const progress = (id, phase, bytesSeen, bytesTotal, fraction) =>
  self.postMessage({ id, type: 'progress', phase, bytesSeen, bytesTotal, fraction });

/**
 * The `onProgress` of a core call (`Trainer.finishFile`, `Model.fromBytes`) that posts `phase`
 * with the core's fraction, at most once per PROGRESS_MS. The core's 0 and 1 are not posted: the phase's start is posted before the call and its end follows
 * from the answer (the page reports it).
 */
function coreProgress(id, phase, bytesSeen, bytesTotal) {
  let last = performance.now();
  return (fraction) => {
    if (!(fraction > 0 && fraction < 1)) return;
    const now = performance.now();
    if (now - last < PROGRESS_MS) return;
    last = now;
    progress(id, phase, bytesSeen, bytesTotal, fraction);
  };
}

function requireModel() {
  if (!model) throw new NoModelError();
  return model;
}

function setModel(next, file) {
  dropModel();
  model = next;
  modelFile = file;
  modelInfo = core.info(model);
  return modelInfo;
}

/** Bytes the current model takes in this worker's WebAssembly memory (0 with none). */
const modelBytes = () => modelInfo?.memoryBytes ?? 0;

/**
 * Frees the current model: wasm-bindgen's `free()` drops the Rust `Model`, whose allocations go
 * back to the allocator inside the instance's memory. The memory itself stays as large as it
 * grew (WebAssembly memory never shrinks), and the next model is built in it without growing
 * it again (see replaceModel).
 */
function dropModel() {
  model?.free();
  model = null;
  modelInfo = null;
  modelFile = null;
}

/**
 * Makes `bytes` (a model file) this worker's model; returns its info. `file()` gives the same
 * bytes as a Blob (kept to rebuild this model should a later replacement fail).
 *
 * The header is checked first, so junk, foreign, future-version and truncated files fail with
 * the current model untouched. Only then is the current model freed, so that the new one is
 * built in the memory the old one used: growing WebAssembly memory costs about as much as the
 * decoding (node, en-train order 5: a second load took 237-383 ms with the old model held,
 * 148-211 ms with it freed first). A file that fails later (checksum, content) makes the worker
 * rebuild its previous model from that model's file, so a failed load still leaves the worker
 * as it was; it just takes longer to fail. `onProgress(fraction)` follows the parse (not the
 * rebuild).
 */
async function replaceModel(bytes, file, timings, onProgress, previous = modelFile) {
  phase(timings, 'checkMs', () => core.checkModelHeader(bytes));
  dropModel();
  let parsed;
  try {
    parsed = phase(timings, 'parseMs', () => core.modelFromBytes(bytes, onProgress));
  } catch (e) {
    if (previous) {
      try {
        const restored = await phase(timings, 'restoreMs',
          async () => core.modelFromBytes(new Uint8Array(await previous.arrayBuffer())));
        setModel(restored, previous);
      } catch {
        // The worker stays without a model; the error below is the one to report.
      }
    }
    throw e;
  }
  return setModel(parsed, file());
}

/**
 * Threaded build: makes the model that `handle` names (loaded by another worker of this shared
 * memory) this worker's model, and `file` (its Blob) its file; returns its info, or null when no
 * worker holds that model any more (then nothing changed here).
 */
function adopt(handle, file) {
  let next;
  try {
    next = core.adoptModel(handle);
  } catch {
    return null;
  }
  return setModel(next, file);
}

/** Threaded build: the handle of this worker's model for the other workers (see adopt). */
const shareHandle = () => (model && core.threaded() ? core.shareModel(model) : undefined);

function exactBuffer(u8) {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.slice().buffer;
}

/** Runs `fn()`, adds its duration to `timings[key]`, returns its value (sync or awaited). */
function phase(timings, key, fn) {
  const t0 = performance.now();
  const value = fn();
  if (value && typeof value.then === 'function') {
    const done = () => { timings[key] = (timings[key] ?? 0) + performance.now() - t0; };
    return value.then((v) => { done(); return v; }, (e) => { done(); throw e; });
  }
  timings[key] = (timings[key] ?? 0) + performance.now() - t0;
  return value;
}

// The model file as a Blob, made here (the 8.5 MB copy happens in this worker, not on the main
// thread). A Blob crosses postMessage by reference, so the main thread can hand the same file to
// every generation worker (and to replacements) without ever copying or holding the bytes.
function fileBlob(u8, timings) {
  return phase(timings, 'blobMs', () => new Blob([u8], { type: 'application/octet-stream' }));
}

/** Model bytes from `args.blob` (read here, off the main thread) or `args.bytes` (ArrayBuffer). */
async function modelBytesFrom(args, timings) {
  if (args.blob) return new Uint8Array(await phase(timings, 'readMs', () => args.blob.arrayBuffer()));
  return new Uint8Array(args.bytes);
}

/**
 * Caches the current model's index image under the saved model `name` (saved at `created`):
 * the image (about 4 times the file) makes the next load of that model a copy instead of a
 * build. Best effort: a full quota or any other failure just leaves no image (the file still
 * loads), and resolves all the same.
 */
async function cacheImage(name, created, timings) {
  const current = model;
  if (!current || !created) return;
  try {
    const image = phase(timings, 'imageMs',
      () => new Blob([core.modelToImage(current)], { type: 'application/octet-stream' }));
    await phase(timings, 'writeMs', () => storage.saveImage(name, created, image));
  } catch {
    // No image: the next load builds the model from its file, and caches one then.
  }
}

/** cacheImage once the current request has answered (a load that built its model). */
function cacheImageSoon(name, created) {
  const current = model;
  setTimeout(() => {
    if (model === current) cacheImage(name, created, {});
  }, 0);
}

/**
 * `loadUrl`: the model file at `args.url`, made this worker's model. With `args.cache`, a copy
 * is kept in the model library under the URL (with the index image, as save() keeps one), and
 * a later call revalidates it (`If-None-Match` / `If-Modified-Since`): a 304 loads the copy (its
 * image: no build), as does a failed request (offline); a 200 downloads the new file. The
 * download reports `downloading` progress (`bytesTotal` null when the server sends no length),
 * then the parse `installing`. `args.integrity` (SRI: `sha256-…`, `sha384-…` or `sha512-…`,
 * any of several) is checked before the file is parsed. Answers as loadStored does for the pool.
 */
async function loadUrl(id, args, timings) {
  const { url, integrity, cache } = args;
  let stored = null;
  if (cache) {
    try {
      stored = await phase(timings, 'readMs', () => storage.loadModel(url));
    } catch {
      stored = null; // not cached yet (or no IndexedDB here): download
    }
    // A copy checked against another integrity is not the file asked for.
    if (stored && integrity && stored.meta?.integrity !== integrity) stored = null;
  }
  const headers = {};
  if (stored?.meta?.etag) headers['If-None-Match'] = stored.meta.etag;
  if (stored?.meta?.lastModified) headers['If-Modified-Since'] = stored.meta.lastModified;
  let response = null;
  try {
    response = await phase(timings, 'fetchMs', () => fetch(url, { headers, cache: 'no-cache' }));
  } catch (e) {
    if (!stored) throw new NetworkError(`could not download ${url}: ${e?.message ?? e}`);
  }
  // Unchanged (304), unreachable (offline) or failing for now (a 5xx): the copy.
  if (stored && (response === null || response.status === 304 || response.status >= 500)) {
    return { result: { ...(await installStored(id, args, stored, url, timings)), fromCache: true } };
  }
  if (!response.ok) throw new FetchError(`${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  const bytes = await download(id, response, url, args.progress, timings);
  if (integrity) await checkIntegrity(bytes, integrity, url);
  const file = new Blob([bytes], { type: 'application/octet-stream' });
  const info = await installFile(id, args, bytes, file, timings, modelFile);
  if (cache) {
    try {
      const meta = await phase(timings, 'writeMs', () => storage.saveModel({ name: url, overwrite: true }, file, modelInfo,
        { url, etag: response.headers.get('ETag') ?? null, lastModified: response.headers.get('Last-Modified') ?? null,
          integrity: integrity ?? null }));
      cacheImageSoon(url, meta.created);
    } catch {
      // Loaded, not cached (a full quota, no IndexedDB): the next call downloads it again.
    }
  }
  return { result: { info, blob: file, share: shareHandle(), fromCache: false } };
}

/** The body of `response`, reporting `downloading` progress at most every PROGRESS_MS. */
async function download(id, response, url, report, timings) {
  const t0 = performance.now();
  const length = Number(response.headers.get('Content-Length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const chunks = [];
  let seen = 0;
  let last = 0;
  if (report) progress(id, 'downloading', 0, total, 0);
  try {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      seen += value.length;
      const now = performance.now();
      if (report && now - last >= PROGRESS_MS) {
        last = now;
        progress(id, 'downloading', seen, total, total ? Math.min(seen / total, 1) : 0);
      }
    }
  } catch (e) {
    throw new NetworkError(`the download of ${url} broke off after ${seen} bytes: ${e?.message ?? e}`);
  }
  const bytes = new Uint8Array(seen);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  if (report) progress(id, 'downloading', seen, total ?? seen, 1);
  timings.downloadMs = performance.now() - t0;
  return bytes;
}

/** Throws IntegrityError unless `bytes` match one of the SRI hashes of `integrity`. */
async function checkIntegrity(bytes, integrity, url) {
  const algorithms = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
  const wanted = integrity.trim().split(/\s+/).map((h) => h.match(/^(sha256|sha384|sha512)-([A-Za-z0-9+/=_-]+)/))
    .filter(Boolean);
  if (!wanted.length) {
    throw new InvalidOptionError(`integrity must be an SRI hash such as "sha256-<base64>", got "${integrity}"`);
  }
  for (const [, alg, b64] of wanted) {
    const digest = new Uint8Array(await crypto.subtle.digest(algorithms[alg], bytes));
    let bin = '';
    for (const b of digest) bin += String.fromCharCode(b);
    const got = btoa(bin);
    if (got === b64 || got.replace(/\+/g, '-').replace(/\//g, '_') === b64) return;
  }
  throw new IntegrityError(`${url} does not match its integrity ${integrity}: the file changed or was corrupted`);
}

/**
 * Makes the model of the index image `image` (a Blob) this worker's model and `file` its file;
 * `report()` is called once the image is read. Throws when the image does not load, after the
 * current model was freed (the caller then loads the file).
 */
async function installImage(image, file, timings, key, report) {
  const bytes = new Uint8Array(await phase(timings, 'readMs', () => image.arrayBuffer()));
  report?.();
  dropModel();
  return setModel(phase(timings, key, () => core.modelFromImage(bytes)), file);
}

/** replaceModel for the model file `bytes` (`file` as a Blob), reporting `installing` (args.progress). */
function installFile(id, args, bytes, file, timings, previous) {
  if (args.progress) progress(id, 'installing', bytes.length, bytes.length);
  const onParse = args.progress ? coreProgress(id, 'installing', bytes.length, bytes.length) : undefined;
  return replaceModel(bytes, () => file, timings, onParse, previous);
}

/** Installs a model of the library (`stored`, from storage.loadModel): its image, or its file. */
async function installStored(id, args, stored, name, timings) {
  const { file, image } = stored;
  const size = image?.size ?? file.size;
  if (args.progress) progress(id, 'reading', 0, size);
  const previous = modelFile;
  let info = null;
  if (image) {
    try {
      const report = args.progress ? () => {
        progress(id, 'reading', size, size);
        progress(id, 'installing', size, size);
      } : undefined;
      info = await installImage(image, file, timings, 'fromImageMs', report);
    } catch {
      storage.dropImage(name).catch(() => {});
    }
  }
  let bytes = null;
  if (!info) {
    bytes = new Uint8Array(await phase(timings, 'readMs', () => file.arrayBuffer()));
    if (args.progress) progress(id, 'reading', file.size, file.size);
    info = await installFile(id, args, bytes, file, timings, previous);
    cacheImageSoon(name, stored.created);
  }
  return { info, blob: file, share: shareHandle(), image: bytes === null ? image : undefined };
}

async function dispatch(id, op, args, timings) {
  switch (op) {
    case 'init': {
      testHooks = !!args.testHooks;
      wasmUrl = args.wasmUrl;
      try {
        // `threads`: the threaded build, joining the pool's shared memory when one is given.
        await core.initCore(wasmUrl, { threads: !!args.threads, memory: args.memory, module: args.module,
          threadsWasmUrl: args.threadsWasmUrl });
        initialised = true;
      } catch (e) {
        initError = e;
        // Queued requests learn about the failure too.
        for (const m of pending.splice(0)) {
          self.postMessage({ id: m.id, ok: false, error: toWire(e) });
        }
        throw e;
      }
      for (const m of pending.splice(0)) enqueue(m);
      // The URL is live now, so a failure means no such requests here (a Content-Security-Policy
      // whose connect-src lacks blob:, say): then the pool replaces workers instead.
      canStop = !!args.stopUrl && !stopRequested(args.stopUrl);
      // The first threaded worker's memory and module, for the others to join.
      const shared = core.threaded() && !args.memory ? core.sharedMemory() : undefined;
      return { result: { version: core.coreVersion(), canStop, threaded: core.threaded(), shared } };
    }
    case 'train': return train(id, args, timings);
    case 'load': {
      // `args.blob`: a model file shared by reference (see fileBlob); `args.bytes`: an
      // ArrayBuffer. A failed parse leaves this worker's model as it was.
      const size = args.blob?.size ?? args.bytes?.byteLength ?? 0;
      if (args.install && failInstalls > 0) {
        failInstalls--;
        throw new UellmError('test hook: a background install failed', { code: 'TEST_HOOK' });
      }
      // Threaded build (`args.adopt`: a model handle): the model another worker of this memory
      // loaded, without a copy (see adopt); when it is gone already, the file is loaded as below.
      if (args.adopt && core.threaded()) {
        const adopted = phase(timings, 'adoptMs', () => adopt(args.adopt, args.blob));
        if (adopted) return { result: { info: adopted, share: args.adopt, adopted: true } };
      }
      // A background install with the model's index image (made by the worker that loaded the
      // file: see Pool#makeImage) loads that instead: no build, so this worker's memory holds
      // the image and not the build's peak. Should the image fail, the file below is loaded.
      if (args.install && args.image) {
        try {
          const info = await installImage(args.image, args.blob, timings, 'parseMs');
          return { result: { info, share: shareHandle(), fromImage: true } };
        } catch {
          // The file is the model's own; its load reports any error.
        }
      }
      if (args.progress) progress(id, 'reading', 0, size);
      const bytes = await modelBytesFrom(args, timings);
      // The parse reports its fraction as it goes (coreProgress).
      if (args.progress) {
        progress(id, 'reading', size, size);
        progress(id, 'installing', size, size);
      }
      const file = () => args.blob ?? fileBlob(bytes, timings);
      const onParse = args.progress ? coreProgress(id, 'installing', size, size) : undefined;
      return { result: { info: await replaceModel(bytes, file, timings, onParse), share: shareHandle() } };
    }
    case 'image': {
      // The current model's index image, as a Blob (passed by reference to the other workers).
      const image = phase(timings, 'imageMs', () => core.modelToImage(requireModel()));
      return { result: phase(timings, 'blobMs', () => new Blob([image], { type: 'application/octet-stream' })) };
    }
    case 'generate': {
      const m = requireModel();
      const sink = tokenSink(id, args);
      const t0 = performance.now();
      let result;
      try {
        result = core.generate(m, args.prompt ?? '', args.options, sink?.onToken);
      } finally {
        sink?.flush();
      }
      timings.generateMs = performance.now() - t0;
      return { result };
    }
    case 'perplexity': {
      const m = requireModel();
      return { result: phase(timings, 'perplexityMs', () => core.perplexity(m, args.text ?? '')) };
    }
    case 'predict': {
      const m = requireModel();
      return { result: phase(timings, 'predictMs', () => core.predict(m, args.context, args.options)) };
    }
    case 'score': {
      const m = requireModel();
      return { result: phase(timings, 'scoreMs', () => core.score(m, args.text)) };
    }
    case 'rank': {
      const m = requireModel();
      return { result: phase(timings, 'rankMs', () => core.rank(m, args.context, args.candidates)) };
    }
    case 'unload': {
      // The pool's unload(): this worker keeps running, without a model; its next request
      // that needs one fails with NoModelError until a load.
      const freed = model !== null;
      dropModel();
      return { result: { freed } };
    }
    case 'info': return { result: model ? { ...core.info(model), cache: core.cacheStats(model) } : null };
    case 'cacheStats': return { result: model ? core.cacheStats(model) : null };
    case 'save': {
      requireModel();
      if (testHooks && args.failForTest) storage.failNextSaveForTest(args.failForTest);
      // The model's file as it came (a Blob): every model here is installed from its file.
      // Then its index image, so that loading it is a copy, not a build (see cacheImage).
      const meta = await phase(timings, 'writeMs', () => storage.saveModel(storeArgs(args), modelFile, modelInfo));
      await cacheImage(meta.name, meta.created, timings);
      return { result: meta };
    }
    case 'loadStored': {
      // The stored file is a Blob: read here, and (`args.share`) answered as it is, which the
      // main thread keeps and hands to the other workers once this one has the model (they
      // load it in the background). A bad file fails here, before any other worker sees it,
      // and changes no worker's model. When the model's index image is cached beside it, that
      // is loaded instead (a copy, no build; fromImageMs in the timings), and handed to the
      // other workers too; else the image is cached once the model is built.
      if (args.progress) progress(id, 'reading', 0, 0);
      const stored = await phase(timings, 'readMs', () => storage.loadModel(args.name));
      const installed = await installStored(id, args, stored, args.name, timings);
      if (args.share) return { result: installed };
      const bytes = new Uint8Array(await phase(timings, 'readMs', () => stored.file.arrayBuffer()));
      const buf = exactBuffer(bytes);
      return { result: { bytes: buf, info: installed.info }, transfer: [buf] };
    }
    case 'loadUrl': return loadUrl(id, args, timings);
    case 'list': return { result: await phase(timings, 'readMs', () => storage.listModels()) };
    case 'remove': return { result: await phase(timings, 'writeMs', () => storage.removeModel(args.name)) };
    case 'export': {
      // The stored Blob itself: it crosses to the page by reference.
      return { result: await phase(timings, 'readMs', () => storage.loadModelFile(args.name)) };
    }
    case 'import': {
      const bytes = await phase(timings, 'readMs', () => toBytes(args.source));
      // Typed error on junk; nothing is stored.
      const probe = phase(timings, 'parseMs', () => core.modelFromBytes(bytes));
      const info = core.info(probe);
      probe.free();
      return { result: await phase(timings, 'writeMs', () => storage.saveModel(storeArgs(args), bytes, info)) };
    }
    case '__crash': {
      if (!testHooks) throw new InvalidOpError(`unknown op "${op}"`);
      if (args.mode === 'trap') throw new WebAssembly.RuntimeError('unreachable (test hook)');
      if (args.mode === 'hang') { const end = Date.now() + (args.ms ?? 60000); while (Date.now() < end); return { result: null }; }
      if (args.mode === 'close') { self.close(); return { result: null }; }
      if (args.mode === 'failNextInstall') { failInstalls++; return { result: null }; }
      // What this worker holds: its build, and in the threaded one its model's handle and how
      // many Model objects (in all the workers of its memory) hold that model.
      if (args.mode === 'shared') {
        return { result: { threaded: core.threaded(), share: shareHandle() ?? null,
          holders: model && core.threaded() ? model.holders() : null,
          sharedBuffer: core.memoryIsShared(), hasModel: !!model } };
      }
      // Uncaught error outside any request -> `error` event.
      setTimeout(() => { throw new Error('test hook: uncaught error in the worker'); });
      return new Promise(() => {});
    }
    default:
      throw new InvalidOpError(`unknown op "${op}"`);
  }
}

/**
 * Whether the pool asked for the request polling `url` to stop: it revokes the URL (see
 * Handle#requestStop in pool.js), and a request for a revoked object URL fails at once.
 */
function stopRequested(url) {
  try {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', url, false);
    xhr.send();
    return false;
  } catch {
    return true;
  }
}

/**
 * The token callback of a generation, or null when it needs none. Streamed tokens go out in
 * batches, `{type: 'tokens', pieces, tokens}`: the first token at once (the page shows something
 * as soon as it can), then at most one message per FLUSH_MS; a message per token cost more than
 * the generation itself (20k tokens: 270-400 ms streamed against 8-30 ms unstreamed). A
 * generation that may run long also polls its stop URL every POLL_MS and stops when it is
 * revoked (returning false ends the core's generation after this token).
 */
function tokenSink(id, { stream, stopUrl, options }) {
  const maxTokens = typeof options?.maxTokens === 'number' ? options.maxTokens : DEFAULT_MAX_TOKENS;
  const poll = canStop && typeof stopUrl === 'string' && maxTokens > QUIET_MAX_TOKENS;
  if (!stream && !poll) return null;
  let pieces = [];
  let tokens = [];
  let count = 0;
  let lastFlush = performance.now();
  let lastPoll = lastFlush;
  const flush = () => {
    if (pieces.length === 0) return;
    self.postMessage({ id, type: 'tokens', pieces, tokens });
    pieces = [];
    tokens = [];
  };
  const onToken = (piece, token) => {
    if (stream) {
      pieces.push(piece);
      tokens.push(token);
      if (count === 0) flush();
    }
    if (++count % CLOCK_EVERY !== 0) return true;
    const t = performance.now();
    if (stream && t - lastFlush >= FLUSH_MS) {
      flush();
      lastFlush = t;
    }
    if (poll && t - lastPoll >= POLL_MS) {
      if (stopRequested(stopUrl)) return false;
      lastPoll = performance.now();
    }
    return true;
  };
  return { onToken, flush };
}

/** save/import: the name (absent: a default one made from `base`) and whether it may replace. */
const storeArgs = (args) => ({ name: args.name || undefined, base: args.base, overwrite: args.overwrite === true });

async function toBytes(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  throw new InvalidOptionError('expected a Blob, File, ArrayBuffer or Uint8Array');
}

function sizeOf(src) {
  if (typeof src === 'string') return null; // counted as fed (UTF-8 length is not known yet)
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return src.byteLength;
  if (typeof Blob !== 'undefined' && src instanceof Blob) return src.size;
  throw new InvalidOptionError('a training source must be a string, ArrayBuffer, typed array, Blob or File');
}

const asBytes = (src) => (src instanceof ArrayBuffer ? new Uint8Array(src)
  : new Uint8Array(src.buffer, src.byteOffset, src.byteLength));

/**
 * Whether a source leaves the trainer at the start of a line: it ends with a newline, or is
 * empty. The trainer sees the sources as one text, so one that does not gets a newline before
 * the next: `['the cat sat', 'on the mat']` is two lines, not "the cat saton the mat".
 */
async function endsLine(src) {
  if (typeof src === 'string') return src.length === 0 || src.endsWith('\n');
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
    const u8 = asBytes(src);
    return u8.length === 0 || u8[u8.length - 1] === 0x0a;
  }
  if (src.size === 0) return true;
  return new Uint8Array(await src.slice(src.size - 1).arrayBuffer())[0] === 0x0a;
}

/**
 * Feeds the sources to `trainer` (a Trainer, or either pass of a BoundedTrainer), in slices, a
 * newline after each that `separate` marks; `report()` after each slice.
 */
async function feedSources(trainer, list, separate, report) {
  for (const [n, src] of list.entries()) {
    if (typeof src === 'string') {
      // Strings are fed in slices too, so progress moves on big inputs.
      for (let i = 0; i < src.length; i += CHUNK) {
        let end = Math.min(src.length, i + CHUNK);
        // Do not split a surrogate pair.
        if (end < src.length && /[\uD800-\uDBFF]/.test(src[end - 1])) end += 1;
        trainer.feed(src.slice(i, end));
        i = end - CHUNK;
        report();
      }
    } else if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
      const u8 = asBytes(src);
      for (let i = 0; i < u8.length; i += CHUNK) {
        trainer.feedBytes(u8.subarray(i, Math.min(u8.length, i + CHUNK)));
        report();
      }
    } else {
      for (let i = 0; i < src.size; i += CHUNK) {
        const buf = await src.slice(i, Math.min(src.size, i + CHUNK)).arrayBuffer();
        trainer.feedBytes(new Uint8Array(buf));
        report();
      }
    }
    if (separate[n]) trainer.feed('\n');
  }
}

// Without a `memory` bound, a training whose estimated peak passes AUTO_LIMIT bytes of
// WebAssembly memory trains within AUTO_MEMORY instead (as `uellm train` bounds itself to 80% of
// the machine's memory): an instance has 4 GiB at most, and in-memory training of about 800 MB of
// text at order 6 traps at 2.7 GiB, when an array doubles past 4 GiB.
const AUTO_LIMIT = 2 ** 31;
const AUTO_MEMORY = 2 ** 30;

/**
 * The estimated peak of training `bytes` of text in memory at `options` (as `uellm train`
 * estimates it: a token is about 4 bytes of text, and takes 24 bytes plus 6 a pattern length).
 */
function inMemoryEstimate(bytes, options) {
  const order = options?.maxPatternLength ?? 6; // the core's default
  return (bytes / 4) * (24 + 6 * order);
}

async function train(id, { sources = [], options, memory }, timings) {
  const list = Array.isArray(sources) ? sources : [sources];
  const encoder = new TextEncoder();
  let total = 0;
  for (const src of list) total += sizeOf(src) ?? encoder.encode(src).length;
  // Sources that need a newline before the next one (the last needs none: finishing ends it).
  const separate = [];
  for (let i = 0; i < list.length; i++) {
    separate.push(i < list.length - 1 && !(await endsLine(list[i])));
    if (separate[i]) total += 1;
  }
  let bound = memory ?? null;
  if (bound === null && !options?.maxPatterns && inMemoryEstimate(total, options) > AUTO_LIMIT
    && await opfsAvailable()) bound = AUTO_MEMORY;
  if (bound !== null) return trainBounded(id, list, separate, total, options, bound, timings);
  const trainer = core.createTrainer(options);
  let finished = false;
  const tRead = performance.now();
  try {
    trainer.setTotalBytes(total);
    progress(id, 'reading', 0, total);
    let lastPost = 0;
    const report = (force) => {
      const now = performance.now();
      if (force || now - lastPost > 50) {
        lastPost = now;
        progress(id, 'reading', trainer.bytesSeen(), total);
      }
    };
    await feedSources(trainer, list, separate, () => report(false));
    report(true);
    timings.readMs = performance.now() - tRead; // reading and feeding the sources
    const seen = trainer.bytesSeen();
    progress(id, 'building', seen, total);
    // The build reports its fraction as it goes.
    const onBuild = coreProgress(id, 'building', seen, total);
    finished = true;
    // The model serves in the generation workers, not here: make only its file (no generation
    // index: less time and memory), and keep no model in this worker.
    const { bytes, info } = phase(timings, 'trainMs', () => trainer.finishFile(onBuild));
    dropModel();
    // The file goes out as a Blob made here: see fileBlob and Uellm#installFirst (index.js).
    // The main thread reports the end of `building` and `done` (after the install).
    return { result: { blob: fileBlob(bytes, timings), info } };
  } finally {
    // finishFile() consumes a wasm-bindgen trainer; free only an unfinished one.
    if (!finished) trainer.free();
  }
}

// The temporary files of bounded trainings: one file each in the origin private file system.
const TEMP_PREFIX = 'uellm-train-';

/** The origin private file system's root, or null where it or its sync access handles are
 *  missing (a bounded build needs both). */
async function opfsDirectory() {
  const sync = globalThis.FileSystemFileHandle?.prototype?.createSyncAccessHandle;
  if (typeof sync !== 'function') return null;
  try {
    return await navigator.storage.getDirectory();
  } catch {
    return null;
  }
}

const opfsAvailable = async () => (await opfsDirectory()) !== null;

/**
 * A new temporary file in the origin private file system, open with a sync access handle
 * (which a bounded build reads and writes synchronously); `remove()` closes and deletes it.
 * Files that a crashed training left behind are deleted first (a file another tab's training
 * has open is locked, and stays).
 */
async function openTempFile() {
  const dir = await opfsDirectory();
  if (!dir) {
    throw new StorageUnavailableError('training within a memory bound needs the origin private '
      + 'file system (navigator.storage.getDirectory() and sync access handles), which this '
      + 'browser context lacks; train without `memory`');
  }
  for await (const name of dir.keys()) {
    if (name.startsWith(TEMP_PREFIX)) await dir.removeEntry(name).catch(() => {});
  }
  const name = `${TEMP_PREFIX}${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const file = await dir.getFileHandle(name, { create: true });
  const handle = await file.createSyncAccessHandle();
  return {
    handle,
    async remove() {
      try { handle.close(); } catch { /* already closed */ }
      await dir.removeEntry(name).catch(() => {});
    },
  };
}

/**
 * Trains within `memory` bytes of WebAssembly memory (beyond the vocabulary): the sources are
 * read twice (the words, then the patterns in runs that fit the bound), and the runs go to a
 * temporary file in the origin private file system. The model file is the one training in
 * memory makes, byte for byte. `reading` covers both passes: `bytesTotal` is twice the sources'
 * bytes, and `bytesSeen` what both passes have fed.
 */
async function trainBounded(id, list, separate, total, options, memory, timings) {
  // `memory` was checked by the pool (train) or is AUTO_MEMORY; the core checks it again.
  const temp = await openTempFile();
  let pass = null;
  const tRead = performance.now();
  try {
    pass = core.createBoundedTrainer(options, memory, temp.handle);
    let done = 0; // bytes the first pass fed, once it has ended
    let lastPost = 0;
    const report = (force) => {
      const now = performance.now();
      if (force || now - lastPost > 50) {
        lastPost = now;
        progress(id, 'reading', done + pass.bytesSeen(), 2 * total);
      }
    };
    progress(id, 'reading', 0, 2 * total);
    await feedSources(pass, list, separate, () => report(false));
    done = pass.bytesSeen();
    const first = pass;
    pass = null; // secondPass() consumes the first pass, whether it succeeds or not
    pass = first.secondPass();
    await feedSources(pass, list, separate, () => report(false));
    report(true);
    timings.readMs = performance.now() - tRead;
    progress(id, 'building', 2 * done, 2 * total);
    const onBuild = coreProgress(id, 'building', 2 * done, 2 * total);
    const second = pass;
    pass = null;
    // No info: the model is parsed where it is installed, not in this bounded memory.
    const { bytes, built } = phase(timings, 'trainMs', () => second.finishFile(onBuild));
    dropModel();
    return { result: { blob: fileBlob(bytes, timings), info: null, built } };
  } catch (err) {
    // A full origin quota: the package's QuotaExceededError, as for a save.
    if (err?.code === 'IO_ERROR' && /QuotaExceededError/.test(err.message)) {
      throw new QuotaExceededError(`training within a memory bound ran out of storage for its `
        + `temporary file: ${err.message}`);
    }
    throw err;
  } finally {
    pass?.free();
    await temp.remove();
  }
}

// Report failures outside any request (e.g. the glue failing to import) as an `error` event.
self.addEventListener('unhandledrejection', (ev) => {
  throw ev.reason instanceof Error ? ev.reason : new Error(String(ev.reason));
});
