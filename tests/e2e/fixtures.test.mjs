// The packed npm package used by outside apps, as a user would (cf. automerge's packaging tests),
// each set up as the package README tells it to: `npm pack` of pkg/ (built by
// scripts/build-pkg.sh) is installed into temp copies of
//   fixtures/plain-esm/    a static page, no bundler: an import map points the bare specifier at
//                          node_modules/ultra-efficient-llm/index.js
//   fixtures/vite-app/     a Vite app: `vite build` must bundle the module worker and the .wasm
//                          (and the dev server must run it too)
//   fixtures/webpack-app/  a webpack 5 app, no package-specific configuration
//   fixtures/esbuild-app/  an esbuild app: esbuild does not emit workers, so the worker is an entry
//                          of its own and the app passes create({ workerUrl }); without that (or
//                          without the .wasm), the error must name the URL that failed
//                          (WorkerLoadError)
//   fixtures/cdn-page/     a page on one 127.0.0.1 port that imports the package from another
//                          (a CDN): the worker is started from a same-origin blob: module
// Each is served from its own folder on 127.0.0.1 and opened in headless Chromium: a 2-worker
// pool trains on a few sentences and generates with a fixed seed into #out (errors go to #err).
// Checks: non-empty text, the same text on a second page load (plain, Vite), the same text from
// every app, no console errors, and no request to any origin but the local server(s).
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh runs scripts/build-pkg.sh first;
// UELLM_PKG_DIR=/path tests another unpacked package folder). Vite, webpack and esbuild (pinned,
// with lockfiles) are installed only inside the temp copies of the fixtures (from npm's cache when
// warm), never into the repo; temp dirs are removed at the end (under UELLM_E2E_TMP when set).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];
const run = promisify(execFile);

const timings = {};
let tmp;
let tarball;
let context;
const results = {};
let viteDir = null;

/** Runs `fn`, records its wall time in `timings[name]` (ms). */
async function timed(name, fn) {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = Math.round(performance.now() - t0);
  }
}

/** The environment for npm in a temp dir: none of an enclosing `npm test`'s project settings. */
function npmEnv() {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false',
    npm_config_audit: 'false' };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_)|^npm_config_(local_prefix|prefix|global|workspaces?)$|^INIT_CWD$/i.test(key)) delete env[key];
  }
  return env;
}

async function npm(args, cwd) {
  try {
    return await run('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${e.stdout}\n${e.stderr}`);
  }
}

/** Copies fixtures/<name> to the temp dir and installs the tarball there, without saving it. */
async function installFixture(name) {
  const dir = join(tmp, name);
  cpSync(join(HERE, 'fixtures', name), dir, { recursive: true,
    filter: (src) => !/[\\/](node_modules|dist)$/.test(src) });
  // --prefix pins the project to the copy: npm never walks up into the repo.
  await timed(`install:${name}`, () => npm(['install', '--prefix', dir, '--no-save', tarball], dir));
  const installed = JSON.parse(readFileSync(join(dir, 'node_modules/ultra-efficient-llm/package.json'), 'utf8'));
  assert.equal(installed.name, 'ultra-efficient-llm');
  return dir;
}

/**
 * Serves `root` on 127.0.0.1 (or uses a running server: `root` = `{ url }`), loads
 * `/index.html?seed=…` (or `path`, plus `query`) in a fresh page and reads the result. `allow`:
 * further origins the page may request (a CDN).
 */
async function openApp(root, label, { query = '', allow = [], path = 'index.html' } = {}) {
  const server = typeof root === 'string' ? await startServer({ '/': root }) : { url: root.url, close: async () => {} };
  const origin = server.url;
  const requests = [];
  const foreign = [];
  const consoleErrors = [];
  const workers = [];
  // Every request of the page and its workers goes through here; other origins are refused.
  const router = (route) => {
    const url = route.request().url();
    requests.push(url);
    const from = new URL(url).origin;
    if (from !== origin && !allow.includes(from) && !url.startsWith('data:')) {
      foreign.push(url);
      return route.abort();
    }
    return route.continue();
  };
  await context.route('**/*', router);
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`[pageerror] ${e.message}`));
  // (Chromium reports the workers' console messages as the page's too.)
  page.on('requestfailed', (r) => consoleErrors.push(`[requestfailed] ${r.url()} ${r.failure()?.errorText}`));
  page.on('worker', (w) => workers.push(w.url()));
  try {
    const t0 = performance.now();
    await page.goto(`${origin}/${path}?seed=42${query}`);
    await page.waitForFunction(() => document.body?.dataset.done === 'true', null, { timeout: 30_000 });
    timings[label] = Math.round(performance.now() - t0);
    const r = await page.evaluate(() => ({
      out: document.getElementById('out').textContent,
      err: document.getElementById('err').textContent,
      ngrams: document.body.dataset.ngrams,
      tokens: Number(document.body.dataset.tokens),
      errCode: document.body.dataset.errCode,
      errUrl: document.body.dataset.errUrl,
    }));
    return { ...r, requests, foreign, consoleErrors, origin, workers };
  } finally {
    await page.close();
    await context.unroute('**/*', router);
    await server.close();
  }
}

/** `workerScript`: matches the worker script's URL (a RegExp or `{ test(url) }`; a bundler may rename it). */
function checkRun(r, what, { workerScript = /worker[^/]*\.js(\?|$)/ } = {}) {
  assert.equal(r.err, '', `${what}: #err says: ${r.err}`);
  assert.ok(r.out.trim().length > 0, `${what}: #out is empty`);
  assert.ok(r.tokens > 0, `${what}: no tokens`);
  assert.deepEqual(r.foreign, [], `${what}: requests to other origins`);
  assert.deepEqual(r.consoleErrors, [], `${what}: console errors`);
  // The worker and the wasm were fetched (so worker requests are seen by the check above).
  assert.ok(r.requests.some((u) => /\.wasm(\?|$)/.test(u)), `${what}: no .wasm request in ${r.requests.join(' ')}`);
  assert.ok(r.requests.some((u) => workerScript.test(u)), `${what}: no worker request in ${r.requests.join(' ')}`);
  // A 2-worker pool and its training worker.
  assert.ok(r.workers.length >= 3, `${what}: ${r.workers.length} workers started: ${r.workers.join(' ')}`);
}

/** Runs `node build.mjs` in a fixture's folder; returns its output. */
async function buildFixture(dir, label) {
  const { stdout, stderr } = await timed(`build:${label}`, async () => {
    try {
      return await run(process.execPath, ['build.mjs'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
    } catch (e) {
      throw new Error(`${label}: node build.mjs failed:\n${e.stdout}\n${e.stderr}`);
    }
  });
  return `${stdout}\n${stderr}`;
}

/** The output of the first app that ran (the plain page): every app must generate the same text. */
function sameAsPlain(r, what) {
  if (results['plain-esm']) assert.equal(r.out, results['plain-esm'].out, `${what} and the plain page disagree`);
}

/** Two fresh page loads: both succeed and a fixed seed gives the same text. */
async function twoRuns(root, name) {
  const first = await openApp(root, `page:${name}:1`);
  checkRun(first, `${name} (first load)`);
  const second = await openApp(root, `page:${name}:2`);
  checkRun(second, `${name} (second load)`);
  assert.equal(second.out, first.out, `${name}: seed 42 gave different text on a second load`);
  assert.equal(second.ngrams, first.ngrams);
  results[name] = first;
  return first;
}

describe('the packed package in outside apps (plain ES modules, Vite, webpack, esbuild, a CDN)', { concurrency: false }, () => {
  before(async () => {
    assert.ok(existsSync(join(PKG, 'package.json')), `${PKG} is missing: run scripts/build-pkg.sh first`);
    tmp = mkdtempSync(join(process.env.UELLM_E2E_TMP || tmpdir(), 'uellm-fixtures-'));
    const { stdout } = await timed('pack', () => npm(['pack', '--json', '--pack-destination', tmp], PKG));
    const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    tarball = join(tmp, filename);
    context = await timed('browser', () => chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS,
    }));
  });

  after(async () => {
    await context?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`# timings (ms): ${JSON.stringify(timings)}`);
  });

  test('a plain ES-module page imports the installed tarball through an import map', { timeout: 120_000 }, async () => {
    const dir = await installFixture('plain-esm');
    const r = await twoRuns(dir, 'plain-esm');
    assert.ok(r.requests.some((u) => u === `${r.origin}/node_modules/ultra-efficient-llm/index.js`));
  });

  test('a Vite app bundles the package, its module worker and the .wasm', { timeout: 300_000 }, async () => {
    const dir = await installFixture('vite-app');
    const { stdout } = await timed('vite-build', async () => {
      try {
        return await run(process.execPath, [join(dir, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'info'],
          { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
      } catch (e) {
        throw new Error(`vite build failed:\n${e.stdout}\n${e.stderr}`);
      }
    });
    const assets = readdirSync(join(dir, 'dist/assets'));
    // The worker must be bundled (its imports resolved), not copied as a bare asset that would
    // import ./core.js etc. at run time; the .wasm must be emitted next to it.
    assert.ok(assets.some((f) => f.endsWith('.wasm')), `vite emitted no .wasm:\n${stdout}`);
    const workers = assets.filter((f) => /^worker.*\.js$/.test(f));
    assert.equal(workers.length, 1, `expected one worker chunk:\n${stdout}`);
    const worker = readFileSync(join(dir, 'dist/assets', workers[0]), 'utf8');
    assert.doesNotMatch(worker, /from\s*['"]\.\/(core|storage|errors)\.js['"]/,
      'the worker was copied unbundled: Vite only bundles `new Worker(new URL(\'./worker.js\', import.meta.url))` written literally');
    const r = await twoRuns(join(dir, 'dist'), 'vite-app');
    assert.ok(!r.requests.some((u) => u.includes('/node_modules/')), 'the bundle requested node_modules files');
    if (results['plain-esm']) assert.equal(r.out, results['plain-esm'].out, 'Vite and plain pages disagree');
    viteDir = dir;
  });

  test('the same Vite app runs under the dev server (dependency pre-bundling)', { timeout: 60_000 }, async (t) => {
    if (!viteDir) return t.skip('the Vite build test did not pass');
    const dev = execFile(process.execPath, [join(viteDir, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1',
      '--port', '5173', '--clearScreen', 'false'], { cwd: viteDir, env: { ...process.env, NO_COLOR: '1' } });
    let log = '';
    try {
      const url = await timed('vite-dev-start', () => new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`vite dev did not start:\n${log}`)), 20_000);
        const onData = (d) => {
          log += d;
          const m = /http:\/\/127\.0\.0\.1:\d+/.exec(log);
          if (m) { clearTimeout(timer); resolve(m[0]); }
        };
        dev.stdout.on('data', onData);
        dev.stderr.on('data', onData);
        dev.on('exit', (code) => { clearTimeout(timer); reject(new Error(`vite dev exited (${code}):\n${log}`)); });
      }));
      const r = await twoRuns({ url }, 'vite-dev');
      if (results['plain-esm']) assert.equal(r.out, results['plain-esm'].out, 'the dev server and the plain page disagree');
    } finally {
      const exited = new Promise((r) => (dev.exitCode !== null || dev.signalCode !== null ? r() : dev.once('exit', r)));
      dev.kill();
      await exited;
    }
  });
  test('a webpack 5 app bundles the package, its module worker and the .wasm (no configuration)', { timeout: 180_000 }, async () => {
    const dir = await installFixture('webpack-app');
    const log = await buildFixture(dir, 'webpack-app');
    assert.doesNotMatch(log, /WARNING|ERROR/, `webpack warned:\n${log}`);
    const files = readdirSync(join(dir, 'dist'));
    assert.ok(files.some((f) => f.endsWith('.wasm')), `webpack emitted no .wasm:\n${log}`);
    // The worker is a chunk of its own (any name but the app's), with its imports bundled in.
    const chunks = files.filter((f) => f.endsWith('.js') && f !== 'app.js');
    const worker = chunks.find((f) => /self\.onmessage/.test(readFileSync(join(dir, 'dist', f), 'utf8')));
    assert.ok(worker, `no worker chunk among ${chunks.join(', ')}:\n${log}`);
    const r = await openApp(join(dir, 'dist'), 'page:webpack-app');
    checkRun(r, 'webpack-app', { workerScript: new RegExp(`/${worker.replace(/\./g, '\\.')}$`) });
    assert.ok(!r.requests.some((u) => u.includes('/node_modules/')), 'the bundle requested node_modules files');
    sameAsPlain(r, 'webpack');
  });

  test('an esbuild app: the worker bundled as its own entry, create({ workerUrl }); without it, a WorkerLoadError names the URL', { timeout: 120_000 }, async () => {
    const dir = await installFixture('esbuild-app');
    const log = await buildFixture(dir, 'esbuild-app');
    const dist = join(dir, 'dist');
    // esbuild leaves `new Worker(new URL('./worker.js', import.meta.url))` as it is: no worker.js.
    assert.ok(!existsSync(join(dist, 'worker.js')), `esbuild emitted worker.js after all:\n${log}`);
    const r = await openApp(dist, 'page:esbuild-app');
    checkRun(r, 'esbuild-app', { workerScript: /\/uellm-worker\.js$/ });
    sameAsPlain(r, 'esbuild');

    // The same app without workerUrl, as if the README's step were skipped: create() rejects with
    // an error that names the URL it tried, what the server said, and the way out.
    const bad = await openApp(dist, 'page:esbuild-app:no-worker-url', { query: '&worker=default' });
    const url = `${bad.origin}/worker.js`;
    assert.equal(bad.out, '');
    assert.equal(bad.errCode, 'WORKER_LOAD_FAILED', bad.err);
    assert.equal(bad.errUrl, url);
    assert.match(bad.err, /^WorkerLoadError: /);
    assert.ok(bad.err.includes(`the worker script ${url} could not be loaded: the server answered HTTP 404`), bad.err);
    assert.match(bad.err, /create\(\{ workerUrl \}\)/);
    assert.deepEqual(bad.foreign, []);

    // The worker is there but the .wasm was not copied: the error names the .wasm's URL.
    rmSync(join(dist, 'ultra_efficient_llm_bg.wasm'));
    const noWasm = await openApp(dist, 'page:esbuild-app:no-wasm');
    const wasmUrl = `${noWasm.origin}/ultra_efficient_llm_bg.wasm`;
    assert.equal(noWasm.errCode, 'WORKER_LOAD_FAILED', noWasm.err);
    assert.equal(noWasm.errUrl, wasmUrl);
    assert.ok(noWasm.err.includes(`the WebAssembly module ${wasmUrl} (HTTP 404) could not be loaded`), noWasm.err);
  });

  test('a page imports the package from a CDN (another 127.0.0.1 port): the worker starts from a blob: module', { timeout: 60_000 }, async () => {
    const dir = await installFixture('cdn-page');
    const { version } = JSON.parse(readFileSync(join(dir, 'node_modules/ultra-efficient-llm/package.json'), 'utf8'));
    // The "CDN": the installed package folder on a port of its own, with CORS headers as npm CDNs
    // send them (a module script from another origin needs them).
    const cdn = await startServer({ [`/npm/ultra-efficient-llm@${version}/`]: join(dir, 'node_modules/ultra-efficient-llm') },
      { headers: { 'access-control-allow-origin': '*' } });
    try {
      const html = join(dir, 'index.html');
      writeFileSync(html, readFileSync(html, 'utf8').replaceAll('__CDN__', cdn.url).replaceAll('__VERSION__', version));
      const r = await openApp(dir, 'page:cdn-page', { allow: [cdn.url] });
      const base = `${cdn.url}/npm/ultra-efficient-llm@${version}/`;
      checkRun(r, 'cdn-page', { workerScript: { test: (u) => u === `${base}worker.js` } });
      // The package, its worker and the .wasm all came from the CDN; the page's own origin served
      // only the page.
      for (const f of ['index.js', 'worker.js', 'core.js', 'ultra_efficient_llm.js', 'ultra_efficient_llm_bg.wasm']) {
        assert.ok(r.requests.includes(base + f), `${f} was not loaded from the CDN: ${r.requests.join(' ')}`);
      }
      assert.ok(!r.requests.some((u) => u.startsWith(r.origin) && /\.(wasm)$|worker\.js$|node_modules/.test(u)),
        `the page origin served package files: ${r.requests.join(' ')}`);
      // Workers run on the page's origin, from blob: bootstraps.
      assert.ok(r.workers.every((u) => u.startsWith(`blob:${r.origin}/`)), r.workers.join(' '));
      sameAsPlain(r, 'the CDN page');

      // A page whose Content-Security-Policy allows workers from its own origin only refuses the
      // blob: bootstrap too: the error names the worker's URL and what to allow.
      const csp = `default-src 'self'; script-src 'self' 'unsafe-inline' ${cdn.url}; worker-src 'self'`;
      writeFileSync(join(dir, 'strict.html'), readFileSync(html, 'utf8')
        .replace('<meta charset="utf-8">', `<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="${csp}">`));
      const strict = await openApp(dir, 'page:cdn-page:strict-csp', { allow: [cdn.url], path: 'strict.html' });
      assert.equal(strict.errCode, 'WORKER_LOAD_FAILED', strict.err);
      assert.equal(strict.errUrl, `${base}worker.js`);
      assert.match(strict.err, /is on another origin than this page .*: the page's Content-Security-Policy refused the blob: worker\. .*worker-src 'self' blob:/);
    } finally {
      await cdn.close();
    }
  });
});
