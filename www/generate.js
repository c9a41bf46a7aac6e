// Generate panel: prompt + sampling options, streamed tokens, stop button, stats line.
import { $, describeError, formatMs, formatPct, intField, numField, show } from './ui.js';

export function initGenerate(app) {
  const form = $('gen-form');
  const out = $('gen-text');
  const outPrompt = $('gen-out-prompt');
  const stats = $('gen-stats');
  const msg = $('gen-msg');
  const startBtn = $('gen-start');
  const stopBtn = $('gen-stop-btn');
  let controller = null;

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (controller || !app.model) return;
    let options;
    try {
      // Always sent. The field defaults are not the core's: sampling the model as it is
      // (temperature 1, top-k 0, no minimum) often ends at the first sentence end, e.g. "It is"
      // + "." on a small model, and strays into unlikely words. Temperature 0.7 with top-k 20
      // keeps to likelier words, and a 20-token minimum gives a few sentences' worth of text.
      // Setting temperature 1, top-k 0, top-p 1 and minimum 0 gives the CLI's text for a seed.
      const maxTokens = intField($('gen-max'), { min: 1, max: 10000 });
      const minTokens = intField($('gen-min'), { min: 0, max: 10000 });
      options = {
        maxTokens,
        temperature: numField($('gen-temp'), { min: 0 }),
        topK: intField($('gen-topk'), { min: 0 }),
        topP: numField($('gen-topp'), { min: 0, max: 1 }),
        stopAtSentenceEnd: $('gen-stop').checked,
        // The core takes a share of maxTokens and rounds it up; a hair under minTokens/maxTokens
        // keeps floating-point error from making that one token more.
        minGeneratedTokensRatio: minTokens === 0 ? 0 : Math.min(1, (minTokens - 1e-6) / maxTokens),
      };
      const seed = intField($('gen-seed'), { min: 0, max: Number.MAX_SAFE_INTEGER, optional: true });
      if (seed !== undefined) options.seed = seed;
    } catch (err) {
      show(msg, err.message, 'error');
      return;
    }
    const prompt = $('gen-prompt').value;
    controller = new AbortController();
    startBtn.disabled = true;
    stopBtn.disabled = false;
    outPrompt.textContent = prompt;
    const text = document.createTextNode('');
    out.replaceChildren(text);
    stats.textContent = '';
    show(msg, 'Generating…', 'info');
    try {
      const r = await app.llm.generate(prompt, options, {
        signal: controller.signal,
        onToken: (piece) => text.appendData(piece),
      });
      out.textContent = r.text; // the final text (identical to the streamed pieces)
      const s = r.stats;
      stats.textContent = [
        `${s.tokens} tokens in ${formatMs(s.elapsedMs)}`,
        `${Math.round(s.tokensPerSecond).toLocaleString('en-US')} tokens/s`,
        `sparsity ${formatPct(s.sparsity)}`,
        `cache hit rate ${formatPct(s.cacheHitRate)}`,
        `seed ${String(s.seed)}`,
        `stop: ${s.stopReason}`,
      ].join(' · ');
      show(msg, '', 'ok');
    } catch (err) {
      if (err?.name === 'AbortError') show(msg, 'Stopped.', 'info');
      else show(msg, describeError(err), 'error');
    } finally {
      controller = null;
      startBtn.disabled = !app.model;
      stopBtn.disabled = true;
    }
  });

  stopBtn.addEventListener('click', () => controller?.abort());
}
