// Module worker: one wasm instance, one Model. Requests `{id, op, args}` are answered with
// `{id, ok: true, result}` or `{id, ok: false, error: {name, code, message}}`; progress and
// streamed tokens are posted as `{id, type: 'progress' | 'token', ...}` before the answer.
// Messages that arrive before the wasm module is initialised are queued and answered in order.
import * as core from './core.js';
import * as storage from './storage.js';
import { NoModelError, UellmError, toWire } from './errors.js';

const CHUNK = 1 << 20; // bytes per Blob slice fed to the trainer

let model = null;
let modelInfo = null;
let testHooks = false;
let wasmUrl;
let initError = null;
let initialised = false;
const pending = [];
let running = Promise.resolve();

self.onmessage = (ev) => {
  const msg = ev.data;
  if (!msg || typeof msg !== 'object' || msg.id === undefined) return;
  // Test-only: throw synchronously from the message handler -> an `error` event in the page.
  if (testHooks && msg.op === '__crash' && msg.args?.mode === 'throw') {
    throw new Error('test hook: worker crashed on purpose');
  }
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

async function handle({ id, op, args = {} }) {
  try {
    const { result, transfer = [] } = await dispatch(id, op, args);
    self.postMessage({ id, ok: true, result }, transfer);
  } catch (err) {
    const wire = toWire(err);
    // A wasm trap leaves the instance unusable: tell the pool to replace this worker.
    const fatal = err instanceof WebAssembly.RuntimeError;
    if (fatal) Object.assign(wire, { name: 'WorkerCrashedError', code: 'WORKER_CRASHED',
      message: `the worker's WebAssembly instance trapped: ${err.message}` });
    self.postMessage({ id, ok: false, error: wire, fatal });
  }
}

const progress = (id, phase, bytesSeen, bytesTotal) =>
  self.postMessage({ id, type: 'progress', phase, bytesSeen, bytesTotal });

function requireModel() {
  if (!model) throw new NoModelError();
  return model;
}

function setModel(next) {
  if (model && typeof model.free === 'function') model.free();
  model = next;
  modelInfo = core.info(model);
  return modelInfo;
}

function exactBuffer(u8) {
  return u8.byteOffset === 0 && u8.byteLength === u8.buffer.byteLength ? u8.buffer : u8.slice().buffer;
}

async function dispatch(id, op, args) {
  switch (op) {
    case 'init': {
      testHooks = !!args.testHooks;
      wasmUrl = args.wasmUrl;
      try {
        await core.initCore(wasmUrl);
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
      return { result: { streamsTokens: core.streamsTokens, nativeContract: core.nativeContract,
        version: core.coreVersion() } };
    }
    case 'train': return train(id, args);
    case 'load': {
      const bytes = new Uint8Array(args.bytes);
      const info = setModel(core.modelFromBytes(bytes));
      return { result: { info } };
    }
    case 'generate': {
      const m = requireModel();
      const onToken = args.stream
        ? (piece, token) => { self.postMessage({ id, type: 'token', piece, token }); }
        : undefined;
      return { result: core.generate(m, args.prompt ?? '', args.options, onToken) };
    }
    case 'perplexity': return { result: core.perplexity(requireModel(), args.text ?? '') };
    case 'info': return { result: model ? { ...core.info(model), cache: core.cacheStats(model) } : null };
    case 'cacheStats': return { result: model ? core.cacheStats(model) : null };
    case 'save': {
      const m = requireModel();
      const name = args.name || storage.defaultName(args.base);
      if (testHooks && args.failForTest) storage.failNextSaveForTest(args.failForTest);
      return { result: await storage.saveModel(name, m.toBytes(), modelInfo) };
    }
    case 'loadStored': {
      const bytes = await storage.loadModelBytes(args.name);
      // Parse first: a bad stored file throws the core's typed error and changes nothing.
      const info = setModel(core.modelFromBytes(bytes));
      const buf = exactBuffer(bytes);
      return { result: { bytes: buf, info }, transfer: [buf] };
    }
    case 'list': return { result: await storage.listModels() };
    case 'remove': return { result: await storage.removeModel(args.name) };
    case 'export': {
      const bytes = await storage.loadModelBytes(args.name);
      const buf = exactBuffer(bytes);
      return { result: buf, transfer: [buf] };
    }
    case 'import': {
      const bytes = await toBytes(args.source);
      const probe = core.modelFromBytes(bytes); // typed error on junk; nothing is stored
      const info = core.info(probe);
      probe.free?.();
      const name = args.name || storage.defaultName(args.base);
      return { result: await storage.saveModel(name, bytes, info) };
    }
    case '__crash': {
      if (!testHooks) throw new UellmError(`unknown op "${op}"`, { name: 'InvalidOpError', code: 'INVALID_OP' });
      if (args.mode === 'trap') throw new WebAssembly.RuntimeError('unreachable (test hook)');
      if (args.mode === 'hang') { const end = Date.now() + (args.ms ?? 60000); while (Date.now() < end); return { result: null }; }
      if (args.mode === 'close') { self.close(); return { result: null }; }
      // Uncaught error outside any request -> `error` event.
      setTimeout(() => { throw new Error('test hook: uncaught error in the worker'); });
      return new Promise(() => {});
    }
    default:
      throw new UellmError(`unknown op "${op}"`, { name: 'InvalidOpError', code: 'INVALID_OP' });
  }
}

async function toBytes(source) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  throw new UellmError('expected a Blob, File, ArrayBuffer or Uint8Array',
    { name: 'InvalidOptionError', code: 'INVALID_OPTION' });
}

function sizeOf(src) {
  if (typeof src === 'string') return null; // counted as fed (UTF-8 length is not known yet)
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return src.byteLength;
  if (typeof Blob !== 'undefined' && src instanceof Blob) return src.size;
  throw new UellmError('a training source must be a string, ArrayBuffer, typed array, Blob or File',
    { name: 'InvalidOptionError', code: 'INVALID_OPTION' });
}

async function train(id, { sources = [], options }) {
  const list = Array.isArray(sources) ? sources : [sources];
  const encoder = new TextEncoder();
  let total = 0;
  for (const src of list) total += sizeOf(src) ?? encoder.encode(src).length;
  const trainer = core.createTrainer(options);
  let finished = false;
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
    for (const src of list) {
      if (typeof src === 'string') {
        // Strings are fed in slices too, so progress moves on big inputs.
        for (let i = 0; i < src.length; i += CHUNK) {
          let end = Math.min(src.length, i + CHUNK);
          // Do not split a surrogate pair.
          if (end < src.length && /[\uD800-\uDBFF]/.test(src[end - 1])) end += 1;
          trainer.feed(src.slice(i, end));
          i = end - CHUNK;
          report(false);
        }
      } else if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) {
        const u8 = src instanceof ArrayBuffer ? new Uint8Array(src)
          : new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
        for (let i = 0; i < u8.length; i += CHUNK) {
          trainer.feedBytes(u8.subarray(i, Math.min(u8.length, i + CHUNK)));
          report(false);
        }
      } else {
        for (let i = 0; i < src.size; i += CHUNK) {
          const buf = await src.slice(i, Math.min(src.size, i + CHUNK)).arrayBuffer();
          trainer.feedBytes(new Uint8Array(buf));
          report(false);
        }
      }
    }
    report(true);
    progress(id, 'building', trainer.bytesSeen(), total);
    finished = true;
    const trained = trainer.finish();
    const info = setModel(trained);
    const bytes = model.toBytes();
    const buf = exactBuffer(bytes);
    progress(id, 'done', total, total);
    return { result: { bytes: buf, info }, transfer: [buf] };
  } finally {
    // finish() consumes a wasm-bindgen trainer; free only an unfinished one.
    if (!finished) trainer.free?.();
  }
}

// Report failures outside any request (e.g. the glue failing to import) as an `error` event.
self.addEventListener('unhandledrejection', (ev) => {
  throw ev.reason instanceof Error ? ev.reason : new Error(String(ev.reason));
});
