// Evaluate panel: perplexity of the current model on pasted, chosen or dropped text, and the
// text as a per-token heat map of surprisal (the package's score: KenLM `query`'s per-token
// figures), each token's probability and matched pattern length on hover or focus.
import { $, describeError, dropZone, formatInt, formatMs, readTextFile, show } from './ui.js';

/** Tokens drawn in the heat map at most (a long text keeps its perplexity, not every span). */
const HEAT_MAX = 5000;

export function initEvaluate(app) {
  const heatBox = $('eval-heat-box');
  const heatEl = $('eval-heat');
  const heatNote = $('eval-heat-note');

  /** The sentences' tokens as spans, by surprisal (-log10 p): s0 < 1 ≤ s1 < 2 ≤ … ≤ s4. */
  function heat(sentences) {
    const out = [];
    let drawn = 0;
    let total = 0;
    for (const s of sentences) {
      total += s.tokens.length;
      if (drawn >= HEAT_MAX) continue;
      const line = document.createElement('p');
      for (const t of s.tokens) {
        if (drawn >= HEAT_MAX) break;
        drawn += 1;
        const span = document.createElement('span');
        const surprisal = -t.log10Prob;
        span.className = `tok s${Math.min(4, Math.max(0, Math.floor(surprisal)))}${t.oov ? ' oov' : ''}`;
        span.textContent = t.token === '</s>' ? '¶' : t.token;
        const p = 10 ** t.log10Prob;
        const what = `${t.token}: p = ${p < 0.001 ? p.toExponential(2) : p.toFixed(4)} (log10 ${t.log10Prob.toFixed(2)}), `
          + `${t.ngramLength}-gram matched${t.oov ? ', unknown word' : ''}`;
        span.title = what;
        span.setAttribute('aria-label', what);
        span.tabIndex = 0;
        line.append(span, ' ');
      }
      out.push(line);
    }
    heatEl.replaceChildren(...out);
    heatNote.textContent = drawn < total ? `The first ${formatInt(drawn)} of ${formatInt(total)} tokens are drawn.` : '';
    heatBox.hidden = out.length === 0;
  }

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
      const [r, scores] = await Promise.all([app.llm.perplexity(text), app.llm.score(text)]);
      heat(scores);
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
