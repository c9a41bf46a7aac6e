// Evaluate panel: perplexity of the current model on pasted, chosen or dropped text.
import { $, describeError, dropZone, formatInt, formatMs, readTextFile, show } from './ui.js';

export function initEvaluate(app) {
  const form = $('eval-form');
  const area = $('eval-text');
  const result = $('eval-result');
  const msg = $('eval-msg');
  const btn = $('eval-start');
  let busy = false;

  async function takeFile(file) {
    try {
      area.value = await readTextFile(file);
      show(msg, `Loaded “${file.name}”.`, 'info');
    } catch (err) {
      show(msg, err.message, 'error');
    }
  }
  $('eval-file').addEventListener('change', (e) => { if (e.target.files[0]) takeFile(e.target.files[0]); e.target.value = ''; });
  dropZone(area, (files) => takeFile(files[0]));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || !app.model) return;
    const text = area.value;
    if (!text.trim()) {
      show(msg, 'Paste or drop some text to score first.', 'error');
      area.focus();
      return;
    }
    busy = true;
    btn.disabled = true;
    result.hidden = true;
    show(msg, 'Scoring…', 'info');
    const t0 = performance.now();
    try {
      const r = await app.llm.perplexity(text);
      const rows = [
        ['Perplexity', r.perplexity.toFixed(2)],
        ['Perplexity without unknown words', r.perplexityExcludingOov.toFixed(2)],
        ['Tokens', formatInt(r.tokens)],
        ['Unknown words (OOV)', formatInt(r.oov)],
        ['Sentences', formatInt(r.sentences)],
        ['log10 probability', r.log10Prob.toFixed(2)],
      ];
      result.replaceChildren(...rows.flatMap(([k, v]) => {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = v;
        return [dt, dd];
      }));
      result.hidden = false;
      show(msg, `Scored in ${formatMs(performance.now() - t0)}.`, 'ok');
    } catch (err) {
      show(msg, describeError(err), 'error');
    } finally {
      busy = false;
      btn.disabled = !app.model;
    }
  });
}
