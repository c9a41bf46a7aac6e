// The per-call cost of the wasm `Model.generate` (glue + bindings + sampler), in a dedicated
// module worker like the runtime's: the glue of the build given as `?pkg=/prefix/` is imported
// directly (no runtime layer), so the figure is what one `model.generate(prompt, options)` costs.
const pkg = new URL(self.location.href).searchParams.get('pkg');
const glue = await import(`${pkg}ultra_efficient_llm.js`);
await glue.default();

const models = new Map();

const ops = {
  /** Trains at `order` on the text at `url` (fed as bytes, like the runtime's worker). */
  async train({ name, url, order }) {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const t0 = performance.now();
    const trainer = new glue.Trainer({ maxPatternLength: order });
    trainer.feedBytes(bytes);
    models.set(name, trainer.finish());
    return { trainMs: performance.now() - t0, bytes: bytes.length };
  },

  /**
   * `requests` calls with seeds `seed0..`, `tokens` tokens each, `stopAtSentenceEnd: false`,
   * timed in groups (performance.now() ticks in 100 µs steps here). Returns the mean µs per
   * call over all calls, the median of the group means, the mean core time (stats.elapsedMs), plus a checksum of what was read
   * (text length, tokens length, stats.tokens) so the engine cannot skip the result.
   */
  generate({ name, requests, tokens, seed0 = 0, group = 1000 }) {
    const model = models.get(name);
    const groups = [];
    let check = 0;
    let coreMs = 0;
    const t0 = performance.now();
    for (let start = 0; start < requests; start += group) {
      const end = Math.min(requests, start + group);
      const g0 = performance.now();
      for (let i = start; i < end; i++) {
        const out = model.generate('', { maxTokens: tokens, stopAtSentenceEnd: false, seed: seed0 + i });
        check += out.text.length + out.tokens.length + out.stats.tokens;
        coreMs += out.stats.elapsedMs;
      }
      groups.push(((performance.now() - g0) * 1000) / (end - start));
    }
    const totalMs = performance.now() - t0;
    groups.sort((a, b) => a - b);
    const mid = groups.length >> 1;
    const medianUs = groups.length % 2 ? groups[mid] : (groups[mid - 1] + groups[mid]) / 2;
    // stats.elapsedMs is the core's own time (Model::generate, text included, bindings not):
    // coarse per call, but its mean over many calls is close.
    return { requests, meanUs: (totalMs * 1000) / requests, medianUs, coreUs: (coreMs * 1000) / requests, check };
  },

  /** The first `n` results (seeds `seed0..`) as JSON, to check that builds agree. */
  sample({ name, n, tokens, seed0 = 0 }) {
    const model = models.get(name);
    const out = [];
    for (let i = 0; i < n; i++) {
      const g = model.generate('', { maxTokens: tokens, stopAtSentenceEnd: false, seed: seed0 + i });
      const { elapsedMs, tokensPerSecond, ...stable } = g.stats;
      out.push({ text: g.text, tokens: g.tokens, stats: stable,
        keys: Object.keys(g), statKeys: Object.keys(g.stats) });
    }
    return JSON.stringify(out);
  },
};

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    self.postMessage({ id, ok: true, result: await ops[op](args) });
  } catch (e) {
    self.postMessage({ id, ok: false, error: `${e?.name}: ${e?.message}` });
  }
};
self.postMessage({ id: -1, ok: true, result: 'ready' });
