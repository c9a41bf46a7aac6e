// The threaded build in headless Chromium: a page served with COOP `same-origin` and COEP
// `require-corp` is cross-origin isolated, and its pool's generation workers then share one
// WebAssembly memory and ONE model (loaded by one worker, adopted by the others by handle); a page
// without those headers, or a pool created with `threads: false`, runs the plain build with a
// copy per worker. Seeded text is the native golden text in every case (tests/golden.rs writes
// it), for the exact and the shaped sampler alike.
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh builds it).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const GOLDEN = readFileSync(join(ROOT, 'tests/fixtures/tiny-o3.seed42.txt'), 'utf8');
const GOLDEN_SHAPED = readFileSync(join(ROOT, 'tests/fixtures/tiny-o3.seed42.shaped.txt'), 'utf8');
const PROMPT = 'It is a truth';
const EXACT = { seed: 42, maxTokens: 40 };
// tests/golden.rs `shaped()`.
const SHAPED = { ...EXACT, temperature: 0.8, topK: 40, topP: 0.95 };
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

let tmp;
let isolated;
let plain;
let context;
const consoleLines = [];

async function openPage(server) {
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(`${server.url}/e2e/page.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
  return page;
}

/**
 * On `page`: a pool of `workers` (config `extra`) trained on tiny.txt at order 3, all its workers
 * serving; then the exact and shaped seeded texts from as many concurrent requests as workers,
 * and what each worker holds (test hook).
 */
function trainAndGenerate(page, workers, extra = {}) {
  return page.evaluate(async ({ workers, extra, prompt, exact, shaped }) => {
    const llm = await window.uellm.create({ workers, testHooks: true, ...extra });
    try {
      const text = await (await fetch('/fixtures/corpus/tiny.txt')).text();
      const info = await llm.train([text], { maxPatternLength: 3 });
      const t0 = performance.now();
      while (llm.health().workers.ready < workers) {
        if (performance.now() - t0 > 15_000) throw new Error(`only ${llm.health().workers.ready} workers ready`);
        await new Promise((r) => { setTimeout(r, 10); });
      }
      const many = (opts) => Promise.all(Array.from({ length: workers }, () => llm.generate(prompt, opts)));
      const exactOuts = await many(exact);
      const shapedOuts = await many(shaped);
      // Again: each worker's own activation cache now holds these contexts.
      const again = await many(shaped);
      return { info, threaded: llm.threaded, config: llm.config.threads, workers: await llm.__test.workers(),
        exact: exactOuts.map((o) => o.text), shaped: shapedOuts.map((o) => o.text),
        againHits: again.map((o) => o.stats.cacheHits), againTexts: again.map((o) => o.text),
        wasmBytes: llm.metrics().memory?.wasmBytes ?? null };
    } finally {
      llm.terminate();
    }
  }, { workers, extra, prompt: PROMPT, exact: EXACT, shaped: SHAPED });
}

describe('the threaded build (one model for all workers) and the plain one', { concurrency: false }, () => {
  before(async () => {
    tmp = process.env.UELLM_E2E_TMP || mkdtempSync(join(tmpdir(), 'uellm-e2e-'));
    const pkg = join(ROOT, 'pkg');
    assert.ok(existsSync(join(pkg, 'threads', 'ultra_efficient_llm_bg.wasm')),
      'pkg/threads/ is missing: run scripts/build-pkg.sh first');
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: pkg, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('[')));
    const dir = mkdtempSync(join(tmp, 'threads-'));
    execFileSync('tar', ['-xzf', join(tmp, filename), '-C', dir]);
    const mounts = {
      '/node_modules/ultra-efficient-llm/': join(dir, 'package'),
      '/e2e/': HERE,
      '/fixtures/': join(ROOT, 'tests/fixtures'),
    };
    isolated = await startServer(mounts, { headers: ISOLATION });
    plain = await startServer(mounts);
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS,
    });
  });

  after(async () => {
    await context?.close();
    await isolated?.close();
    await plain?.close();
    if (!process.env.UELLM_E2E_TMP && tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the package ships both builds: the threaded .wasm imports a shared memory, the plain one does not', () => {
    const memoryOf = (file) => {
      const module = new WebAssembly.Module(readFileSync(file));
      return WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory').length;
    };
    assert.equal(memoryOf(join(ROOT, 'pkg/threads/ultra_efficient_llm_bg.wasm')), 1);
    assert.equal(memoryOf(join(ROOT, 'pkg/ultra_efficient_llm_bg.wasm')), 0);
    const pj = JSON.parse(readFileSync(join(ROOT, 'pkg/package.json'), 'utf8'));
    assert.ok(pj.files.includes('threads'), String(pj.files));
  });

  test('isolated: four workers share one memory and one model, and generate the native golden texts concurrently', async () => {
    const page = await openPage(isolated);
    try {
      const env = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated,
        available: window.uellm.threadsAvailable() }));
      assert.deepEqual(env, { isolated: true, available: true });
      const r = await trainAndGenerate(page, 4);
      assert.equal(r.threaded, true);
      assert.deepEqual(r.info.ngrams, [1697, 6806, 9801]);
      for (const text of r.exact) assert.equal(text, GOLDEN);
      for (const text of r.shaped) assert.equal(text, GOLDEN_SHAPED);
      // Concurrent shaped requests each hit their own worker's cache (the model's own cache
      // would serve one of them at a time).
      for (const text of r.againTexts) assert.equal(text, GOLDEN_SHAPED);
      for (const hits of r.againHits) assert.ok(hits > 0, JSON.stringify(r.againHits));
      assert.equal(r.workers.length, 4);
      for (const w of r.workers) {
        assert.equal(w.threaded, true, JSON.stringify(r.workers));
        assert.equal(w.sharedBuffer, true, JSON.stringify(r.workers));
        assert.equal(w.hasModel, true, JSON.stringify(r.workers));
      }
      // One model: the same handle in every worker, held by the four of them.
      const shares = new Set(r.workers.map((w) => w.share));
      assert.equal(shares.size, 1, JSON.stringify(r.workers));
      assert.deepEqual(r.workers.map((w) => w.holders), [4, 4, 4, 4]);
    } finally {
      await page.close();
    }
  });

  test('isolated: a crashed worker is replaced and its replacement adopts the shared model', async () => {
    const page = await openPage(isolated);
    try {
      const r = await page.evaluate(async ({ prompt, exact }) => {
        const llm = await window.uellm.create({ workers: 2, testHooks: true });
        try {
          await llm.train([await (await fetch('/fixtures/corpus/tiny.txt')).text()], { maxPatternLength: 3 });
          const wait = async (n) => {
            const t0 = performance.now();
            while (llm.health().workers.ready < n) {
              if (performance.now() - t0 > 15_000) throw new Error('workers not ready');
              await new Promise((r) => { setTimeout(r, 10); });
            }
          };
          await wait(2);
          const crash = await window.settle(llm.__test.crash('throw'));
          await wait(2);
          const texts = await Promise.all([0, 1].map(() => llm.generate(prompt, exact).then((o) => o.text)));
          return { crash, texts, workers: await llm.__test.workers(), restarts: llm.metrics().workers.restarts };
        } finally {
          llm.terminate();
        }
      }, { prompt: PROMPT, exact: EXACT });
      assert.equal(r.crash.ok, false);
      assert.ok(r.restarts >= 1, JSON.stringify(r));
      for (const text of r.texts) assert.equal(text, GOLDEN);
      assert.equal(new Set(r.workers.map((w) => w.share)).size, 1, JSON.stringify(r.workers));
      for (const w of r.workers) assert.ok(w.threaded && w.hasModel, JSON.stringify(r.workers));
    } finally {
      await page.close();
    }
  });

  test('isolated, with threads: false: the plain build, a copy per worker, the same texts', async () => {
    const page = await openPage(isolated);
    try {
      const r = await trainAndGenerate(page, 2, { threads: false });
      assert.equal(r.threaded, false);
      for (const text of r.exact) assert.equal(text, GOLDEN);
      for (const text of r.shaped) assert.equal(text, GOLDEN_SHAPED);
      for (const w of r.workers) assert.deepEqual([w.threaded, w.sharedBuffer, w.share], [false, false, null]);
    } finally {
      await page.close();
    }
  });

  test('not isolated: the plain build, a copy per worker, the same texts; threads: true is refused', async () => {
    const page = await openPage(plain);
    try {
      const env = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated,
        available: window.uellm.threadsAvailable() }));
      assert.deepEqual(env, { isolated: false, available: false });
      const r = await trainAndGenerate(page, 2);
      assert.equal(r.threaded, false);
      for (const text of r.exact) assert.equal(text, GOLDEN);
      for (const text of r.shaped) assert.equal(text, GOLDEN_SHAPED);
      for (const w of r.workers) assert.deepEqual([w.threaded, w.sharedBuffer, w.share], [false, false, null]);
      const forced = await page.evaluate(() => window.settle(window.uellm.create({ workers: 1, threads: true })));
      assert.equal(forced.ok, false, JSON.stringify(forced));
    } finally {
      await page.close();
    }
  });
});
