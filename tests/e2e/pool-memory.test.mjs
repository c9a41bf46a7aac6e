// End-to-end tests of the pool's memory (issue 14, part 4): workers sized to the device
// (navigator.hardwareConcurrency, overridden by an init script). Packs pkg/
// (UELLM_PKG_DIR=/path tests another unpacked package folder, e.g. an older build, to see these
// tests fail there) and drives headless Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

let tmp;
let server;
let context;
let page;
const consoleLines = [];

/** The pool's dedicated workers alive in the page (generation workers and the training worker). */
const poolWorkers = () => page.workers().filter((w) => /\/worker\.js$/.test(w.url())).length;

/**
 * Opens the test page as on a device with `cores` logical cores: the init script runs before any
 * of the page's scripts and makes `navigator.hardwareConcurrency` say so ('none': undefined, as
 * a browser that does not tell).
 */
async function openAs(cores) {
  await page.goto(`${server.url}/e2e/page.html?cores=${cores}`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
  assert.equal(await page.evaluate(() => String(navigator.hardwareConcurrency ?? 'none')), String(cores));
}

describe('the pool\'s size and memory', { concurrency: false }, () => {
  before(async () => {
    tmp = mkdtempSync(join(process.env.UELLM_E2E_TMP || tmpdir(), 'uellm-memory-'));
    assert.ok(existsSync(join(PKG, 'package.json')), `${PKG} is missing: run scripts/build-pkg.sh first`);
    // What `npm publish` would ship, extracted.
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: PKG, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(out.slice(out.indexOf('[')));
    mkdirSync(join(tmp, 'unpacked'));
    execFileSync('tar', ['-xzf', join(tmp, filename), '-C', join(tmp, 'unpacked')]);
    server = await startServer({
      '/node_modules/ultra-efficient-llm/': join(tmp, 'unpacked/package'),
      '/e2e/': HERE,
      '/fixtures/': join(ROOT, 'tests/fixtures'),
    });
    context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS,
    });
    page = await context.newPage();
    page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
    await page.addInitScript(() => {
      const cores = new URLSearchParams(location.search).get('cores');
      if (cores === null) return;
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', {
        configurable: true, get: () => (cores === 'none' ? undefined : Number(cores)) });
    });
  });

  after(async () => {
    await context?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('without config.workers the pool has cores - 1 workers (at least 1), the presets\' counts as upper bounds', async () => {
    // cores → [default (at most 4), development (2), production (8), high_performance (16)]
    const expected = { 1: [1, 1, 1, 1], 2: [1, 1, 1, 1], 3: [2, 2, 2, 2], 8: [4, 2, 7, 7], 64: [4, 2, 8, 16],
      none: [1, 1, 1, 1] };
    for (const [cores, want] of Object.entries(expected)) {
      await openAs(cores);
      const got = await page.evaluate(() => {
        const { uellm } = window;
        return { device: uellm.deviceWorkers(),
          sizes: [undefined, 'development', 'production', 'high_performance']
            .map((preset) => uellm.resolveConfig(preset ? { preset } : {}).workers),
          // The caller's count is used as given, above the device's and the preset's.
          explicit: [uellm.resolveConfig({ workers: 3 }).workers,
            uellm.resolveConfig({ preset: 'development', workers: 5 }).workers,
            uellm.resolveConfig({ workers: undefined }).workers] };
      });
      assert.deepEqual(got.sizes, want, `${cores} cores`);
      assert.equal(got.device, cores === 'none' ? 1 : Math.max(1, Number(cores) - 1), `${cores} cores`);
      assert.deepEqual(got.explicit, [3, 5, want[0]], `${cores} cores`);
    }
    // The presets and defaults keep their counts (the upper bounds) as they were.
    const bounds = await page.evaluate(() => [window.uellm.defaults.workers,
      ...['development', 'production', 'high_performance'].map((p) => window.uellm.presets[p].workers)]);
    assert.deepEqual(bounds, [4, 2, 8, 16]);
  });

  test('create() starts the device-sized pool: 3 cores give 2 generation workers and the training worker', async () => {
    await openAs(3);
    const r = await page.evaluate(async () => {
      window.sized = await window.uellm.create({ preset: 'production' });
      return { workers: window.sized.config.workers, total: window.sized.health().workers.total };
    });
    assert.deepEqual(r, { workers: 2, total: 2 });
    // Playwright learns of new workers a little after they start.
    const t0 = Date.now();
    while (poolWorkers() !== 3 && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 20));
    assert.equal(poolWorkers(), 3);
    await page.evaluate(() => window.sized.terminate());
  });

  test('no unexpected page errors', () => {
    const errors = consoleLines.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, []);
  });
});
