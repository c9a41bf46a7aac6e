// Saved models in IndexedDB (used inside the worker). Two object stores written together:
// `meta` (small records, what `list()` reads) and `bytes` (the model file). A save is ONE
// readwrite transaction over both, so a failed save (quota, abort, crash) leaves the previous
// record with that name intact.
//
// A third store, `images`, caches each saved model's index image (about 4 times the file):
// what a load reads instead of the file, so that it is a copy and not a build. An image is only
// a cache: written after its model (a failure to write it fails nothing), deleted with it in the
// same transaction as any save or removal of that name, and used only when its `created` is
// its model's, as is the file's size (so an image never stands for another model of the name).
import { ModelExistsError, NotFoundError, QuotaExceededError, StorageBlockedError, StorageError,
  StorageUnavailableError, UellmError } from './errors.js';

const DB_NAME = 'ultra-efficient-llm';
const DB_VERSION = 2;
const STORES = ['meta', 'bytes', 'images'];
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
      if (!db.objectStoreNames.contains('images')) db.createObjectStore('images', { keyPath: 'name' });
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
      tx = db.transaction(STORES, mode);
    } catch (e) {
      reject(storageError(e));
      return;
    }
    let value;
    let failure = null;
    tx.oncomplete = () => resolve(value);
    tx.onabort = () => reject(failure ?? storageError(tx.error ?? new Error('transaction aborted')));
    tx.onerror = (ev) => { ev.preventDefault?.(); };
    const stores = { meta: tx.objectStore('meta'), bytes: tx.objectStore('bytes'), images: tx.objectStore('images'), tx };
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
export function saveModel({ name, base = 'model', overwrite = false }, bytes, info, extra) {
  const meta = {
    name,
    bytes: bytes instanceof Blob ? bytes.size : bytes.byteLength,
    created: new Date().toISOString(),
    order: info?.order ?? null,
    patterns: info?.patterns ?? null,
    // A model from loadUrl: `url`, and what revalidates it (`etag`, `lastModified`, `integrity`).
    ...extra,
  };
  // Stored as a Blob: reading it back gives a file-backed Blob, which a worker reads and then
  // hands to the other workers by reference, with no copy (an ArrayBuffer record is copied out
  // of the database on every read, and again into a Blob to share it).
  const file = bytes instanceof Blob ? bytes : new Blob([bytes], { type: 'application/octet-stream' });
  return transact('readwrite', async ({ meta: metaStore, bytes: bytesStore, images }, setValue) => {
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
    // The image of a model this replaces must not outlive it.
    images.delete(meta.name);
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
export async function loadModelFile(name) {
  return (await loadModel(name, { image: false })).file;
}

/**
 * The stored model of `name`: `{ file, image, created, meta }`, its file and (`image`: when
 * asked for and cached) its index image, both Blobs, its `created` (which names this version of
 * it for saveImage) and its metadata record; NotFoundError when absent.
 */
export function loadModel(name, { image = true } = {}) {
  return transact('readonly', async ({ meta, bytes, images }, setValue) => {
    const rec = await request(bytes.get(name));
    if (!rec) throw new NotFoundError(`no saved model is named "${name}"`);
    const info = await request(meta.get(name));
    const cached = image ? await request(images.get(name)) : undefined;
    // Records written before files were stored as Blobs hold an ArrayBuffer.
    const file = rec.data instanceof Blob ? rec.data
      : new Blob([rec.data], { type: 'application/octet-stream' });
    const fresh = cached && info && cached.created === info.created && cached.bytes === info.bytes
      && cached.data instanceof Blob;
    setValue({ file, image: fresh ? cached.data : null, created: info?.created ?? null, meta: info ?? null });
  });
}

/**
 * Caches `image` (a Blob) as the index image of the saved model `name`, if that model is still
 * the one saved at `created`; resolves to whether it was stored.
 */
export function saveImage(name, created, image) {
  return transact('readwrite', async ({ meta, images }, setValue) => {
    const info = await request(meta.get(name));
    if (!info || info.created !== created) {
      setValue(false);
      return;
    }
    images.put({ name, created, bytes: info.bytes, data: image });
    setValue(true);
  });
}

/** Forgets the cached index image of `name` (one that failed to load); the model stays. */
export function dropImage(name) {
  return transact('readwrite', async ({ images }, setValue) => {
    images.delete(name);
    setValue(true);
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
  return transact('readwrite', async ({ meta, bytes, images }, setValue) => {
    const rec = await request(meta.get(name));
    if (!rec) throw new NotFoundError(`no saved model is named "${name}"`);
    meta.delete(name);
    bytes.delete(name);
    images.delete(name);
    setValue(true);
  });
}

/** `<base>_YYYYMMDD_HHMMSS` in local time. */
export function defaultName(base = 'model', date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${base}_${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}_` +
    `${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}
