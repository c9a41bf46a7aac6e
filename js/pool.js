// A pool of module workers: requests go to an idle worker or wait in a bounded queue; a worker
// that crashes is replaced.
//
// A request that times out or is aborted (or whose event callback throws) rejects at once. Its
// worker is then asked to stop (see Handle#requestStop) and stays assigned to it, out of the
// queue's reach, until it answers; only if it does not answer within `stopGraceMs` is it
// terminated and replaced (a replacement reloads the current model: a few hundred ms of a
// worker out of service, for a big model). Pools with `stopGraceMs` 0 (the training worker,
// which holds no model), and requests that load a model, terminate at once, as before.
//
// The current model (generation pool): `version` counts installed models and `modelBlob` is the
// current model file. A request that installs a model (`run(..., { commit })`) makes it current
// as soon as that ONE worker has it; requests then go only to workers holding the current
// version ("serving" workers), while the others load the file in the background, at most
// `maxInstalls` at once (navigator.hardwareConcurrency - 1, at least 1: the parses must leave a
// core to the serving worker), and join as they finish. A background install that fails replaces
// its worker and changes no other worker's model; replacements load the current model the same
// way (through the same limit) before they take requests.
//
// `unload()` makes "no model" current the same way: a new version whose file is null, which
// each worker "installs" by freeing its model (a busy one when its request ends); it resolves
// once every live worker has. The workers stay up, so a later load needs no new worker.
//
// Threaded pools (`initArgs.threads`, a cross-origin isolated page): the first worker to
// initialise makes the shared WebAssembly memory; the others (whose scripts load meanwhile)
// initialise with it and its compiled module (`this.shared`), so all of them, replacements too,
// are instances of one memory. A worker that loads a model answers with a handle (`share`), and
// the background installs adopt that model by its handle (`adopt`) instead of parsing the file:
// one copy of the model for the pool (a worker whose handle no longer finds the model loads the
// file, as in a plain pool).
import {
  AbortError, QueueFullError, TerminatedError, TimeoutError, WorkerCrashedError, fromWire,
} from './errors.js';

let nextId = 1;
const MAX_START_ATTEMPTS = 3;

/**
 * A fresh stop URL (see Handle#requestStop): an object URL of an empty Blob, null where there are
 * none (no URL.createObjectURL).
 */
function stopUrl() {
  try {
    return URL.createObjectURL(new Blob([]));
  } catch {
    return null;
  }
}

class Handle {
  constructor(pool, slot) {
    this.pool = pool;
    this.slot = slot;
    this.pending = new Map(); // id -> entry
    this.job = null;          // the pool request this worker is serving (or stopping)
    this.ready = false;
    this.dead = false;
    this.version = 0;         // the model version this worker holds (0: none)
    this.installing = false;  // a background install is running or waiting for its turn
    this.wasmBytes = 0;       // its WebAssembly memory as of its last answer
    this.modelBytes = 0;      // what its model took of that memory then (0: no model)
    // The URL this worker's long generations poll to learn that they should stop; `canStop`:
    // the worker can read it (it said so at init).
    this.stopUrl = pool.stopGraceMs > 0 ? stopUrl() : null;
    this.canStop = false;
    this.worker = pool.makeWorker();
    this.worker.onmessage = (ev) => this.onMessage(ev.data);
    this.worker.onerror = (ev) => {
      ev.preventDefault?.();
      const detail = ev.message ? `: ${ev.message}` : ' (the script or the wasm module failed to load)';
      pool.replace(this, new WorkerCrashedError(`the worker crashed${detail}; it has been replaced`));
    };
    this.worker.onmessageerror = () => {
      pool.replace(this, new WorkerCrashedError('a message from the worker could not be read; the worker has been replaced'));
    };
  }

  /**
   * Sends one request; resolves with its result. `onEvent(msg, handle)` gets progress/token/bytes
   * messages; `trace.worker` is set to the worker's `timings` of the answer (see worker.js).
   * The entry is left in `this.lastEntry` (so callers need not search `pending`).
   */
  call(op, args, { transfer = [], onEvent, timeoutMs, job, trace } = {}) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const entry = { id, op, resolve, reject, onEvent, job, trace, timer: null };
      this.lastEntry = entry;
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = setTimeout(() => {
          // A pool request is cancelled (its worker is asked to stop first); init and install
          // calls, which belong to no request, replace the worker.
          if (job) this.pool.cancel(job, new TimeoutError(`${op} timed out after ${timeoutMs} ms`));
          else this.pool.replace(this, new TimeoutError(`${op} timed out after ${timeoutMs} ms; the worker has been replaced`), entry);
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      try {
        this.worker.postMessage({ id, op, args }, transfer);
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(entry.timer);
        reject(e);
      }
    });
  }

  onMessage(msg) {
    if (this.dead || !msg || msg.id === undefined) return;
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    if (msg.type) {
      // Events of a request already settled (aborted, timed out) reach no callback.
      if (entry.job?.done) return;
      try {
        entry.onEvent?.(msg, this);
      } catch (e) {
        // A callback that throws fails its own request (with what it threw), not the pool; its
        // worker is stopped as for an abort.
        if (entry.job) this.pool.cancel(entry.job, e, 'ABORTED');
      }
      return;
    }
    this.pending.delete(msg.id);
    if (entry.timer !== null) clearTimeout(entry.timer);
    if (typeof msg.timings?.wasmBytes === 'number') this.wasmBytes = msg.timings.wasmBytes;
    if (typeof msg.timings?.modelBytes === 'number') this.modelBytes = msg.timings.modelBytes;
    if (entry.trace) entry.trace.worker = msg.timings ?? null;
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(fromWire(msg.error));
    if (msg.fatal) this.pool.replace(this, null);
  }

  /**
   * Asks the worker to stop its current request, cooperatively: it revokes the URL the request
   * was given, which a long generation polls (a synchronous XMLHttpRequest every 50 ms, ~1 ms:
   * without SharedArrayBuffer, which needs cross-origin isolation, a worker busy in a
   * synchronous call reads no message, but a fetch of a revoked object URL fails at once). The
   * generation then ends after its current token, with stopReason "cancelled". Later requests get
   * a fresh URL. False when this worker cannot be stopped so.
   */
  requestStop() {
    if (!this.canStop || !this.stopUrl) return false;
    URL.revokeObjectURL(this.stopUrl);
    this.stopUrl = stopUrl();
    return true;
  }

  kill(error, culprit) {
    this.dead = true;
    this.ready = false;
    if (this.stopUrl) URL.revokeObjectURL(this.stopUrl);
    try { this.worker.terminate(); } catch { /* already gone */ }
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer);
      if (entry.quietOnReplace) entry.resolve({ replaced: true });
      else if (entry === culprit || !culprit) entry.reject(error ?? new WorkerCrashedError());
      else entry.reject(new WorkerCrashedError('the worker was replaced while serving this request'));
    }
    this.pending.clear();
  }
}

/** How long background installs wait for the current model's index image before they load its
 *  file instead (the worker that makes it may be busy with a request). */
const IMAGE_WAIT_MS = 2000;

export class Pool {
  /**
   * @param {object} o
   * @param {string} o.name            'generation' | 'training' (for messages)
   * @param {number} o.size
   * @param {number} o.maxQueue
   * @param {() => Worker} o.makeWorker
   * @param {object} o.initArgs
   * @param {number} [o.installTimeoutMs] timeout of loading the model into one worker
   * @param {number} [o.maxInstalls]      background installs at once (default: cores - 1, ≥ 1)
   * @param {number} [o.stopGraceMs]      how long a worker asked to stop may take to answer
   *                                      before it is replaced (0: replace at once)
   * @param {(event: string, data: object) => void} [o.onEvent]
   */
  constructor(o) {
    this.stopGraceMs = 0;
    Object.assign(this, o);
    this.handles = new Array(o.size).fill(null);
    this.queue = [];
    this.terminated = false;
    this.restarts = 0;
    this.stopped = 0;        // requests stopped without replacing their worker
    this.startFailures = 0;
    this.lastStartError = null;
    this.pumpLater = () => this.pump();
    this.version = 0;
    this.modelBlob = null;
    this.modelImage = null;  // the current model's index image: a promise of a Blob or null
    this.shared = null;      // threaded pools: {memory, module} the workers join (see the top)
    this.sharedReady = null; // threaded pools: settles once the first worker made the memory
    this.share = null;       // threaded pools: the current model's handle in that memory
    const cores = typeof navigator !== 'undefined' && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 2;
    this.maxInstalls = o.maxInstalls ?? Math.max(1, cores - 1);
    this.installSlots = 0;   // installs running
    this.installGate = [];   // resolvers of installs waiting for a slot
    this.recycling = new Set(); // slots whose worker is being replaced by recycle()
    this.settledWaiters = [];   // unload() calls waiting for every worker to free its model
  }

  /** A worker that may take requests: initialised, alive, holding the current model. */
  serving(h) {
    return h !== null && h.ready && !h.dead && h.version === this.version;
  }

  /** Starts every worker; rejects with the first initialisation error. */
  async start() {
    await Promise.all(this.handles.map((_, slot) => this.startSlot(slot, 1, true)));
  }

  async startSlot(slot, attempt, initial = false) {
    if (this.terminated) return;
    const handle = new Handle(this, slot);
    this.handles[slot] = handle;
    // A threaded pool: the first worker to initialise makes the memory; the others (their
    // scripts load meanwhile) wait for it, and join it.
    let lead = null;
    try {
      while (this.initArgs?.threads && !this.shared && !lead) {
        if (this.sharedReady) await this.sharedReady;
        else this.sharedReady = new Promise((resolve) => { lead = resolve; });
      }
      if (handle.dead) throw new TerminatedError('the worker was stopped while starting');
      const init = await handle.call('init', { ...this.initArgs, ...(this.shared ?? {}),
        stopUrl: handle.stopUrl ?? undefined }, { timeoutMs: this.initTimeoutMs });
      handle.canStop = init?.canStop === true;
      if (init?.shared && !this.shared) this.shared = init.shared;
      lead?.();
      // A fresh worker holds no model: after an unload it is current as it is.
      if (this.version > 0 && this.modelBlob === null) handle.version = this.version;
      else if (this.version > 0) await this.installInto(handle);
      if (handle.dead) throw new WorkerCrashedError('the worker died while starting');
      handle.ready = true;
      this.pump();
      this.scheduleInstalls();
    } catch (err) {
      if (lead) {
        // The next worker to start makes the memory instead.
        this.sharedReady = null;
        lead();
      }
      this.lastStartError = err;
      if (!handle.dead) handle.kill(err);
      if (this.terminated) return;
      if (initial) throw err;
      if (this.handles[slot] !== handle) return; // already superseded
      this.startFailures++;
      if (attempt < MAX_START_ATTEMPTS) {
        setTimeout(() => this.startSlot(slot, attempt + 1), 100 * attempt);
      } else if (this.handles.every((h) => !h || h.dead)) {
        for (const job of this.queue.splice(0)) this.finishJob(job, err);
      }
    }
  }

  /**
   * Makes `blob` the current model: `handle` (which has just loaded it) serves it at once.
   * `share`: its handle in a threaded pool's memory, which the other workers adopt. `image`:
   * its index image, when `handle` loaded it from one (IndexedDB's cache), for the installs.
   */
  commit(handle, blob, share, image) {
    this.version++;
    this.modelBlob = blob;
    this.share = share ?? null;
    handle.version = this.version;
    this.makeImage(handle, image);
    this.scheduleInstalls();
    this.checkSettled();
  }

  /**
   * With more than one generation worker, asks `handle` (which has just loaded the current
   * model) for the model's index image, which the background installs load instead of the file:
   * an image loads without a build, so each of those workers holds the model and not the peak
   * of building it (for en-train at order 5, 32 MB instead of 72 MB of WebAssembly memory).
   * `this.modelImage` resolves to the image Blob, or to null if it could not be made (the
   * installs then load the file). `image`: the image `handle` loaded the model from (IndexedDB's
   * cache of it), which the installs load as it is.
   */
  makeImage(handle, image) {
    this.modelImage = null;
    // A threaded pool's workers adopt the model itself (see installInto).
    if (this.size < 2 || this.initArgs?.threads) return;
    if (image instanceof Blob) {
      this.modelImage = Promise.resolve(image);
      return;
    }
    const version = this.version;
    // No timeout on the call itself: one would replace the serving worker, which may just be
    // busy with a request; installs wait for the image at most IMAGE_WAIT_MS (see installInto).
    const made = handle.call('image', {})
      .then((blob) => (this.version === version && blob instanceof Blob ? blob : null), () => null);
    this.modelImage = Promise.race([made, new Promise((r) => setTimeout(() => r(null), IMAGE_WAIT_MS))]);
  }

  /**
   * Makes "no model" current: every worker frees its model, idle ones at once, busy ones when
   * their request ends (requests then go to the workers that have freed theirs, and those that
   * need a model fail there with NoModelError). Resolves once every live worker holds no model
   * (true), or earlier, with false, when a load makes another model current meanwhile or the
   * pool is terminated. Workers that start meanwhile begin without a model anyway.
   */
  unload() {
    if (this.terminated) return Promise.reject(new TerminatedError());
    this.version++;
    this.modelBlob = null;
    this.modelImage = null;
    this.share = null;
    const version = this.version;
    const settled = new Promise((resolve) => this.settledWaiters.push({ version, resolve }));
    this.scheduleInstalls();
    this.checkSettled();
    return settled;
  }

  /** Resolves the unload() calls whose version every live worker now holds, or that a newer
   *  version (or termination) superseded. */
  checkSettled() {
    if (!this.settledWaiters.length) return;
    const current = (w) => this.handles.every((h) => !h || h.dead || !h.ready || h.version === w.version);
    this.settledWaiters = this.settledWaiters.filter((w) => {
      const superseded = this.terminated || w.version !== this.version;
      if (!superseded && !current(w)) return true;
      w.resolve(!superseded);
      return false;
    });
  }

  /**
   * Brings `handle` to the current model (waiting for an install slot): loads its file, or,
   * after an unload, frees the worker's model; again if the current model changed meanwhile.
   */
  async installInto(handle) {
    if (this.installSlots < this.maxInstalls) this.installSlots++;
    else await new Promise((resolve) => this.installGate.push(resolve));
    try {
      while (!handle.dead && !this.terminated && handle.version !== this.version) {
        const version = this.version;
        if (this.modelBlob === null) await handle.call('unload', {}, { timeoutMs: this.installTimeoutMs });
        else {
          const blob = this.modelBlob;
          // A threaded pool's workers adopt the model by its handle; a plain pool's load its
          // index image (see makeImage), or the file.
          const adopt = this.share ?? undefined;
          const image = adopt === undefined ? (await this.modelImage) ?? undefined : undefined;
          if (version !== this.version) continue;
          await handle.call('load', { blob, image, adopt, install: true }, { timeoutMs: this.installTimeoutMs });
        }
        if (handle.dead) break;
        handle.version = version;
      }
    } finally {
      const next = this.installGate.shift();
      if (next) next(); else this.installSlots--;
    }
  }

  /** Starts background installs in the idle initialised workers that hold an older model. */
  scheduleInstalls() {
    if (this.terminated || this.version === 0) return;
    for (const h of this.handles) {
      if (!h || !h.ready || h.dead || h.installing || h.job || h.version === this.version) continue;
      h.installing = true;
      this.installInto(h).then(() => {
        h.installing = false;
        this.pump();
        this.scheduleInstalls();
        this.checkSettled();
      }, (err) => {
        h.installing = false;
        // Replaced (its replacement loads the current model); the other workers are untouched.
        if (!h.dead) this.replace(h, err);
        this.checkSettled();
      });
    }
  }

  /** Terminates `handle`, rejects its requests (`culprit` with `error`), starts a replacement. */
  replace(handle, error, culprit, reason = error?.code ?? 'FATAL') {
    if (handle.dead || this.handles[handle.slot] !== handle) return;
    if (!handle.ready) {
      // Still starting: failing its init/load call lets startSlot retry (or report) it.
      handle.kill(error, culprit);
      return;
    }
    if (!culprit && handle.job) culprit = handle.job.entry;
    handle.kill(error, culprit);
    this.restarts++;
    this.onEvent?.('restart', { pool: this.name, slot: handle.slot, reason });
    if (handle.job) {
      const job = handle.job;
      handle.job = null;
      job.handle = null;
    }
    if (!this.terminated) this.startSlot(handle.slot, 1);
    // A worker that is gone holds no model: an unload may be complete without it.
    this.checkSettled();
  }

  /**
   * Replaces every idle worker with a fresh one, to give its memory back: a WebAssembly
   * instance's memory only grows, so a worker keeps the peak of its largest job for good (the
   * training worker: 73 MB after en-train's 4.7 MB, 2 GiB after 381 MB of text). A worker
   * that is busy or loading is left alone. A planned replacement is not a restart: it counts in
   * no `restarts` figure, and the slot counts as live while its new worker starts.
   */
  recycle() {
    if (this.terminated) return;
    for (const h of this.handles) {
      if (!h || h.dead || !h.ready || h.job || h.installing || h.pending.size) continue;
      h.kill(new TerminatedError('the worker was recycled'));
      this.recycling.add(h.slot);
      this.startSlot(h.slot, 1).finally(() => this.recycling.delete(h.slot));
    }
  }

  /**
   * Runs `op` on an idle serving worker (queued when none is). `commit(result)`: the op loaded a
   * model into its worker; on success the returned Blob becomes the current model (see commit).
   * `priority`: queued first, and not refused by a full queue (a trained model's install).
   * `ref`: an object whose `job` is set to the request (for `cancel` and `requestStop`).
   */
  run(op, args, { timeoutMs, signal, onEvent, transfer, trace, commit, priority, ref } = {}) {
    if (this.terminated) return Promise.reject(new TerminatedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const job = { op, args, timeoutMs, signal, onEvent, transfer, trace, resolve, reject, handle: null,
        entry: null, done: false, onAbort: null, commit: commit ?? null };
      const idle = this.idleHandle();
      if (!idle) {
        if (!priority && this.queue.length >= this.maxQueue) {
          reject(new QueueFullError(`the ${this.name} queue is full (${this.queue.length} waiting, ` +
            `maxQueue ${this.maxQueue}); retry later or raise config.maxQueue`));
          return;
        }
        if (this.handles.every((h) => !h || h.dead) && this.startFailures >= MAX_START_ATTEMPTS) {
          reject(this.lastStartError ?? new WorkerCrashedError('no worker could be started'));
          return;
        }
      }
      if (ref) ref.job = job;
      if (signal) {
        job.onAbort = () => this.cancel(job, abortError(signal));
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (idle) this.dispatch(idle, job);
      else if (priority) this.queue.unshift(job);
      else this.queue.push(job);
    });
  }

  /**
   * Fails `job` with `err` at once (aborted, timed out, or its callback threw). A queued job
   * just leaves the queue. A running one: see the top of this file (its worker is asked to stop,
   * and replaced if it does not answer within stopGraceMs).
   */
  cancel(job, err, reason = err?.code) {
    if (job.done) return;
    const handle = job.handle;
    if (!handle) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.finishJob(job, err);
      return;
    }
    const entry = job.entry;
    if (handle.dead) {
      // Its worker is gone already; its rejection, on the way, finds the job settled.
      this.finishJob(job, err);
      return;
    }
    // A load may have replaced the worker's model by the time it answers: no grace for those.
    if (!this.stopGraceMs || job.commit || !entry) {
      this.replace(handle, err, entry, reason);
      return;
    }
    // Settled now; the worker stays assigned to the job (so it takes no other request) until
    // it answers (finishJob then frees it) or the grace period ends.
    job.done = true;
    if (job.signal) job.signal.removeEventListener('abort', job.onAbort);
    job.reject(err);
    handle.requestStop();
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.replace(handle, err, entry, reason), this.stopGraceMs);
  }

  /**
   * Asks the worker running `job` to stop it early without failing it (a streamed generation
   * whose consumer stopped): the job settles with the worker's answer as usual. False when the
   * job is not running or its worker cannot be stopped (it then runs to its end).
   */
  requestStop(job) {
    return !job.done && !!job.handle && job.handle.requestStop();
  }

  idleHandle() {
    for (const h of this.handles) if (this.serving(h) && h.job === null) return h;
    return null;
  }

  dispatch(handle, job) {
    handle.job = job;
    job.handle = handle;
    // A generation polls its worker's current stop URL (see Handle#requestStop).
    if (job.op === 'generate' && handle.canStop) job.args.stopUrl = handle.stopUrl;
    const p = handle.call(job.op, job.args, {
      transfer: job.transfer, onEvent: job.onEvent, timeoutMs: job.timeoutMs, job, trace: job.trace,
    });
    // `call` registered the entry synchronously: remember it so timeouts/aborts name it.
    job.entry = handle.lastEntry;
    p.then((v) => this.finishJob(job, null, v), (e) => this.finishJob(job, e));
  }

  finishJob(job, err, value) {
    if (job.done) {
      // Settled early (see cancel), and now answered: its worker is back in service.
      const handle = job.handle;
      if (handle && handle.job === job) {
        handle.job = null;
        job.handle = null;
        clearTimeout(job.entry?.timer);
        this.stopped++;
        this.onEvent?.('stopped', { pool: this.name, slot: handle.slot });
        if (!handle.dead) {
          if (this.queue.length && this.serving(handle)) this.dispatch(handle, this.queue.shift());
          else if (handle.ready && handle.version !== this.version) this.scheduleInstalls();
        }
      }
      return;
    }
    job.done = true;
    if (job.signal) job.signal.removeEventListener('abort', job.onAbort);
    const handle = job.handle;
    if (handle && handle.job === job) handle.job = null;
    job.handle = null;
    if (!err && job.commit && handle && !handle.dead) {
      let blob = null;
      try { blob = job.commit(value); } catch { /* a throwing callback must not break the pool */ }
      if (blob) this.commit(handle, blob, value?.share, value?.image);
    }
    // The freed worker takes the next queued request at once (no extra microtask hop); one that
    // holds an older model installs the current one first.
    if (handle && handle.job === null && !handle.dead) {
      if (this.queue.length && this.serving(handle)) this.dispatch(handle, this.queue.shift());
      else if (handle.ready && handle.version !== this.version) this.scheduleInstalls();
    }
    if (err) job.reject(err);
    else job.resolve(value);
    if (this.queue.length) queueMicrotask(this.pumpLater);
  }

  pump() {
    while (this.queue.length) {
      const idle = this.idleHandle();
      if (!idle) return;
      this.dispatch(idle, this.queue.shift());
    }
  }

  /**
   * `ready`: workers serving the current model; `idle`: those without a request; `busy`: workers
   * serving a request; `installing`: initialised workers loading the current model (or waiting
   * to); `starting`: workers not initialised yet (new or replacements); `live`: initialised;
   * `recycling`: the starting workers that replace a recycled one (see recycle); `wasmBytes`:
   * the live workers' WebAssembly memory, and `modelBytes` what their models take of it, as of
   * their last answers; `memory`: the same per live worker (`slot`, `wasmBytes`, `modelBytes`).
   */
  stats() {
    const live = this.handles.filter((h) => h && !h.dead && h.ready);
    const ready = live.filter((h) => h.version === this.version);
    const idle = ready.filter((h) => !h.job).length;
    return { total: this.size, live: live.length, ready: ready.length, idle,
      busy: live.filter((h) => h.job).length, installing: live.length - ready.length,
      starting: this.size - live.length, recycling: this.recycling.size, queued: this.queue.length,
      restarts: this.restarts,
      // A threaded pool's workers share one memory: count it once.
      wasmBytes: live.reduce((sum, h) => (this.shared ? Math.max(sum, h.wasmBytes) : sum + h.wasmBytes), 0),
      modelBytes: live.reduce((sum, h) => sum + h.modelBytes, 0),
      memory: live.map((h) => ({ slot: h.slot, wasmBytes: h.wasmBytes, modelBytes: h.modelBytes })) };
  }

  terminate() {
    if (this.terminated) return;
    this.terminated = true;
    this.shared = null;
    const err = new TerminatedError();
    for (const job of this.queue.splice(0)) this.finishJob(job, err);
    for (const h of this.handles) if (h && !h.dead) h.kill(err);
    for (const next of this.installGate.splice(0)) next(); // they see `terminated` and stop
    this.checkSettled();
  }
}

function abortError(signal) {
  const reason = signal?.reason;
  const msg = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new AbortError(`the operation was aborted${msg}`);
}
