// Saved models in IndexedDB (used inside the worker). Two object stores written together:
// `meta` (small records, what `list()` reads) and `bytes` (the model file). A save is ONE
// readwrite transaction over both, so a failed save (quota, abort, crash) leaves the previous
// record with that name intact.
import { ModelExistsError, NotFoundError, QuotaExceededError, StorageBlockedError, StorageError,
  StorageUnavailableError, UellmError } from './errors.js';

const DB_NAME = 'ultra-efficient-llm';
const DB_VERSION = 1;
let dbPromise = null;

function openDb() {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new StorageUnavailableError());
      return;
    }
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta', { keyPath: 'name' });
      if (!db.objectStoreNames.contains('bytes')) db.createObjectStore('bytes', { keyPath: 'name' });
    };
    req.onsuccess = () => {
      const db = req.result;
      db.onversionchange = () => { db.close(); dbPromise = null; };
      resolve(db);
    };
    req.onerror = () => reject(storageError(req.error));
    req.onblocked = () => reject(new StorageBlockedError());
  });
  dbPromise.catch(() => { dbPromise = null; });
  return dbPromise;
}

function storageError(err) {
  if (err && err.name === 'QuotaExceededError') {
    return new QuotaExceededError(
      `the browser storage quota is exhausted (${err.message}); remove saved models and retry`);
  }
  if (err instanceof UellmError) return err;
  return new StorageError(`storage failed: ${err?.message ?? err}`);
}

/** Runs `body(stores)` in one transaction; resolves with its value once the transaction commits. */
async function transact(mode, body) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = db.transaction(['meta', 'bytes'], mode);
    } catch (e) {
      reject(storageError(e));
      return;
    }
    let value;
    let failure = null;
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure ?? storageError(tx.error ?? new Error('transaction aborted')));
    tx.onerror = (ev) => { ev.preventDefault?.(); };
    const stores = { meta: tx.objectStore('meta'), bytes: tx.objectStore('bytes'), tx };
    Promise.resolve()
      .then(() => body(stores, (v) => { value = v; }))
      .catch((e) => {
        failure = storageError(e);
        try { tx.abort(); } catch { reject(failure); }
      });
  });
}

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

let failNextSave = null;
/** Test hook: makes the next save fail inside its transaction (after writing the bytes). */
export function failNextSaveForTest(kind) { failNextSave = kind; }

/**
 * Stores a model file (a Uint8Array or a Blob) and its metadata, atomically; returns the
 * metadata. `name`: the name to store it under; an existing model of that name is replaced only
 * with `overwrite` (else ModelExistsError). Without a name, a default one made from `base`
 * (`<base>_YYYYMMDD_HHMMSS`, then `_2`, `_3`, ... when taken): chosen inside the write
 * transaction, so two saves in the same second, even from two workers or tabs, never collide
 * (IndexedDB runs overlapping readwrite transactions one after the other).
 */
export function saveModel({ name, base = 'model', overwrite = false }, bytes, info) {
  const meta = {
    name,
    bytes: bytes instanceof Blob ? bytes.size : bytes.byteLength,
    created: new Date().toISOString(),
    order: info?.order ?? null,
    patterns: info?.patterns ?? null,
  };
  // Stored as a Blob: reading it back gives a file-backed Blob, which a worker reads and then
  // hands to the other workers by reference, with no copy (an ArrayBuffer record is copied out
  // of the database on every read, and again into a Blob to share it).
  const file = bytes instanceof Blob ? bytes : new Blob([bytes], { type: 'application/octet-stream' });
  return transact('readwrite', async ({ meta: metaStore, bytes: bytesStore }, setValue) => {
    const taken = async (key) => (await request(metaStore.getKey(key))) !== undefined;
    if (name === undefined) {
      const stem = defaultName(base);
      meta.name = stem;
      for (let i = 2; await taken(meta.name); i++) meta.name = `${stem}_${i}`;
    } else if (!overwrite && await taken(name)) {
      throw new ModelExistsError(`a saved model is already named "${name}"; ` +
        'save with { overwrite: true } to replace it, or choose another name');
    }
    bytesStore.put({ name: meta.name, data: file });
    if (failNextSave) {
      const kind = failNextSave;
      failNextSave = null;
      const e = new Error(`simulated ${kind} failure`);
      e.name = kind === 'quota' ? 'QuotaExceededError' : 'Error';
      throw e;
    }
    metaStore.put(meta);
    setValue(meta);
  });
}

/** The stored model file of `name` as a Blob; NotFoundError when absent. */
export function loadModelFile(name) {
  return transact('readonly', async ({ bytes }, setValue) => {
    const rec = await request(bytes.get(name));
    if (!rec) throw new NotFoundError(`no saved model is named "${name}"`);
    // Records written before files were stored as Blobs hold an ArrayBuffer.
    setValue(rec.data instanceof Blob ? rec.data
      : new Blob([rec.data], { type: 'application/octet-stream' }));
  });
}

/** Metadata of every saved model, newest first. */
export function listModels() {
  return transact('readonly', async ({ meta }, setValue) => {
    const all = await request(meta.getAll());
    all.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    setValue(all);
  });
}

/** Deletes `name`; NotFoundError when absent. */
export function removeModel(name) {
  return transact('readwrite', async ({ meta, bytes }, setValue) => {
    const rec = await request(meta.get(name));
    if (!rec) throw new NotFoundError(`no saved model is named "${name}"`);
    meta.delete(name);
    bytes.delete(name);
    setValue(true);
  });
}

/** `<base>_YYYYMMDD_HHMMSS` in local time. */
export function defaultName(base = 'model', date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${base}_${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_` +
    `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}
