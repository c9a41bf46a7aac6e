// The packed npm package used by two outside apps, as a user would (cf. automerge's packaging
// tests): `npm pack` of pkg/ (built by scripts/build-pkg.sh) is installed into temp copies of
//   fixtures/plain-esm/  a static page, no bundler: an import map points the bare specifier at
//                        node_modules/ultra-efficient-llm/index.js
//   fixtures/vite-app/   a Vite app: `vite build` must bundle the module worker and the .wasm
// Each is served from its own folder on 127.0.0.1 and opened in headless Chromium: a 2-worker
// pool trains on a few sentences and generates with a fixed seed into #out (errors go to #err).
// Checks: non-empty text, the same text on a second page load, the same text from both apps,
// no console errors, and no request to any origin but the local server.
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh runs scripts/build-pkg.sh first;
// UELLM_PKG_DIR=/path tests another unpacked package folder). Vite is installed only inside the
// temp copy of the fixture (from npm's cache when warm), never into the repo; temp dirs are
// removed at the end (under UELLM_E2E_TMP when set).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
 * `/index.html?seed=…` in a fresh page and reads the result.
 */
async function openApp(root, label) {
  const server = typeof root === 'string' ? await startServer({ '/': root }) : { url: root.url, close: async () => {} };
  const origin = server.url;
  const requests = [];
  const foreign = [];
  const consoleErrors = [];
  // Every request of the page and its workers goes through here; other origins are refused.
  const router = (route) => {
    const url = route.request().url();
    requests.push(url);
    if (new URL(url).origin !== origin && !url.startsWith('data:')) {
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
  try {
    const t0 = performance.now();
    await page.goto(`${origin}/index.html?seed=42`);
    await page.waitForFunction(() => document.body?.dataset.done === 'true', null, { timeout: 30_000 });
    timings[label] = Math.round(performance.now() - t0);
    const r = await page.evaluate(() => ({
      out: document.getElementById('out').textContent,
      err: document.getElementById('err').textContent,
      ngrams: document.body.dataset.ngrams,
      tokens: Number(document.body.dataset.tokens),
    }));
    return { ...r, requests, foreign, consoleErrors, origin };
  } finally {
    await page.close();
    await context.unroute('**/*', router);
    await server.close();
  }
}

function checkRun(r, what) {
  assert.equal(r.err, '', `${what}: #err says: ${r.err}`);
  assert.ok(r.out.trim().length > 0, `${what}: #out is empty`);
  assert.ok(r.tokens > 0, `${what}: no tokens`);
  assert.deepEqual(r.foreign, [], `${what}: requests to other origins`);
  assert.deepEqual(r.consoleErrors, [], `${what}: console errors`);
  // The worker and the wasm were fetched (so worker requests are seen by the check above).
  assert.ok(r.requests.some((u) => /\.wasm(\?|$)/.test(u)), `${what}: no .wasm request in ${r.requests.join(' ')}`);
  assert.ok(r.requests.some((u) => /worker[^/]*\.js(\?|$)/.test(u)), `${what}: no worker request in ${r.requests.join(' ')}`);
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

describe('the packed package in outside apps (plain ES modules, Vite)', { concurrency: false }, () => {
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
});
