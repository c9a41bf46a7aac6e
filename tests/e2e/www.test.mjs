// End-to-end test of the website (www/, built into www/dist by scripts/build-www.sh) in headless
// Chromium: train on the English sample → seeded generation equals the pinned native output →
// the default settings give readable text → reload: the unsaved model comes back → save → reload:
// it comes back by name → load → same text → export → delete → import → same text; cancelling a
// training; broken imports; perplexity; the dashboard (live pool counts, uPlot latency chart);
// the benchmark (small counts); a full storage quota (Chromium's DevTools protocol shrinks it)
// makes a save fail with a clear message and changes nothing; files dropped on the drop zone with
// real drag events train (binary and empty ones are refused); changing the pool preset keeps the
// loaded model; at phone width the tabs stay one scrolling row, work with the arrow keys and
// nothing overflows the page; training on ../shared/corpus/en-train.txt (when present) keeps
// animation frames flowing; offline once loaded (service worker precache: with the browser offline
// and the server down, reload → train → the same seeded text); no console errors or CSP
// violations; no request to another origin. Cross-origin isolation: on this plain static host
// the service worker adds COOP/COEP (the page reloads once on the first visit), so the pool runs
// the threaded build ("workers sharing one model"); with service workers blocked the page is not
// isolated and the plain build gives the same text; scripts/serve.py (run.sh's server) isolates
// the page from its first load. The browser profile (and with it the service worker
// and its cache) is a fresh temporary folder per run.
// Screenshots of every section at desktop and phone width go to target/screenshots/www/.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const GOLDEN = readFileSync(join(ROOT, 'tests/fixtures/tiny-o3.seed42.txt'), 'utf8');
const TINY = readFileSync(join(ROOT, 'tests/fixtures/corpus/tiny.txt'));
const SHOTS = join(ROOT, 'target/screenshots/www');
// A larger corpus shared between checkouts (absent on most machines: its test is skipped).
const EN_TRAIN = resolve(ROOT, '../shared/corpus/en-train.txt');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

let tmp;
let server;
let context;
let page;
let origin;
const problems = []; // console errors, page errors, foreign requests
// Problems a test causes on purpose (matched against the text of each), left out at the end.
const expectedProblems = [];
let currentTest = 'before';
const slowOps = []; // the package's slow-operation warnings (expected under some presets)
const SLOW_OP = /^🐢 slow \w+: [\d.]+ ms \(threshold \d+ ms\)$/;
const timings = {};

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8' };

/**
 * A static server for a folder on 127.0.0.1 ("/" → index.html), like any static host. With
 * `state.down` it answers every request with 503 and records it in `state.hits`.
 */
async function serveStatic(root) {
  const state = { down: false, hits: [] };
  const srv = createServer(async (req, res) => {
    if (state.down) { // "unplugged": record the request and answer nothing useful
      state.hits.push(req.url);
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('offline');
      return;
    }
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(root, path));
      if (!file.startsWith(normalize(root) + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch (e) {
      res.writeHead(e.code === 'ENOENT' || e.code === 'EISDIR' ? 404 : 500, { 'content-type': 'text/plain' });
      res.end(String(e.message));
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { state, url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }) };
}

async function openPage() {
  await page.goto(`${origin}/#train`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
}

async function tab(name) {
  await page.click(`.tabs a[data-tab="${name}"]`);
  await page.waitForSelector(`#${name}:not([hidden])`);
}

/** Waits for a status element to show a message of `kind`, returns its text. */
async function message(id, kind, timeout = 20_000) {
  try {
    await page.waitForSelector(`#${id}[data-kind="${kind}"]:not(:empty)`, { timeout });
  } catch (err) {
    const now = await page.$eval(`#${id}`, (el) => `[${el.dataset.kind}] ${el.textContent}`).catch(() => '?');
    throw new Error(`#${id}: no ${kind} message after ${timeout} ms; it shows: ${now}`, { cause: err });
  }
  return page.textContent(`#${id}`);
}

/**
 * Generates 'It is a truth' with seed 42 and the core's default options (temperature 1, top-k 0,
 * top-p 1, no minimum length: not the page's defaults), which give the native golden text.
 */
async function generateSeeded() {
  await tab('generate');
  await page.fill('#gen-prompt', 'It is a truth');
  await page.fill('#gen-max', '40');
  await page.fill('#gen-seed', '42');
  for (const [id, value] of [['#gen-min', '0'], ['#gen-temp', '1'], ['#gen-topk', '0'], ['#gen-topp', '1']]) {
    await page.fill(id, value);
  }
  // Count streamed updates of the output to check that tokens arrive one by one.
  await page.evaluate(() => {
    window.streamed = 0;
    new MutationObserver((records) => { window.streamed += records.length; })
      .observe(document.getElementById('gen-text'), { characterData: true, subtree: true, childList: true });
  });
  await page.evaluate(() => { document.getElementById('gen-stats').textContent = ''; });
  await page.click('#gen-start');
  await page.waitForSelector('#gen-stats:not(:empty)', { timeout: 20_000 });
  const text = await page.textContent('#gen-text');
  const streamed = await page.evaluate(() => window.streamed);
  return { text, streamed, stats: await page.textContent('#gen-stats') };
}

async function libraryNames() {
  return page.$$eval('#lib-rows tr', (trs) => trs.map((tr) => tr.dataset.name));
}

/** Page wider than the window (a horizontal scrollbar): {scrollWidth, innerWidth, culprits}. */
function overflow() {
  return page.evaluate(() => {
    const w = innerWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((el) => el.getClientRects().length && el.getBoundingClientRect().right > w + 0.5)
      .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}`);
    return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: w, culprits };
  });
}

async function shoot(name) {
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    const o = await overflow();
    assert.ok(o.scrollWidth <= o.innerWidth, `${name} at ${label} width overflows: ${JSON.stringify(o)}`);
    // The selected tab stays in view in the tab row after the resize (a ResizeObserver's work).
    await page.waitForFunction(() => {
      const t = document.querySelector('.tabs [aria-selected="true"]').getBoundingClientRect();
      const r = document.querySelector('.tabs').getBoundingClientRect();
      return t.left >= r.left - 0.5 && t.right <= r.right + 0.5;
    }, null, { timeout: 2000 });
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

/** Empties a status element, so that waiting for its next message does not see the last one. */
async function clearMessage(id) {
  await page.evaluate((el) => { document.getElementById(el).textContent = ''; }, id);
}

/** The pool's dedicated workers (generation workers + the training worker) alive in the page. */
function poolWorkers() {
  return page.workers().filter((w) => /\/pkg\/worker\.js$/.test(w.url())).length;
}

async function until(what, fn, timeout = 20_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeout) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => { setTimeout(r, 100); });
  }
}

/**
 * Drags `files` ([{name, type, buffer}]) onto `selector` the way a browser does: dragenter,
 * dragover (which the target must cancel to accept the drop), a dragleave towards one of its
 * children, then drop, all carrying one DataTransfer holding the Files (built in the page).
 * Returns whether each event was accepted (cancelled) and the highlight state after each.
 */
async function dropFiles(selector, files) {
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.type }));
    }
    return dt;
  }, files.map((f) => ({ name: f.name, type: f.type, b64: Buffer.from(f.buffer).toString('base64') })));
  try {
    return await page.evaluate(([sel, dt]) => {
      const zone = document.querySelector(sel);
      const fire = (type, target, extra = {}) => {
        const e = new DragEvent(type, { bubbles: true, cancelable: true, composed: true, dataTransfer: dt, ...extra });
        const notCancelled = target.dispatchEvent(e);
        return { type, accepted: !notCancelled, highlighted: zone.classList.contains('dragging') };
      };
      const child = zone.querySelector('.hint');
      return [
        fire('dragenter', zone),
        fire('dragover', zone),
        fire('dragleave', zone, { relatedTarget: child }), // moving over a child: still inside
        fire('dragenter', child),
        fire('dragover', child),
        fire('drop', child),
      ];
    }, [selector, dataTransfer]);
  } finally {
    await dataTransfer.dispose();
  }
}

describe('the website', { concurrency: false }, () => {
  before(async () => {
    execFileSync('bash', [join(ROOT, 'scripts/build-www.sh')], { stdio: 'inherit' });
    tmp = mkdtempSync(join(process.env.UELLM_E2E_TMP || tmpdir(), 'uellm-www-'));
    mkdirSync(SHOTS, { recursive: true });
    server = await serveStatic(join(ROOT, 'www/dist'));
    origin = server.url;
    context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS,
      viewport: DESKTOP, acceptDownloads: true,
    });
    // Every request must go to the site's own origin (blob: and data: URLs are not routed).
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      problems.push(`foreign request: ${url}`);
      return route.abort();
    });
    page = context.pages()[0] ?? await context.newPage();
    // CSP violations and failed loads are reported as console errors too.
    await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
      (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)));
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      // The package's slow-operation warnings, which the "development" preset turns on (50 ms).
      if (m.type() === 'warning' && SLOW_OP.test(m.text())) { slowOps.push(m.text()); return; }
      problems.push(`[console.${m.type()}] ${m.text()}`);
    });
    page.on('requestfailed', (r) => { if (!r.url().startsWith('blob:')) problems.push(`failed request: ${r.url()} (${r.failure()?.errorText}, during "${currentTest}")`); });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('pageerror', (e) => problems.push(`[pageerror] ${e.message}`));
    await openPage();
  });

  beforeEach((t) => { currentTest = t.name; });

  after(async () => {
    await context?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`# screenshots: ${SHOTS}`);
    console.log(`# timings (ms): ${JSON.stringify(timings)}`);
    if (slowOps.length) console.log(`# slow-operation warnings (development preset): ${slowOps.join(' | ')}`);
  });

  test('every page carries the strict CSP and empty states show before any model', async () => {
    const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
    // The stylesheet is applied (served as text/css, allowed by the CSP).
    assert.equal(await page.$eval('.tabs', (el) => getComputedStyle(el).display), 'flex');
    assert.match(await page.textContent('#model-status'), /No model yet/);
    await shoot('0-train-empty');
    await tab('generate');
    assert.equal(await page.isVisible('#generate [data-needs-model]'), true);
    assert.equal(await page.isDisabled('#gen-start'), true);
    await shoot('0-generate-empty');
    await tab('library');
    assert.equal(await page.isVisible('#lib-empty'), true);
  });

  test('the site is cross-origin isolated on a plain static host: its service worker adds COOP and COEP', async () => {
    // The first visit reloaded once, when the service worker took control (app.js).
    assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true);
    assert.equal(await page.evaluate(() => navigator.serviceWorker.controller !== null), true);
    const headers = await page.evaluate(async () => {
      const res = await fetch('./pkg/worker.js');
      // Read to its end: a request left unread would be aborted by a later reload (a failed
      // request for the last test).
      await res.arrayBuffer();
      return [res.headers.get('cross-origin-opener-policy'), res.headers.get('cross-origin-embedder-policy')];
    });
    assert.deepEqual(headers, ['same-origin', 'require-corp']);
  });

  test('train on the English sample (order 3), then seeded generation matches the native output', async () => {
    await tab('train');
    await page.check('input[name="source"][value="sample-en"]');
    await page.fill('#opt-order', '3');
    const t0 = Date.now();
    await page.click('#train-start');
    const done = await message('train-msg', 'ok');
    timings.train = Date.now() - t0;
    assert.match(done, /order 3/);
    assert.match(await page.textContent('#train-phase'), /^done · .*kB \/ .*kB · /);
    assert.match(await page.textContent('#model-status'), /order 3 .* English sample, not saved\) · pool: default, \d+ workers? sharing one model$/);
    await shoot('1-train');
    const t1 = Date.now();
    const g = await generateSeeded();
    timings.generate = Date.now() - t1;
    assert.equal(g.text, GOLDEN);
    assert.ok(g.streamed > 5, `tokens should stream in (got ${g.streamed} updates)`);
    assert.match(g.stats, /tokens in .* tokens\/s · sparsity .*% · cache hit rate .* · seed 42/);
    await shoot('2-generate');
  });

  test('the default generation settings give readable text, and the page says what the settings do', async () => {
    // With the core's own defaults (temperature 1, top-k 0, no minimum length), 'It is' with seed 5
    // on this order-3 model is just "." (the model ends the sentence at once). The page's defaults
    // must give a few sentences' worth of words. (The form back to its defaults, as on a first
    // visit: generateSeeded() changed them.)
    await tab('generate');
    await page.evaluate(() => document.getElementById('gen-form').reset());
    const defaults = await page.evaluate(() => Object.fromEntries(['gen-max', 'gen-min', 'gen-temp', 'gen-topk', 'gen-topp']
      .map((id) => [id, Number(document.getElementById(id).value)])));
    assert.ok(defaults['gen-min'] > 0 && defaults['gen-min'] <= defaults['gen-max'], JSON.stringify(defaults));
    await page.fill('#gen-prompt', 'It is');
    await page.fill('#gen-seed', '5');
    await clearMessage('gen-stats');
    await page.click('#gen-start');
    await page.waitForSelector('#gen-stats:not(:empty)', { timeout: 20_000 });
    const text = await page.textContent('#gen-text');
    const stats = await page.textContent('#gen-stats');
    const tokens = Number(/^(\d+) tokens/.exec(stats)[1]);
    const words = text.match(/\p{L}+/gu) ?? [];
    timings.defaultText = text;
    assert.ok(tokens >= defaults['gen-min'], `${tokens} tokens, fewer than the minimum length: ${JSON.stringify(text)}`);
    assert.ok(words.length >= 12, `not readable text: ${JSON.stringify(text)}`);
    assert.notEqual(text.trim(), '.');
    // The page says how the settings change the text.
    const hint = await page.textContent('#gen-hint');
    for (const phrase of [/temperature below 1 and a top-k/i, /minimum length/i, /sentence end/i]) assert.match(hint, phrase);
    assert.equal(await page.getAttribute('#gen-form fieldset', 'aria-describedby'), 'gen-hint');
  });

  test('a trained model that was never saved comes back after a reload', async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#model-status'),
      /^Model: order 3 .*\(trained on the English sample, restored from the last visit, not saved\)/);
    assert.equal((await generateSeeded()).text, GOLDEN);
    // It is not put in the library: that stays the user's choice.
    await tab('library');
    assert.equal(await page.isVisible('#lib-empty'), true);
  });

  test('save as → reload → load gives the same text', async () => {
    await tab('library');
    await page.fill('#save-name', 'tiny-o3');
    await page.click('#save-as-btn');
    assert.match(await message('lib-msg', 'ok'), /Saved as “tiny-o3”/);
    assert.deepEqual(await libraryNames(), ['tiny-o3']);
    const cells = await page.$$eval('#lib-rows tr td', (tds) => tds.map((td) => td.textContent));
    assert.equal(cells[3], '3');
    assert.match(cells[1], /kB|MB/);
    // Plain "Save" of a model that has a name keeps it (no duplicate).
    await page.click('#save-btn');
    await message('lib-msg', 'ok');
    assert.deepEqual(await libraryNames(), ['tiny-o3']);
    // The site's storage, and whether the browser keeps it; asking to keep it gives an answer
    // either way, and the line then says what the browser decided.
    await page.waitForFunction(() => /Storage for this site: .* used/.test(document.getElementById('lib-storage-text').textContent));
    if (await page.isVisible('#lib-persist')) {
      assert.match(await page.textContent('#lib-storage-text'), /may clear it/);
      await page.evaluate(() => { document.getElementById('lib-msg').textContent = ''; });
      await page.click('#lib-persist');
      const answer = await page.waitForFunction(() => document.getElementById('lib-msg').textContent, null, { timeout: 5000 });
      const kept = /will keep/.test(await answer.jsonValue());
      await page.waitForFunction((k) => (k ? /keeps it/ : /may clear it/).test(document.getElementById('lib-storage-text').textContent), kept);
    } else {
      assert.match(await page.textContent('#lib-storage-text'), /keeps it/);
    }

    // The saved model comes back by its name after a reload, without a click.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#model-status'), /\(saved as “tiny-o3”, restored from the last visit\)/);
    assert.equal((await generateSeeded()).text, GOLDEN);
    await tab('library');
    await page.waitForSelector('#lib-rows tr[data-name="tiny-o3"]');
    await page.click('button[aria-label="Load tiny-o3"]');
    assert.match(await message('lib-msg', 'ok'), /Loaded “tiny-o3”/);
    assert.match(await page.textContent('#model-status'), /saved as “tiny-o3”/);
    assert.equal((await generateSeeded()).text, GOLDEN);
  });

  test('export → delete → import (after a reload) → load gives the same text; broken files change nothing', async () => {
    await tab('library');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('button[aria-label="Export tiny-o3"]'),
    ]);
    assert.equal(download.suggestedFilename(), 'tiny-o3.uelm');
    const file = join(tmp, 'tiny-o3.uelm');
    await download.saveAs(file);
    assert.ok(statSync(file).size > 1000);

    // Wait for the export's own message, then clear it, so the next wait sees the delete's.
    assert.match(await message('lib-msg', 'ok'), /Exported/);
    await page.evaluate(() => { document.getElementById('lib-msg').textContent = ''; });
    await page.click('button[aria-label="Delete tiny-o3"]');
    await page.click('button[aria-label="Confirm delete tiny-o3"]');
    assert.match(await message('lib-msg', 'ok'), /Deleted/);
    assert.deepEqual(await libraryNames(), []);
    assert.equal(await page.isVisible('#lib-empty'), true);

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await tab('library');
    await page.setInputFiles('#import-file', file);
    assert.match(await message('lib-msg', 'ok'), /Imported “tiny-o3”/);
    assert.deepEqual(await libraryNames(), ['tiny-o3']);

    // Broken files: a foreign file, a truncated model, an empty file. Each shows an error and
    // leaves the library as it was.
    const bytes = readFileSync(file);
    const broken = [
      [{ name: 'notes.uelm', mimeType: 'application/octet-stream', buffer: Buffer.from('just some text, not a model') }, /not an ultra-efficient-llm model file/],
      [{ name: 'half.uelm', mimeType: 'application/octet-stream', buffer: bytes.subarray(0, bytes.length >> 1) }, /incomplete|damaged|not an ultra/],
      [{ name: 'empty.uelm', mimeType: 'application/octet-stream', buffer: Buffer.alloc(0) }, /empty/],
    ];
    for (const [payload, expected] of broken) {
      await page.evaluate(() => { document.getElementById('lib-msg').textContent = ''; });
      await page.setInputFiles('#import-file', payload);
      assert.match(await message('lib-msg', 'error'), expected);
      assert.deepEqual(await libraryNames(), ['tiny-o3']);
    }
    await shoot('3-library');

    await page.click('button[aria-label="Load tiny-o3"]');
    await message('lib-msg', 'ok');
    assert.equal((await generateSeeded()).text, GOLDEN);
  });

  test('a full storage quota: the save fails with a clear message, the saved model stays listed and loadable', async () => {
    await tab('library');
    assert.deepEqual(await libraryNames(), ['tiny-o3']);
    // Shrink this origin's quota (Chromium's DevTools protocol) below what it already uses (the
    // service worker's precache alone is larger), so IndexedDB really refuses the next model file.
    // (navigator.storage.estimate() keeps reporting the real quota; writes see the override.)
    const cdp = await page.context().newCDPSession(page);
    const { usage } = await page.evaluate(() => navigator.storage.estimate());
    const quotaSize = 16 * 1024;
    assert.ok(usage > quotaSize, `usage ${usage}`);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize });
    // Chromium's IndexedDB asks the quota manager for the space left at most every 30 s and
    // approves writes from that answer meanwhile (kBucketSpaceCacheTimeLimit in its
    // bucket_context.h), so the earlier saves' answer (gigabytes free) must expire first.
    await page.waitForTimeout(31_000);
    try {
      await clearMessage('lib-msg');
      await page.fill('#save-name', 'too-big');
      await page.click('#save-as-btn');
      const text = await message('lib-msg', 'error');
      const size = await page.textContent('#lib-rows tr[data-name="tiny-o3"] td:nth-child(2)'); // the same model
      assert.equal(text, `Could not save “too-big” (${size}): the browser's storage for this site is full. `
        + 'Delete or export some saved models, then try again. Nothing was changed: the saved models are as they were.');
      // Nothing was stored, the saved model is still listed, and the page still says what is loaded.
      assert.deepEqual(await libraryNames(), ['tiny-o3']);
      assert.equal(await page.inputValue('#save-name'), 'too-big', 'the typed name is kept for a retry');
      assert.match(await page.textContent('#model-status'), /saved as “tiny-o3”/);
      await shoot('7-quota-full');
      // The saved model loads (reading needs no quota) and gives the same text.
      await clearMessage('lib-msg');
      await page.click('button[aria-label="Load tiny-o3"]');
      assert.match(await message('lib-msg', 'ok'), /Loaded “tiny-o3”/);
      assert.equal((await generateSeeded()).text, GOLDEN);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin }); // back to the real quota
      await cdp.detach();
    }
    // With room again, the same save works (so the failure above was the quota); then it goes.
    await tab('library');
    await clearMessage('lib-msg');
    await page.click('#save-as-btn');
    assert.match(await message('lib-msg', 'ok'), /Saved as “too-big”/);
    assert.deepEqual((await libraryNames()).sort(), ['tiny-o3', 'too-big']);
    await clearMessage('lib-msg');
    await page.click('button[aria-label="Delete too-big"]');
    await page.click('button[aria-label="Confirm delete too-big"]');
    assert.match(await message('lib-msg', 'ok'), /Deleted “too-big”/);
    assert.deepEqual(await libraryNames(), ['tiny-o3']);
    await clearMessage('lib-msg');
    await page.click('button[aria-label="Load tiny-o3"]');
    assert.match(await message('lib-msg', 'ok'), /Loaded “tiny-o3”/);
  });

  test('cancelling a training shows "cancelled" and leaves the page usable', async () => {
    await tab('train');
    // ~10 MB of text: long enough to cancel while it runs.
    const big = Buffer.concat(Array.from({ length: 200 }, () => TINY));
    await page.setInputFiles('#train-files', { name: 'big.txt', mimeType: 'text/plain', buffer: big });
    assert.equal(await page.isChecked('input[name="source"][value="files"]'), true);
    await page.click('#train-start');
    await page.waitForFunction(() => /reading|building/.test(document.getElementById('train-phase').textContent));
    // The page answers while the worker trains.
    const t0 = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    timings.frameWhileTraining = Date.now() - t0;
    assert.ok(timings.frameWhileTraining < 500, `main thread blocked for ${timings.frameWhileTraining} ms`);
    await page.click('#train-cancel');
    assert.match(await message('train-msg', 'info'), /cancelled/);
    assert.match(await page.textContent('#train-phase'), /^cancelled/);
    assert.equal(await page.isDisabled('#train-start'), false);
    assert.equal(await page.isDisabled('#train-cancel'), true);
    // The previously loaded model is still there and answers.
    assert.equal((await generateSeeded()).text, GOLDEN);

    // A binary file is refused with a clear message, before any training.
    await tab('train');
    await page.setInputFiles('#train-files', { name: 'photo.txt', mimeType: 'text/plain', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]) });
    await page.click('#train-start');
    assert.match(await message('train-msg', 'error'), /not a text file/);
    await page.setInputFiles('#train-files', { name: 'empty.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
    await page.click('#train-start');
    assert.match(await message('train-msg', 'error'), /empty/);
  });

  test('files dropped on the drop zone (real drag events) train; binary and empty drops are refused', async () => {
    await tab('train');
    await page.fill('#opt-order', '3');
    await page.check('input[name="source"][value="sample-es"]');
    const events = await dropFiles('#train-drop', [{ name: 'dropped.txt', type: 'text/plain', buffer: TINY }]);
    // The zone accepts the drag (dragenter/dragover cancelled, a copy), stays highlighted while
    // the pointer moves onto its children, and takes the drop.
    assert.deepEqual(events.map((e) => [e.type, e.accepted, e.highlighted]), [
      ['dragenter', true, true], ['dragover', true, true], ['dragleave', false, true],
      ['dragenter', true, true], ['dragover', true, true], ['drop', true, false]]);
    assert.deepEqual(await page.$$eval('#train-file-list li', (lis) => lis.map((li) => li.textContent)), [`dropped.txt (${Math.round(TINY.length / 1024)} kB)`]);
    assert.equal(await page.isChecked('input[name="source"][value="files"]'), true);
    assert.match(await message('train-msg', 'info'), /Ready to train on “dropped\.txt”/);
    await clearMessage('train-msg');
    await page.click('#train-start');
    assert.match(await message('train-msg', 'ok'), /order 3/);
    assert.match(await page.textContent('#model-status'), /order 3 .*trained on “dropped\.txt”, not saved/);
    // The dropped file is the English sample: the same model, the same seeded text.
    assert.equal((await generateSeeded()).text, GOLDEN);

    // A file dragged elsewhere on the page is refused (no navigation to the file).
    const outside = await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'x.txt', { type: 'text/plain' }));
      const over = new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt });
      const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt });
      const h1 = document.querySelector('h1');
      return { over: !h1.dispatchEvent(over), drop: !h1.dispatchEvent(drop), url: location.href };
    });
    assert.deepEqual(outside, { over: true, drop: true, url: `${origin}/#generate` });

    // Binary and empty drops: the message says why at once, and Train refuses them too.
    await tab('train');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    for (const [file, expected] of [
      [{ name: 'photo.txt', type: 'text/plain', buffer: png }, /^"photo\.txt" is not a text file \(binary data\)\. Use UTF-8 \.txt files\.$/],
      [{ name: 'empty.txt', type: 'text/plain', buffer: Buffer.alloc(0) }, /^"empty\.txt" is empty: there is no text to learn from\.$/],
    ]) {
      await clearMessage('train-msg');
      const ev = await dropFiles('#train-drop', [file]);
      assert.equal(ev.at(-1).accepted, true);
      assert.match(await message('train-msg', 'error'), expected);
      await clearMessage('train-msg');
      await page.click('#train-start');
      assert.match(await message('train-msg', 'error'), expected);
      assert.match(await page.textContent('#model-status'), /trained on “dropped\.txt”/, 'the loaded model stays');
    }
    await shoot('8-train-drop-error');
  });

  test('changing the pool preset keeps the loaded model: same seeded text, new pool', async () => {
    const before = await generateSeeded();
    assert.equal(before.text, GOLDEN);
    await tab('train');
    // Without a preset count of its own, the pool has cores - 1 workers (at least 1), at most the
    // preset's (development 2, default 4): on a 2-core machine one worker for either.
    const device = await page.evaluate(() => Math.max(1, (navigator.hardwareConcurrency || 2) - 1));
    assert.equal(poolWorkers(), Math.min(4, device) + 1, 'default preset: the generation workers + 1 training worker');
    for (const [preset, workers, label] of [['development', Math.min(2, device), '“development”'], ['', Math.min(4, device), 'default']]) {
      await tab('train');
      await clearMessage('train-msg');
      await page.selectOption('#opt-preset', preset);
      const done = await message('train-msg', 'ok');
      const count = `${workers} worker${workers === 1 ? '' : 's'}`;
      assert.equal(done, `Pool preset ${label}: ${count}; the model is still loaded.`);
      assert.equal(await page.inputValue('#opt-preset'), preset);
      assert.equal(await page.isEnabled('#opt-preset'), true);
      const status = await page.textContent('#model-status');
      assert.match(status, new RegExp(`^Model: order 3 · .* \\(trained on “dropped\\.txt”, not saved\\) · pool: ${preset || 'default'}, ${count} sharing one model$`));
      // The old pool is gone once idle: only the new pool's workers are left.
      await until(`${workers + 1} pool workers`, () => poolWorkers() === workers + 1);
      const after = await generateSeeded();
      assert.equal(after.text, before.text);
      assert.equal(await page.isEnabled('#gen-start'), true);
    }
  });

  test('perplexity of pasted text', async () => {
    await tab('evaluate');
    await page.click('#eval-start');
    assert.match(await message('eval-msg', 'error'), /Paste or drop/);
    await page.fill('#eval-text', TINY.toString('utf8').slice(0, 2000));
    await page.click('#eval-start');
    await message('eval-msg', 'ok');
    const dd = await page.$$eval('#eval-result dd', (els) => els.map((e) => e.textContent));
    const ppl = Number(dd[0]);
    assert.ok(Number.isFinite(ppl) && ppl >= 1, `perplexity ${dd[0]}`);
    // The heat map: one span per scored token (</s> included), as many as the perplexity counts,
    // each telling its probability and matched length; an unknown word is marked.
    const spans = await page.$$eval('#eval-heat .tok', (els) => els.map((e) => ({ cls: e.className, title: e.title,
      tab: e.tabIndex })));
    assert.equal(spans.length, Number(dd[2].replace(/,/g, '')));
    assert.ok(spans.every((x) => /^tok s[0-4]/.test(x.cls) && /p = .*, [1-3]-gram matched/.test(x.title) && x.tab === 0),
      JSON.stringify(spans.slice(0, 3)));
    await page.fill('#eval-text', 'It is a zyzzyva.');
    await page.click('#eval-start');
    await message('eval-msg', 'ok');
    assert.ok(await page.$eval('#eval-heat .tok.oov', (e) => /zyzzyva: .*unknown word/.test(e.title)));
    await shoot('4-evaluate');
  });

  test('type: next-word suggestions and completion as you type, accepted with Tab, a click or Alt+number', async () => {
    await tab('type');
    const suggestions = () => page.$$eval('#type-suggestions button', (bs) => bs.map((b) => b.textContent));
    const waitFor = (re) => page.waitForFunction((src) => [...document.querySelectorAll('#type-suggestions button')]
      .some((b) => new RegExp(src).test(b.textContent)), re.source, { timeout: 10_000 });
    await page.fill('#type-text', '');
    await page.type('#type-text', 'It is a tr', { delay: 20 });
    await waitFor(/^1\. truth /);
    const shown = await suggestions();
    assert.ok(shown.length >= 1 && shown.length <= 5, JSON.stringify(shown));
    assert.ok(shown.every((t) => /^\d\. tr\S* [\d.]+%$/.test(t)), JSON.stringify(shown));
    assert.match(await page.textContent('#type-stats'), /This keystroke: [\d.]+ ms to suggestions on screen/);
    await page.keyboard.press('Tab');
    assert.equal(await page.inputValue('#type-text'), 'It is a truth ');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'type-text');
    // After a whole word: the likeliest next words, no prefix.
    await page.waitForFunction(() => document.querySelectorAll('#type-suggestions button').length > 0
      && !/^1\. truth /.test(document.querySelector('#type-suggestions button').textContent));
    const next = await suggestions();
    await page.keyboard.press('Alt+2');
    const word2 = /^2\. (\S+) /.exec(next[1])[1];
    assert.equal(await page.inputValue('#type-text'), `It is a truth ${word2} `);
    await page.click('#type-suggestions button[data-index="0"]');
    assert.match(await page.inputValue('#type-text'), new RegExp(`^It is a truth ${word2.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\S+ $`));
    // Digits typed without Alt stay in the text.
    await page.type('#type-text', '1', { delay: 20 });
    assert.match(await page.inputValue('#type-text'), /1$/);
  });

  test('dashboard: health, live pool counts, and a latency chart after a few generations', async () => {
    await tab('dashboard');
    await page.waitForFunction(() => /^\d+$/.test(document.getElementById('dash-busy').textContent));
    for (const id of ['dash-busy', 'dash-idle', 'dash-queued']) {
      const text = await page.textContent(`#${id}`);
      assert.match(text, /^\d+$/, `${id} should be a number, got "${text}"`);
    }
    assert.equal(await page.textContent('#dash-status'), 'ok');
    assert.equal(await page.textContent('#dash-model'), 'yes');
    // The model's memory, times the workers holding a copy, and the pool's WebAssembly memory.
    assert.match(await page.textContent('#dash-memory'),
      /^[\d.]+ (kB|MB) × \d+ workers? · pool: [\d.]+ (kB|MB|GB) of WebAssembly memory$/);
    // The panel refreshes itself: the counts are rewritten about every 500 ms.
    await page.evaluate(() => { document.getElementById('dash-idle').textContent = 'stale'; });
    await page.waitForFunction(() => /^\d+$/.test(document.getElementById('dash-idle').textContent), null, { timeout: 2000 });

    for (let i = 0; i < 3; i += 1) await generateSeeded();
    await tab('dashboard');
    await page.waitForSelector('#dash-chart canvas', { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.getElementById('dash-chart').dataset.points) >= 3, null, { timeout: 10_000 });
    assert.equal(await page.isVisible('#dash-chart-empty'), false);
    // uPlot drew something: the canvas has non-transparent pixels, and its legend names the series.
    const inked = await page.$eval('#dash-chart canvas', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
      return n;
    });
    assert.ok(inked > 100, `the chart canvas should be drawn on (${inked} inked pixels)`);
    assert.match(await page.textContent('#dash-chart'), /generate p50/);
    // uPlot's stylesheet is applied (served from vendor/, allowed by style-src 'self').
    assert.equal(await page.$eval('#dash-chart .u-wrap', (el) => getComputedStyle(el).position), 'relative');
    assert.match(await page.textContent('#dash-op-rows tr[data-op="generate"]'), /generate/);
    assert.match(await page.textContent('#dash-cache'), /%|–/);
    assert.deepEqual(problems.filter((p) => /CSP/.test(p)), []);
    timings.dashboardPoints = Number(await page.getAttribute('#dash-chart', 'data-points'));
    await shoot('5-dashboard');
  });

  test('benchmark: a small run fills the table with numbers next to the seed\'s claims', async () => {
    await tab('benchmark');
    assert.equal(await page.$$eval('#bench-rows tr', (trs) => trs.length), 5);
    // Small counts for speed (the page also reads ?bench-requests=… etc.).
    await page.evaluate(() => Object.assign(document.getElementById('bench-run').dataset,
      { requests: '40', inflight: '8', reps: '3' }));
    const t0 = Date.now();
    await page.click('#bench-run');
    assert.equal(await page.isDisabled('#bench-run'), true);
    assert.match(await message('bench-msg', 'ok', 120_000), /finished/);
    timings.benchmark = Date.now() - t0;
    assert.equal(await page.isDisabled('#bench-run'), false);
    const rows = await page.$$eval('#bench-rows tr', (trs) => trs.map((tr) => ({
      id: tr.dataset.scenario,
      value: Number(tr.querySelector('td.measured').dataset.value),
      text: tr.querySelector('td.measured').textContent,
      claim: tr.lastElementChild.textContent,
    })));
    assert.deepEqual(rows.map((r) => r.id), ['single', 'concurrent', 'throughput', 'load', 'save']);
    for (const r of rows) {
      assert.ok(Number.isFinite(r.value) && r.value > 0, `${r.id}: ${r.text}`);
      assert.match(r.text, /\d/);
    }
    assert.deepEqual(rows.map((r) => r.claim), ['150 ms', '150 ms per generation', '15 req/s', '50–100 ms', '100–200 ms']);
    timings.benchmarkResults = Object.fromEntries(rows.map((r) => [r.id, Math.round(r.value * 10) / 10]));
    assert.match(await page.textContent('#bench-log'), /Throughput .*req\/s/);
    // The temporary copies are gone from the library.
    await tab('library');
    await page.waitForFunction(() => [...document.querySelectorAll('#lib-rows tr')].map((tr) => tr.dataset.name).join() === 'tiny-o3');
    assert.deepEqual(await libraryNames(), ['tiny-o3']);
    await tab('benchmark');
    await page.click('#bench-log-box summary');
    await shoot('6-benchmark');
  });

  test('benchmark without a model trains the English sample first (counts from the query string)', async () => {
    const fresh = await context.newPage();
    fresh.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`[fresh console.${m.type()}] ${m.text()}`); });
    fresh.on('pageerror', (e) => problems.push(`[fresh pageerror] ${e.message}`));
    try {
      // A first visit: nothing remembered from an earlier one (the other page's model would
      // otherwise be restored at start-up).
      await page.evaluate(() => localStorage.removeItem('uellm-site:last-model'));
      await fresh.goto(`${origin}/?bench-requests=16&bench-inflight=4&bench-reps=2#benchmark`);
      await fresh.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      assert.match(await fresh.textContent('#model-status'), /No model yet/);
      assert.match(await fresh.textContent('#bench-rows tr[data-scenario="throughput"]'), /16 requests × 100 tokens, 4 in flight/);
      await fresh.click('#bench-run');
      await fresh.waitForSelector('#bench-msg[data-kind="ok"]', { timeout: 120_000 });
      assert.match(await fresh.textContent('#model-status'), /English sample/);
      assert.match(await fresh.textContent('#bench-log'), /training the English sample/);
      const values = await fresh.$$eval('#bench-rows td.measured', (tds) => tds.map((td) => Number(td.dataset.value)));
      assert.equal(values.length, 5);
      for (const v of values) assert.ok(Number.isFinite(v) && v > 0, String(v));
    } finally {
      await fresh.close();
    }
  });

  test('phone width (375 px): the tabs stay one row that scrolls, nothing overflows the page', async () => {
    await page.setViewportSize(PHONE);
    try {
      for (const name of ['train', 'generate', 'type', 'library', 'evaluate', 'dashboard', 'benchmark', 'train']) {
        await tab(name);
        const l = await page.evaluate(() => {
          const row = document.querySelector('.tabs');
          const r = row.getBoundingClientRect();
          const tabs = [...row.querySelectorAll('[role="tab"]')];
          const sel = row.querySelector('[aria-selected="true"]').getBoundingClientRect();
          return {
            tops: [...new Set(tabs.map((t) => Math.round(t.getBoundingClientRect().top)))],
            rowHeight: r.height, tabHeight: tabs[0].getBoundingClientRect().height,
            scrolls: row.scrollWidth > row.clientWidth,
            selectedVisible: sel.left >= r.left - 0.5 && sel.right <= r.right + 0.5,
            label: row.getAttribute('aria-label'), role: row.getAttribute('role'),
          };
        });
        assert.equal(l.tops.length, 1, `${name}: the tabs sit on one row (${l.tops})`);
        assert.ok(l.rowHeight < l.tabHeight * 1.6, `${name}: the row is one tab high (${l.rowHeight} vs ${l.tabHeight})`);
        assert.equal(l.scrolls, true, 'at 375 px the row is wider than the screen and scrolls');
        assert.equal(l.selectedVisible, true, `${name}: the selected tab is scrolled into view`);
        assert.deepEqual([l.role, l.label], ['tablist', 'Sections']);
        const o = await overflow();
        assert.ok(o.scrollWidth <= o.innerWidth, `${name}: the page overflows sideways: ${JSON.stringify(o)}`);
      }
      // Arrow keys along the row; the selected tab is scrolled into view as it moves.
      await page.focus('.tabs [aria-selected="true"]');
      await page.keyboard.press('End');
      await page.waitForSelector('#benchmark:not([hidden])');
      assert.equal(await page.evaluate(() => {
        const a = document.activeElement;
        const r = a.parentElement.getBoundingClientRect();
        const b = a.getBoundingClientRect();
        return `${a.id} ${b.right <= r.right + 0.5 && b.left >= r.left - 0.5}`;
      }), 'tab-benchmark true');
      await page.screenshot({ path: join(SHOTS, '9-phone-tabs-scrolled.png') });
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    await tab('train');
  });

  test('training on en-train.txt through the Train tab keeps animation frames flowing',
    { skip: existsSync(EN_TRAIN) ? false : `${EN_TRAIN} is absent` }, async () => {
      await tab('train');
      await page.setInputFiles('#train-files', EN_TRAIN);
      await page.fill('#opt-order', '6');
      await page.evaluate(() => {
        const w = { maxGap: 0, frames: 0, longTasks: [], last: 0, running: true };
        window.frameWatch = w;
        const loop = (t) => {
          if (w.last) w.maxGap = Math.max(w.maxGap, t - w.last);
          w.last = t;
          w.frames += 1;
          if (w.running) requestAnimationFrame(loop);
        };
        requestAnimationFrame(loop);
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.longTasks.push(Math.round(e.duration));
        }).observe({ type: 'longtask' });
      });
      const t0 = Date.now();
      await page.click('#train-start');
      assert.match(await message('train-msg', 'ok', 300_000), /order 6/);
      timings.trainEnTrain = Date.now() - t0;
      const w = await page.evaluate(() => { window.frameWatch.running = false; return window.frameWatch; });
      timings.enTrainMaxFrameGapMs = Math.round(w.maxGap * 10) / 10;
      timings.enTrainLongTasksMs = w.longTasks;
      console.log(`# en-train (${statSync(EN_TRAIN).size} bytes, order 6): trained in ${timings.trainEnTrain} ms; `
        + `longest requestAnimationFrame gap ${w.maxGap.toFixed(1)} ms over ${w.frames} frames; `
        + `long tasks: ${w.longTasks.length ? w.longTasks.join(', ') + ' ms' : 'none'}`);
      // The target is ≤ 50 ms; 200 ms leaves room for a loaded CI machine.
      assert.ok(w.maxGap <= 200, `longest frame gap ${w.maxGap.toFixed(1)} ms while training`);
      assert.match(await page.textContent('#model-status'), /order 6 .*en-train\.txt/);
    });

  test('keyboard: the tabs are one tab stop; arrow keys, Home and End move between sections', async () => {
    await tab('train');
    const state = () => page.evaluate(() => ({
      focused: document.activeElement.id,
      selected: [...document.querySelectorAll('.tabs [aria-selected="true"]')].map((a) => a.id),
      tabbable: [...document.querySelectorAll('.tabs [role="tab"]')].filter((a) => a.tabIndex === 0).map((a) => a.id),
      visible: [...document.querySelectorAll('main > [role="tabpanel"]')].filter((p) => !p.hidden).map((p) => p.id),
      hash: location.hash,
    }));
    const expect = (id) => ({ focused: `tab-${id}`, selected: [`tab-${id}`], tabbable: [`tab-${id}`], visible: [id], hash: `#${id}` });
    await page.focus('#tab-train');
    for (const [key, id] of [['ArrowRight', 'generate'], ['ArrowRight', 'type'], ['ArrowLeft', 'generate'],
      ['End', 'benchmark'], ['ArrowRight', 'train'], ['ArrowLeft', 'benchmark'], ['Home', 'train']]) {
      await page.keyboard.press(key);
      assert.deepEqual(await state(), expect(id), `after ${key}`);
    }
    // Tab leaves the row for the section's first control (not the next tab).
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.closest('[role="tabpanel"]')?.id), 'train');
    // Shift+Tab comes back to the selected tab; Enter on a tab link shows its section too.
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-train');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#generate:not([hidden])');
    assert.equal(await page.getAttribute('#tab-generate', 'aria-selected'), 'true');
    await tab('train');
  });

  test('works offline once loaded: the service worker serves the page, the pool workers and the wasm', async () => {
    // The page registered sw.js on its first load; wait until it is active and controls the page.
    await page.evaluate(() => navigator.serviceWorker.ready);
    if (!await page.evaluate(() => Boolean(navigator.serviceWorker.controller))) {
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
    }
    await page.waitForSelector('body[data-offline="ready"]');
    // The precache holds every file of the build (listed with its content hash in dist/sw.js).
    const sw = readFileSync(join(ROOT, 'www/dist/sw.js'), 'utf8');
    const manifest = JSON.parse(sw.match(/const PRECACHE = (\{.*\});/)[1]);
    assert.match(manifest.version, /^[0-9a-f]{16}$/);
    assert.ok(manifest.files.includes('./pkg/worker.js') && manifest.files.includes('./pkg/ultra_efficient_llm_bg.wasm')
      && manifest.files.includes('./index.html') && manifest.files.includes('./samples/tiny.txt'), manifest.files.join());
    const cached = await page.evaluate(async () => {
      const names = await caches.keys();
      const keys = await (await caches.open(names[0])).keys();
      return { names, urls: keys.map((r) => new URL(r.url).pathname) };
    });
    assert.deepEqual(cached.names, [`uellm-site-${manifest.version}`]);
    assert.deepEqual(cached.urls.sort(), manifest.files.map((f) => f.slice(1)).sort());

    // Unplug: the browser is offline and the server would answer nothing useful anyway.
    server.state.hits = [];
    server.state.down = true;
    await context.setOffline(true);
    try {
      const t0 = Date.now();
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      timings.offlineReady = Date.now() - t0;
      // The model of the last visit comes back offline too (its file is in IndexedDB).
      assert.match(await page.textContent('#model-status'), /^Model: .*restored from the last visit/);
      await tab('train');
      await page.check('input[name="source"][value="sample-en"]');
      await page.fill('#opt-order', '3');
      await page.click('#train-start');
      assert.match(await message('train-msg', 'ok'), /order 3/);
      assert.equal((await generateSeeded()).text, GOLDEN);
      // The pool's dedicated workers got their wasm through the page's service worker
      // (resource timing: workerStart > 0 only for responses from a service worker). Isolated,
      // one generation worker fetches the threaded build's .wasm and hands the compiled module
      // to the others (which fetch none); the training worker fetches the plain one.
      const workers = page.workers().filter((w) => /\/pkg\/worker\.js$/.test(w.url()));
      assert.ok(workers.length > 0, 'the pool has workers');
      const fetched = [];
      for (const w of workers) {
        const wasm = await w.evaluate(() => performance.getEntriesByType('resource')
          .filter((e) => e.name.endsWith('.wasm')).map((e) => ({ name: e.name, sw: e.workerStart > 0 })));
        assert.ok(wasm.length <= 1, JSON.stringify(wasm));
        for (const entry of wasm) {
          assert.equal(entry.sw, true, `the wasm of ${w.url()} should come from the service worker`);
          fetched.push(new URL(entry.name).pathname);
        }
      }
      assert.deepEqual(fetched.sort(), ['/pkg/threads/ultra_efficient_llm_bg.wasm', '/pkg/ultra_efficient_llm_bg.wasm']);
      assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].workerStart > 0), true);
      // Only the browser's own update check of sw.js may try the network (it fails, and the
      // installed worker stays); everything the page and its workers load comes from the cache.
      assert.deepEqual(server.state.hits.filter((u) => u !== '/sw.js'), [], 'nothing else may reach the server while offline');
      assert.equal(await page.getAttribute('body', 'data-offline'), 'ready');
      assert.deepEqual(await page.evaluate(() => caches.keys()), [`uellm-site-${manifest.version}`]);
    } finally {
      await context.setOffline(false);
      server.state.down = false;
    }
    // Back online, requests outside the precache go to the network (sw.js is not precached).
    assert.match(await page.evaluate(async () => (await fetch('./sw.js', { cache: 'no-store' })).text()),
      new RegExp(`"version":"${manifest.version}"`));

    // A new build (another content hash in sw.js) installs a new worker whose cache replaces the old.
    const swPath = join(ROOT, 'www/dist/sw.js');
    writeFileSync(swPath, sw.replace(`"version":"${manifest.version}"`, '"version":"0000000000000000"'));
    try {
      const names = await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        const old = reg.active;
        await reg.update();
        const sw = reg.installing ?? reg.waiting ?? reg.active;
        if (sw === old) return ['no new worker'];
        // "activated" comes after the activate handler (old caches deleted, clients claimed).
        await new Promise((r) => {
          if (sw.state === 'activated') r();
          else sw.addEventListener('statechange', () => { if (sw.state === 'activated') r(); });
        });
        return caches.keys();
      });
      assert.deepEqual(names, ['uellm-site-0000000000000000']);
    } finally {
      writeFileSync(swPath, sw);
    }
  });

  test('without isolation (service workers blocked) the plain build gives the same text; run.sh\'s server isolates at once', async () => {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true, args: ARGS });
    const serve = spawn('python3', [join(ROOT, 'scripts/serve.py'), '0', join(ROOT, 'www/dist')],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    const saved = page;
    try {
      const served = await new Promise((resolve, reject) => {
        serve.stdout.on('data', (d) => { const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(String(d)); if (m) resolve(m[0]); });
        serve.on('exit', (code) => reject(new Error(`serve.py exited (${code})`)));
      });
      for (const [url, isolated] of [[`${origin}/`, false], [served, true]]) {
        const ctx = await browser.newContext({ serviceWorkers: 'block', viewport: DESKTOP });
        page = await ctx.newPage();
        page.on('pageerror', (e) => problems.push(`[pageerror, ${url}] ${e.message}`));
        await page.goto(`${url}#train`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
        assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), isolated, url);
        await page.check('input[name="source"][value="sample-en"]');
        await page.fill('#opt-order', '3');
        await page.click('#train-start');
        await message('train-msg', 'ok');
        const status = await page.textContent('#model-status');
        assert.match(status, isolated ? /\d+ workers? sharing one model$/ : /\d+ workers?$/, status);
        const g = await generateSeeded();
        assert.equal(g.text, GOLDEN, url);
        await ctx.close();
      }
    } finally {
      page = saved;
      serve.kill();
      await browser.close();
    }
  });

  test('a ready-made model loads with a progress bar, is kept in the library, and loads again offline', async () => {
    await tab('train');
    await page.waitForSelector('#starters:not([hidden]) button[data-starter="en"]');
    assert.match(await page.textContent('button[data-starter="en"]'), /^Load the English model \(\d/);
    await clearMessage('starter-text');
    await page.click('button[data-starter="en"]');
    const done = await message('starter-text', 'ok');
    assert.match(done, /^Loaded the English model \(order 5, [\d,]+ patterns\) in \d+ ms/);
    assert.equal(await page.evaluate(() => document.getElementById('starter-progress').value), 1);
    assert.match(await page.textContent('#model-status'), /order 5/);
    await tab('generate');
    await clearMessage('gen-stats');
    await page.click('#gen-start');
    await page.waitForSelector('#gen-stats:not(:empty)', { timeout: 20_000 });
    assert.ok((await page.textContent('#gen-text')).trim().length > 0);
    await tab('library');
    await page.waitForSelector('#lib-rows tr[data-name$="/models/en.uelm"]');
    // Offline, the server unplugged: the page (service worker) and the model (IndexedDB) still load.
    // (The model's requests fail then, as they must, or are cut short when the page reloads:
    // not problems of the page.)
    expectedProblems.push(/^failed request: \S+\/models\/(en|es)\.uelm /, /ERR_INTERNET_DISCONNECTED/);
    server.state.down = true;
    await context.setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      await tab('train');
      await page.waitForSelector('#starters:not([hidden]) button[data-starter="es"]');
      await clearMessage('starter-text');
      await page.click('button[data-starter="en"]');
      assert.match(await message('starter-text', 'ok'), /^Loaded the English model/);
      // A model never downloaded cannot load offline: a clear message, the page keeps its model.
      await clearMessage('starter-text');
      await page.click('button[data-starter="es"]');
      assert.match(await message('starter-text', 'error'), /Could not load the Spanish model/);
      assert.match(await page.textContent('#model-status'), /order 5/);
    } finally {
      await context.setOffline(false);
      server.state.down = false;
    }
  });

  test('no console errors and no request to another origin', () => {
    assert.deepEqual(problems.filter((p) => !expectedProblems.some((re) => re.test(p))), []);
  });
});
