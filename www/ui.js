// Small helpers shared by the panels: formatting, error messages, reading user files.

export const $ = (id) => document.getElementById(id);

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const formatInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');

export function formatMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "1 worker", "3 workers": the pool follows the device's cores, so one worker is common. */
export const workerCount = (n) => `${n} worker${n === 1 ? '' : 's'}`;

export const formatPct = (x) => (x == null || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);

/** A sentence a person can act on, for any error the package (or the browser) throws. */
export function describeError(err) {
  // The package's errors carry a string `code`; a browser DOMException has a numeric one, so a
  // quota error straight from the browser is recognised by its name.
  const code = err?.name === 'QuotaExceededError' ? 'QUOTA_EXCEEDED' : err?.code;
  const msg = err?.message ?? String(err);
  switch (code) {
    case 'ABORTED': return 'Cancelled.';
    case 'NOT_TEXT': return `That does not look like text (binary file?). Use UTF-8 .txt files. (${msg})`;
    case 'EMPTY_INPUT': return 'There is no text to work with: the input is empty.';
    case 'NOT_A_MODEL': return `This is not an ultra-efficient-llm model file. Nothing was changed. (${msg})`;
    case 'UNSUPPORTED_VERSION': return `This model file was written by an unsupported version. Nothing was changed. (${msg})`;
    case 'TRUNCATED': return `This model file is incomplete (truncated download?). Nothing was changed. (${msg})`;
    case 'CORRUPTED': return `This model file is damaged. Nothing was changed. (${msg})`;
    case 'QUOTA_EXCEEDED': return 'Browser storage is full: delete or export some saved models, then try again.';
    case 'NO_MODEL': return 'No model yet: train one or load one from the library.';
    case 'NOT_FOUND': return `Not found: ${msg}`;
    case 'TIMEOUT': return `Timed out: ${msg}`;
    case 'INVALID_OPTION': return `Invalid option: ${msg}`;
    case 'WORKER_CRASHED': return `A worker crashed (out of memory?); it has been restarted. (${msg})`;
    default: return `${err?.name ?? 'Error'}: ${msg}`;
  }
}

/** Shows a message in a status element; kind: 'ok' | 'error' | 'info'. */
export function show(el, text, kind = 'info') {
  el.textContent = text;
  el.dataset.kind = kind;
}

/** Reads an integer field; throws an Error naming the field when it is not one in range. */
export function intField(input, { min = -Infinity, max = Infinity, optional = false } = {}) {
  const raw = input.value.trim();
  if (raw === '' && optional) return undefined;
  const v = Number(raw);
  if (raw === '' || !Number.isInteger(v) || v < min || v > max) {
    input.focus();
    const name = input.closest('label')?.firstChild?.textContent.trim() ?? input.id;
    throw new Error(`${name}: expected a whole number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}`);
  }
  return v;
}

export function numField(input, { min = -Infinity, max = Infinity } = {}) {
  const v = Number(input.value.trim());
  if (input.value.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    input.focus();
    const name = input.closest('label')?.firstChild?.textContent.trim() ?? input.id;
    throw new Error(`${name}: expected a number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}`);
  }
  return v;
}

/** Reads a user-picked text file; rejects empty and binary (NUL-containing) files with a clear message. */
export async function readTextFile(file) {
  if (file.size === 0) throw new Error(`"${file.name}" is empty.`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (bytes.subarray(0, 8192).includes(0)) throw new Error(`"${file.name}" is not a text file (binary data).`);
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * Makes `zone` a drop target for files (dragenter/dragover accepted and highlighted, the
 * highlight kept while the pointer moves over the zone's children); calls onFiles(FileList).
 * Drags that carry no files (selected text, links) are not accepted.
 */
export function dropZone(zone, onFiles) {
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  const accept = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    zone.classList.add('dragging');
  };
  zone.addEventListener('dragenter', accept);
  zone.addEventListener('dragover', accept);
  zone.addEventListener('dragleave', (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (e) => {
    zone.classList.remove('dragging');
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer.files.length) onFiles(e.dataTransfer.files);
  });
}
