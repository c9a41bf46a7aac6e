// The model a visitor had loaded comes back after a reload (or the next visit): a user who trained
// or loaded a model and reloads the page expects to find it, not an empty page.
//
// * A model from the library (loaded or saved): its name is remembered (localStorage) and it is
//   loaded by name at start-up.
// * A model that was trained and never saved: it is not put in the library (that is the user's
//   choice, and it would fill the list with entries nobody named); its file is kept in a store of
//   the site's own (IndexedDB database `uellm-site`, one entry, replaced by the next model) and
//   loaded from there. The status line says it was restored and is not saved. If the browser
//   refuses to store it (storage full), the status line says it will not come back.
// * No model (a failed training left none): nothing is remembered.
const KEY = 'uellm-site:last-model';
const DB_NAME = 'uellm-site';
const STORE = 'session';
const FILE = 'last-model';

let lastStored = null; // the Blob last written to the site's store (skip rewriting the same file)
let queue = Promise.resolve(); // remember() calls, in order

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Runs `fn(store)` in one transaction; resolves with the last request's result once committed. */
async function inStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? req.error);
      tx.onabort = () => reject(tx.error ?? new Error('the transaction was aborted'));
    });
  } finally {
    db.close();
  }
}

function readNote() {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? 'null');
  } catch {
    return null;
  }
}

function writeNote(note) {
  try {
    if (note) localStorage.setItem(KEY, JSON.stringify(note));
    else localStorage.removeItem(KEY);
  } catch { /* no localStorage (a sandboxed frame): nothing is remembered */ }
}

/**
 * Remembers `model` (the app's current model, or null) for the next start. For an unsaved model
 * the pool's file is stored; resolves to `{ kept: boolean, reason? }`.
 */
export function remember(model, llm) {
  const job = queue.then(async () => {
    if (!model) {
      writeNote(null);
      return { kept: true };
    }
    if (model.savedAs) {
      writeNote({ name: model.savedAs });
      return { kept: true };
    }
    const blob = llm?.modelFile;
    if (!(blob instanceof Blob)) {
      writeNote(null);
      return { kept: false, reason: 'the model file could not be read' };
    }
    try {
      if (blob !== lastStored) await inStore('readwrite', (s) => s.put(blob, FILE));
      lastStored = blob;
      writeNote({ unsaved: true, origin: model.origin });
      return { kept: true };
    } catch (err) {
      writeNote(null);
      const full = err?.name === 'QuotaExceededError';
      return { kept: false, reason: full ? "the browser's storage for this site is full" : String(err?.message ?? err) };
    }
  });
  queue = job.catch(() => {});
  return job;
}

/**
 * Loads the remembered model into `llm`, if any. Resolves to the app's model description
 * (`{ info, origin, savedAs }`, as train.js and library.js make it), or `{ missing: name }` when
 * the remembered library model is gone (deleted), or null when nothing was remembered or its file
 * could not be read.
 */
export async function restore(llm) {
  const note = readNote();
  if (!note) return null;
  if (typeof note.name === 'string') {
    try {
      const info = await llm.load(note.name);
      return { info, origin: 'loaded', savedAs: note.name };
    } catch (err) {
      writeNote(null);
      if (err?.code === 'NOT_FOUND') return { missing: note.name };
      throw err;
    }
  }
  if (note.unsaved) {
    const blob = await inStore('readonly', (s) => s.get(FILE)).catch(() => null);
    if (!(blob instanceof Blob)) {
      writeNote(null);
      return null;
    }
    const info = await llm.loadBytes(blob);
    lastStored = llm.modelFile === blob ? blob : null;
    return { info, origin: typeof note.origin === 'string' ? note.origin : 'trained here', savedAs: null };
  }
  return null;
}
