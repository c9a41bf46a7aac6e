// A pool of module workers: requests go to an idle worker or wait in a bounded queue; a request
// that times out or is aborted terminates its worker, and a worker that crashes is replaced
// (the replacement is initialised and handed the current model by `onReady`).
import {
  AbortError, QueueFullError, TerminatedError, TimeoutError, WorkerCrashedError, fromWire,
} from './errors.js';

let nextId = 1;
const MAX_START_ATTEMPTS = 3;

class Handle {
  constructor(pool, slot) {
    this.pool = pool;
    this.slot = slot;
    this.pending = new Map(); // id -> entry
    this.job = null;          // the pool request this worker is serving
    this.ready = false;
    this.dead = false;
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
          this.pool.replace(this, new TimeoutError(`${op} timed out after ${timeoutMs} ms; the worker has been replaced`), entry);
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
      try { entry.onEvent?.(msg, this); } catch (e) { /* a throwing callback must not break the pool */ }
      return;
    }
    this.pending.delete(msg.id);
    if (entry.timer !== null) clearTimeout(entry.timer);
    if (entry.trace) entry.trace.worker = msg.timings ?? null;
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(fromWire(msg.error));
    if (msg.fatal) this.pool.replace(this, null);
  }

  kill(error, culprit) {
    this.dead = true;
    this.ready = false;
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

export class Pool {
  /**
   * @param {object} o
   * @param {string} o.name            'generation' | 'training' (for messages)
   * @param {number} o.size
   * @param {number} o.maxQueue
   * @param {() => Worker} o.makeWorker
   * @param {(handle: Handle) => Promise<void>} o.onReady  runs after `init` (e.g. loads the model)
   * @param {object} o.initArgs
   * @param {(event: string, data: object) => void} [o.onEvent]
   */
  constructor(o) {
    Object.assign(this, o);
    this.handles = new Array(o.size).fill(null);
    this.queue = [];
    this.terminated = false;
    this.restarts = 0;
    this.startFailures = 0;
    this.lastStartError = null;
    this.pumpLater = () => this.pump();
  }

  /** Starts every worker; rejects with the first initialisation error. */
  async start() {
    await Promise.all(this.handles.map((_, slot) => this.startSlot(slot, 1, true)));
  }

  async startSlot(slot, attempt, initial = false) {
    if (this.terminated) return;
    const handle = new Handle(this, slot);
    this.handles[slot] = handle;
    try {
      await handle.call('init', this.initArgs, { timeoutMs: this.initTimeoutMs });
      await this.onReady(handle);
      if (handle.dead) throw new WorkerCrashedError('the worker died while starting');
      handle.ready = true;
      this.pump();
    } catch (err) {
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

  /** Terminates `handle`, rejects its requests (`culprit` with `error`), starts a replacement. */
  replace(handle, error, culprit) {
    if (handle.dead || this.handles[handle.slot] !== handle) return;
    if (!handle.ready) {
      // Still starting: failing its init/load call lets startSlot retry (or report) it.
      handle.kill(error, culprit);
      return;
    }
    if (!culprit && handle.job) culprit = handle.job.entry;
    handle.kill(error, culprit);
    this.restarts++;
    this.onEvent?.('restart', { pool: this.name, slot: handle.slot, reason: error?.code ?? 'FATAL' });
    if (handle.job) {
      const job = handle.job;
      handle.job = null;
      job.handle = null;
    }
    if (!this.terminated) this.startSlot(handle.slot, 1);
  }

  /** Runs `op` on an idle worker (queued when all are busy). */
  run(op, args, { timeoutMs, signal, onEvent, transfer, trace } = {}) {
    if (this.terminated) return Promise.reject(new TerminatedError());
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const job = { op, args, timeoutMs, signal, onEvent, transfer, trace, resolve, reject, handle: null,
        entry: null, done: false, onAbort: null };
      const idle = this.idleHandle();
      if (!idle) {
        if (this.queue.length >= this.maxQueue) {
          reject(new QueueFullError(`the ${this.name} queue is full (${this.queue.length} waiting, ` +
            `maxQueue ${this.maxQueue}); retry later or raise config.maxQueue`));
          return;
        }
        if (this.handles.every((h) => !h || h.dead) && this.startFailures >= MAX_START_ATTEMPTS) {
          reject(this.lastStartError ?? new WorkerCrashedError('no worker could be started'));
          return;
        }
      }
      if (signal) {
        job.onAbort = () => {
          if (job.done) return;
          const err = abortError(signal);
          if (job.handle) {
            this.replace(job.handle, err, job.entry);
          } else {
            const i = this.queue.indexOf(job);
            if (i >= 0) this.queue.splice(i, 1);
            this.finishJob(job, err);
          }
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      if (idle) this.dispatch(idle, job);
      else this.queue.push(job);
    });
  }

  idleHandle() {
    for (const h of this.handles) if (h !== null && h.ready && !h.dead && h.job === null) return h;
    return null;
  }

  dispatch(handle, job) {
    handle.job = job;
    job.handle = handle;
    const p = handle.call(job.op, job.args, {
      transfer: job.transfer, onEvent: job.onEvent, timeoutMs: job.timeoutMs, job, trace: job.trace,
    });
    // `call` registered the entry synchronously: remember it so timeouts/aborts name it.
    job.entry = handle.lastEntry;
    p.then((v) => this.finishJob(job, null, v), (e) => this.finishJob(job, e));
  }

  finishJob(job, err, value) {
    if (job.done) return;
    job.done = true;
    if (job.signal) job.signal.removeEventListener('abort', job.onAbort);
    const handle = job.handle;
    if (handle && handle.job === job) handle.job = null;
    job.handle = null;
    // The freed worker takes the next queued request at once (no extra microtask hop).
    if (this.queue.length && handle && handle.job === null && handle.ready && !handle.dead) {
      this.dispatch(handle, this.queue.shift());
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
   * Sends `op` with the same `args` to every ready worker (outside the queue), except `except`;
   * resolves with `[{result, timings}]`. Nothing is transferred: `args` must be cheap to clone
   * (e.g. a Blob, which crosses by reference).
   */
  broadcast(op, args, { timeoutMs, except } = {}) {
    const calls = [];
    for (const h of this.handles) {
      if (!h || !h.ready || h.dead || h === except) continue;
      const trace = { worker: null };
      const p = h.call(op, args, { timeoutMs, trace });
      h.lastEntry.quietOnReplace = true; // a replacement loads the current model itself
      calls.push(p.then((result) => ({ result, timings: trace.worker })));
    }
    return Promise.all(calls);
  }

  stats() {
    const live = this.handles.filter((h) => h && !h.dead);
    const ready = live.filter((h) => h.ready);
    const busy = ready.filter((h) => h.job).length;
    return { total: this.size, ready: ready.length, busy, idle: ready.length - busy,
      starting: this.size - ready.length, queued: this.queue.length, restarts: this.restarts };
  }

  terminate() {
    if (this.terminated) return;
    this.terminated = true;
    const err = new TerminatedError();
    for (const job of this.queue.splice(0)) this.finishJob(job, err);
    for (const h of this.handles) if (h && !h.dead) h.kill(err);
  }
}

function abortError(signal) {
  const reason = signal?.reason;
  const msg = reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new AbortError(`the operation was aborted${msg}`);
}
