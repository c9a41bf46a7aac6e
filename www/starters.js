// Ready-made models (models/index.json, trained by scripts/build-www.sh on public-domain books):
// one button per model, which loads it through the package's loadUrl, as an outside app would,
// with a progress bar. The package keeps the file in IndexedDB (the Model library lists it under
// its URL), so a second visit, or an offline one, loads it from there.
import { $, describeError, formatBytes, formatInt, show } from './ui.js';

export async function initStarters(app) {
  const box = $('starters');
  const buttons = $('starter-buttons');
  const progressBox = $('starter-box');
  const bar = $('starter-progress');
  const text = $('starter-text');
  let models;
  try {
    const res = await fetch('./models/index.json');
    if (!res.ok) return;
    ({ models } = await res.json());
  } catch {
    return; // a build without models (or offline before the first visit): nothing to offer
  }
  if (!Array.isArray(models) || models.length === 0) return;

  async function load(m, button) {
    for (const b of buttons.querySelectorAll('button')) b.disabled = true;
    progressBox.hidden = false;
    bar.value = 0;
    show(text, `Loading the ${m.language} model…`, 'info');
    const t0 = performance.now();
    try {
      const info = await app.llm.loadUrl(m.url, {
        integrity: m.integrity,
        onProgress: (p) => {
          if (p.phase === 'downloading') {
            bar.value = p.fraction;
            if (p.bytesTotal == null) bar.removeAttribute('value');
            text.textContent = `Downloading the ${m.language} model: ${formatBytes(p.bytesSeen)}`
              + (p.bytesTotal ? ` of ${formatBytes(p.bytesTotal)}` : '');
          } else if (p.phase === 'reading' || p.phase === 'installing') {
            bar.value = p.fraction;
            text.textContent = `Installing the ${m.language} model…`;
          }
        },
      });
      bar.value = 1;
      const url = new URL(m.url, location.href).href;
      app.setModel({ info, origin: 'loaded', savedAs: url });
      show(text, `Loaded the ${m.language} model (order ${info.order}, ${formatInt(info.patterns)} patterns) in `
        + `${Math.round(performance.now() - t0)} ms. Try it under Generate.`, 'ok');
      app.events.dispatchEvent(new Event('library-changed'));
    } catch (err) {
      show(text, `Could not load the ${m.language} model: ${describeError(err)}`, 'error');
    } finally {
      for (const b of buttons.querySelectorAll('button')) b.disabled = false;
      button.focus();
    }
  }

  buttons.replaceChildren(...models.map((m) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.starter = m.id;
    b.textContent = `Load the ${m.language} model (${formatBytes(m.bytes)})`;
    b.title = `Trained on ${m.source}: order ${m.order}, ${formatInt(m.patterns)} patterns`;
    b.addEventListener('click', () => load(m, b));
    return b;
  }));
  box.hidden = false;
}
