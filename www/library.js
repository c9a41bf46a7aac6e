// Library panel: saved models (IndexedDB via the package), save / save as, load, delete,
// export (Blob URL download) and import (validated by the package before anything is stored).
import { $, describeError, formatBytes, formatInt, show } from './ui.js';

export function initLibrary(app) {
  const rows = $('lib-rows');
  const empty = $('lib-empty');
  const table = $('lib-table');
  const msg = $('lib-msg');
  const nameInput = $('save-name');
  let saved = [];

  async function refresh() {
    if (!app.llm) return;
    try {
      saved = await app.llm.list();
    } catch (err) {
      show(msg, `Could not read the library: ${describeError(err)}`, 'error');
      return;
    }
    saved.sort((a, b) => b.created.localeCompare(a.created));
    table.hidden = saved.length === 0;
    empty.hidden = saved.length > 0;
    rows.replaceChildren(...saved.map(row));
    await showStorage();
  }

  // How much of the site's storage is used, and whether the browser keeps it when the device
  // runs short of space (by default it may clear it then, saved models included).
  const storageText = $('lib-storage-text');
  const persistButton = $('lib-persist');
  async function showStorage() {
    const s = await app.llm.storageInfo();
    const used = s.usage == null ? '' : `Storage for this site: ${formatBytes(s.usage)} used`
      + (s.quota == null ? '. ' : ` of ${formatBytes(s.quota)}. `);
    if (s.persisted === true) {
      storageText.textContent = `${used}The browser keeps it even when space runs short.`;
      persistButton.hidden = true;
    } else if (s.persisted === false) {
      storageText.textContent = `${used}The browser may clear it when space runs short: export models you need, or ask it to keep them.`;
      persistButton.hidden = false;
    } else {
      storageText.textContent = used;
      persistButton.hidden = true;
    }
  }
  persistButton.addEventListener('click', async () => {
    const kept = await app.llm.persistStorage();
    show(msg, kept ? 'The browser will keep the saved models when space runs short.'
      : 'The browser did not agree to keep the saved models (it decides by its own rules); export the ones you need.',
    kept ? 'ok' : 'info');
    await showStorage();
  });

  function cell(text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function button(label, action, name) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.name = name;
    b.setAttribute('aria-label', `${label} ${name}`);
    return b;
  }

  function row(m) {
    const tr = document.createElement('tr');
    tr.dataset.name = m.name;
    const date = new Date(m.created);
    const actions = document.createElement('td');
    const group = document.createElement('div');
    group.className = 'row-actions';
    group.append(button('Load', 'load', m.name), button('Export', 'export', m.name), button('Delete', 'delete', m.name));
    actions.append(group);
    tr.append(
      cell(m.name, 'name'),
      cell(formatBytes(m.bytes), 'num'),
      cell(Number.isNaN(date.getTime()) ? m.created : date.toLocaleString()),
      cell(m.order ?? '–', 'num'),
      cell(m.patterns == null ? '–' : formatInt(m.patterns), 'num'),
      actions,
    );
    return tr;
  }

  /**
   * Shows why a write (save, import) of `bytes` failed. A full storage quota gets its own advice:
   * a failed write stores nothing, so the saved models are as they were.
   */
  function writeFailed(what, bytes, err) {
    if (err?.code === 'QUOTA_EXCEEDED' || err?.name === 'QuotaExceededError') {
      show(msg, `Could not ${what}${bytes ? ` (${formatBytes(bytes)})` : ''}: the browser's storage for this site is full. `
        + 'Delete or export some saved models, then try again. Nothing was changed: the saved models are as they were.', 'error');
    } else {
      show(msg, `Could not ${what}: ${describeError(err)}`, 'error');
    }
  }

  async function save(name, overwrite = false) {
    try {
      const m = await app.llm.save(name || undefined, { overwrite });
      app.setModel({ ...app.model, savedAs: m.name, restored: false });
      show(msg, `Saved as “${m.name}” (${formatBytes(m.bytes)}).`, 'ok');
      nameInput.value = '';
    } catch (err) {
      writeFailed(name ? `save “${name}”` : 'save the model', app.model?.info?.fileBytes, err);
    }
    await refresh();
  }

  // "Save": keep the current name when the model already has one, else a default name.
  // Over its own saved copy: the one place a save replaces a model (Save as refuses a taken name).
  $('save-btn').addEventListener('click', () => { if (app.model) save(app.model.savedAs ?? undefined, true); });
  // "Save as": the typed name (required).
  $('save-form').addEventListener('submit', (e) => {
    e.preventDefault();
    if (!app.model) return;
    const name = nameInput.value.trim();
    if (!name) {
      show(msg, 'Type a name to save as.', 'error');
      nameInput.focus();
      return;
    }
    save(name);
  });

  const armed = new Set(); // names whose Delete was clicked once
  rows.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-action]');
    if (!b) return;
    const { action, name } = b.dataset;
    try {
      if (action === 'load') {
        show(msg, `Loading “${name}”…`, 'info');
        const info = await app.llm.load(name);
        app.setModel({ info, origin: 'loaded', savedAs: name });
        show(msg, `Loaded “${name}”. Try it under Generate.`, 'ok');
      } else if (action === 'export') {
        const blob = await app.llm.exportModel(name);
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = `${name}.uelm`;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        show(msg, `Exported “${name}” (${formatBytes(blob.size)}).`, 'ok');
      } else if (action === 'delete') {
        if (!armed.has(name)) {
          armed.add(name);
          b.textContent = 'Confirm delete';
          b.classList.add('danger');
          b.setAttribute('aria-label', `Confirm delete ${name}`);
          setTimeout(() => {
            armed.delete(name);
            if (b.isConnected) { b.textContent = 'Delete'; b.classList.remove('danger'); b.setAttribute('aria-label', `Delete ${name}`); }
          }, 5000);
          return;
        }
        armed.delete(name);
        await app.llm.remove(name);
        if (app.model?.savedAs === name) app.setModel({ ...app.model, savedAs: null });
        show(msg, `Deleted “${name}”.`, 'ok');
        await refresh();
      }
    } catch (err) {
      show(msg, describeError(err), 'error');
      await refresh();
    }
  });

  $('import-file').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    if (file.size === 0) {
      show(msg, `“${file.name}” is empty: not a model file. Nothing was changed.`, 'error');
      return;
    }
    // A free name from the file name: "x.uelm" → "x", "x (2)", …
    const base = file.name.replace(/\.uelm$/i, '') || 'imported';
    const taken = new Set(saved.map((m) => m.name));
    let name = base;
    for (let i = 2; taken.has(name); i += 1) name = `${base} (${i})`;
    show(msg, `Importing “${file.name}”…`, 'info');
    try {
      const m = await app.llm.importModel(file, name);
      show(msg, `Imported “${m.name}” (${formatBytes(m.bytes)}). Load it to use it.`, 'ok');
    } catch (err) {
      if (err?.code === 'QUOTA_EXCEEDED' || err?.name === 'QuotaExceededError') writeFailed(`import “${file.name}”`, file.size, err);
      else show(msg, describeError(err), 'error');
    }
    await refresh();
  });

  app.events.addEventListener('ready', refresh);
  app.events.addEventListener('library-changed', refresh);
}
