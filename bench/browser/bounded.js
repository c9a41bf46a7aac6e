// The bounded training benchmark's page (driven by bounded.mjs): the corpus, fetched as a Blob
// (as a page holds a File the user picked), trained by a pool of one generation worker, in
// memory or within a `memory` bound. Each training reports its time, the training worker's
// WebAssembly memory (its peak: that memory only grows) and the installed model's info.
import * as uellm from 'ultra-efficient-llm';

let corpus = null;

window.bounded = {
  async fetchCorpus(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
    corpus = await res.blob();
    return { bytes: corpus.size };
  },
  /** One training in a fresh pool; `memory`: the bound in bytes, or null (in memory). */
  async train(order, memory) {
    const llm = await uellm.create({ workers: 1, log: 'silent' });
    try {
      const t0 = performance.now();
      let readingEnd = null;
      const info = await llm.train(corpus, { maxPatternLength: order }, {
        timeoutMs: 3_600_000,
        ...(memory === null ? {} : { memory }),
        onProgress: (p) => { if (p.phase === 'building' && readingEnd === null) readingEnd = performance.now(); },
      });
      const ms = performance.now() - t0;
      const trainingWasmBytes = llm.health().memory.trainingWasmBytes;
      const sample = await llm.generate('the', { seed: 42, maxTokens: 20 });
      return { ms, readingMs: readingEnd === null ? null : readingEnd - t0, trainingWasmBytes,
        fileBytes: info.fileBytes, ngrams: info.ngrams, memoryBytes: info.memoryBytes, sample: sample.text };
    } finally {
      llm.terminate();
    }
  },
};
window.pageReady = true;
document.getElementById('status').textContent = 'ready';
