// Type panel: next-word suggestions as you type (the package's predict: exact probabilities),
// with the word being typed completed; a suggestion is accepted with a click, Tab (the first) or
// Alt and its number (a plain digit stays a digit in the text). The time from the input event to
// the frame that shows the suggestions is shown, per keystroke.
import { $, describeError } from './ui.js';

const K = 5;
/** The word being typed: the letters and digits right before the cursor (as the tokenizer reads words). */
const PARTIAL = /[\p{L}\p{N}_]*$/u;
/** Punctuation that joins the word before it (no space before it). */
const CLINGS = /^[.,;:!?)\]}'’]+$/u;

export function initType(app) {
  const area = $('type-text');
  const list = $('type-suggestions');
  const stats = $('type-stats');
  let seq = 0;
  let shown = [];
  let partial = '';
  const times = [];

  async function suggest(t0) {
    const mine = ++seq;
    if (!app.model) {
      list.replaceChildren();
      return;
    }
    const before = area.value.slice(0, area.selectionEnd);
    partial = PARTIAL.exec(before)[0];
    const context = before.slice(0, before.length - partial.length);
    let predictions;
    try {
      predictions = await app.llm.predict(context, { k: K, prefix: partial });
    } catch (err) {
      if (mine === seq) stats.textContent = describeError(err);
      return;
    }
    if (mine !== seq) return; // a later keystroke asked again
    shown = predictions;
    list.replaceChildren(...shown.map((p, i) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.index = String(i);
      b.textContent = `${i + 1}. ${p.word}`;
      const prob = document.createElement('span');
      prob.className = 'prob';
      prob.textContent = ` ${(p.probability * 100).toFixed(p.probability < 0.01 ? 2 : 1)}%`;
      b.append(prob);
      b.setAttribute('aria-label', `${p.word}, ${(p.probability * 100).toFixed(1)} percent`);
      li.append(b);
      return li;
    }));
    requestAnimationFrame(() => {
      const ms = performance.now() - t0;
      times.push(ms);
      const sorted = [...times].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(sorted.length / 2)];
      stats.textContent = `${shown.length ? '' : 'No suggestion. '}This keystroke: ${ms.toFixed(1)} ms to suggestions on screen`
        + ` (median of ${times.length}: ${p50.toFixed(1)} ms)`;
      stats.dataset.ms = ms.toFixed(3);
    });
  }

  function accept(i) {
    const p = shown[i];
    if (!p) return;
    const end = area.selectionEnd;
    let start = end - partial.length;
    // Punctuation joins the word before it.
    if (CLINGS.test(p.word) && partial === '' && area.value[start - 1] === ' ') start -= 1;
    area.setRangeText(`${p.word} `, start, end, 'end');
    area.focus();
    suggest(performance.now());
  }

  area.addEventListener('input', () => suggest(performance.now()));
  area.addEventListener('click', () => suggest(performance.now()));
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && shown.length) {
      e.preventDefault();
      accept(0);
    } else if (e.altKey && /^[1-9]$/.test(e.key) && Number(e.key) <= shown.length) {
      e.preventDefault();
      accept(Number(e.key) - 1);
    }
  });
  list.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-index]');
    if (b) accept(Number(b.dataset.index));
  });
  app.events.addEventListener('model', () => { if (area.value) suggest(performance.now()); });
}
