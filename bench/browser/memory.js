// The memory benchmark's page (driven by memory.mjs): a pool of N workers with one model file,
// loaded, unloaded and loaded again through the package API. Each step returns what the pool
// itself reports (health().memory: per worker, its WebAssembly memory and model bytes); the
// process figures are read from /proc by the driver.
import * as uellm from 'ultra-efficient-llm';

let llm = null;
let model = null; // the model file, a Blob (as a page that fetched or picked one holds it)

/** Waits until all generation workers serve the current model (the background installs). */
async function allReady() {
  const t0 = performance.now();
  while (llm.health().workers.ready !== llm.config.workers) {
    if (performance.now() - t0 > 120_000) throw new Error(`workers not ready: ${JSON.stringify(llm.health().workers)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pool's own figures. Every step below ends with an answer from each worker (init, the
 *  model's install, the unload), and each answer carries that worker's figures: no request is
 *  added here that could change them. */
const poolMemory = () => llm.health().memory;

window.mem = {
  async fetchModel(url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
    model = await res.blob();
    return { bytes: model.size, crossOriginIsolated: globalThis.crossOriginIsolated === true,
      hardwareConcurrency: navigator.hardwareConcurrency };
  },
  async create(workers) {
    const t0 = performance.now();
    llm = await uellm.create({ workers, log: 'silent' });
    return { ms: performance.now() - t0, memory: poolMemory() };
  },
  async load() {
    const t0 = performance.now();
    const info = await llm.loadBytes(model);
    await allReady();
    return { ms: performance.now() - t0, info, memory: poolMemory() };
  },
  async unload() {
    const t0 = performance.now();
    await llm.unload();
    return { ms: performance.now() - t0, memory: poolMemory() };
  },
  /** The browser's own attribution (performance.measureUserAgentSpecificMemory), where the page
   *  may ask for it (cross-origin isolated); null otherwise. */
  async uaMemory() {
    if (!globalThis.crossOriginIsolated || typeof performance.measureUserAgentSpecificMemory !== 'function') return null;
    const m = await performance.measureUserAgentSpecificMemory();
    const byScope = {};
    for (const b of m.breakdown) {
      for (const a of b.attribution.length ? b.attribution : [{ scope: 'unattributed' }]) {
        byScope[a.scope] = (byScope[a.scope] ?? 0) + b.bytes / (b.attribution.length || 1);
      }
    }
    return { bytes: m.bytes, byScope, types: [...new Set(m.breakdown.flatMap((b) => b.types))] };
  },
  terminate() { llm?.terminate(); llm = null; return true; },
};

document.getElementById('status').textContent = 'ready';
window.pageReady = true;
