// The browser memory benchmark (run by scripts/bench-browser.sh; issue 14): the page's memory
// with a model loaded into a pool of 1, 2, 4, 8 and 16 workers, in headless Chromium.
//
//   node bench/browser/memory.mjs --corpus-file F --json-out OUT.json [--order 5]
//        [--workers 1,2,4,8,16] [--modes plain,isolated]
//
// The model: F trained at --order by the package's own WebAssembly core under Node
// (pkg/core-node.js, Trainer.finishFile: the file a `train()` in the page makes), served to the
// page, which holds it as a Blob and hands it to the pool with `loadBytes`.
//
// Per mode and worker count, a fresh browser (nothing left from the last count) goes through:
// the page loaded (the baseline) → create({workers: N}) → loadBytes (until all N workers serve
// it) → unload() → loadBytes again. After each step: a full garbage collection in the page and
// in every worker (`--js-flags=--expose-gc`, so that the model file's transient copies in the
// workers' JavaScript heaps, which V8 would free at some later point anyway, do not count), then
// the figures of every Chromium process from /proc/PID/smaps_rollup: RSS, PSS (shared pages
// split between the processes that map them) and USS (private pages: what ending the process
// would free). Chromium runs dedicated workers as threads of the page's renderer process (found
// as the renderer with N + 1 DedicatedWorker threads; Chromium runs other renderers beside it),
// so the page's memory is that process's: the table shows its figures less the baseline's, and
// the PSS of all of Chromium's processes likewise. Beside it the pool's own figures
// (`health().memory`: each worker's WebAssembly.Memory `buffer.byteLength` and its model's
// `memoryBytes`). Mode `isolated` serves the page cross-origin isolated (COOP/COEP), where the
// page may also ask the browser itself (`performance.measureUserAgentSpecificMemory`, with
// `--enable-blink-features=ForceEagerMeasureMemory` so that it answers at once); Chromium counts
// the JavaScript heaps there, not WebAssembly memory, so it shows what a worker costs besides its
// wasm memory.
import { readFileSync, readdirSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, chromium, startServer } from './deps.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
  '--js-flags=--expose-gc', '--enable-blink-features=ForceEagerMeasureMemory'];
const MB = 1e6;

function parseArgs(argv) {
  const o = { order: 5, workers: [1, 2, 4, 8, 16], modes: ['plain', 'isolated'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--corpus-file') o.corpusFile = resolve(val());
    else if (a === '--json-out') o.jsonOut = resolve(val());
    else if (a === '--order') o.order = Number(val());
    else if (a === '--workers') o.workers = val().split(',').map(Number);
    else if (a === '--modes') o.modes = val().split(',');
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.corpusFile || !o.jsonOut) throw new Error('--corpus-file and --json-out are required');
  if (!o.workers.every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--workers: a list of integers ≥ 1');
  if (!o.modes.every((m) => m === 'plain' || m === 'isolated')) throw new Error('--modes: plain and/or isolated');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const t00 = Date.now();
const say = (m) => process.stderr.write(`bench-memory: [${((Date.now() - t00) / 1000).toFixed(1)} s] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the model ----
const tmp = mkdtempSync(join(tmpdir(), 'uellm-bench-memory-'));
const modelFile = join(tmp, 'model.uelm');
let modelFileBytes = 0;
say(`training ${opts.corpusFile} at order ${opts.order} with pkg/core-node.js`);
{
  const core = await import(pathToFileURL(join(ROOT, 'pkg/core-node.js')).href);
  await core.default();
  const trainer = new core.Trainer({ maxPatternLength: opts.order });
  trainer.feedBytes(readFileSync(opts.corpusFile));
  const { bytes, info } = trainer.finishFile();
  writeFileSync(modelFile, bytes);
  modelFileBytes = bytes.length;
  say(`model: ${bytes.length} bytes, ${info.patterns} patterns`);
}

// ---- /proc ----
/** RSS, PSS and USS (private clean + dirty) of a process, in bytes; null when it is gone. */
function smaps(pid) {
  let text;
  try { text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'); } catch { return null; }
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), uss: kb('Private_Clean') + kb('Private_Dirty') };
}

/** Names of a process's threads (dedicated workers run as threads of the renderer). */
function threadNames(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).map((t) => {
      try { return readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim(); } catch { return '?'; }
    });
  } catch { return []; }
}

/**
 * Every Chromium process (CDP SystemInfo.getProcessInfo) with its type and /proc figures, and
 * for renderers the number of their DedicatedWorker threads.
 */
async function processes(cdp) {
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  const out = [];
  for (const p of processInfo) {
    const m = smaps(p.id);
    if (!m) continue;
    const workerThreads = p.type === 'renderer' ? threadNames(p.id).filter((t) => t === 'DedicatedWorker').length : 0;
    out.push({ pid: p.id, type: p.type, ...m, workerThreads });
  }
  return out;
}

const sumOf = (list, key) => list.reduce((s, p) => s + p[key], 0);

// ---- the browser ----
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
let chromiumVersion = null;
try { chromiumVersion = execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* unknown */ }
const mounts = { '/node_modules/ultra-efficient-llm/': join(ROOT, 'pkg'), '/bench/': HERE, '/model/': tmp };
const servers = {
  plain: await startServer(mounts),
  isolated: await startServer(mounts, { headers: { 'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp' } }),
};

/**
 * One fresh browser: the steps of the top of this file with `workers` workers. Returns each
 * step's figures.
 */
async function measure(mode, workers) {
  const browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
  const consoleLines = [];
  try {
    const cdp = await browser.newBrowserCDPSession();
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(`[${m.type()}] ${m.text()}`); });
    page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
    await page.goto(`${servers[mode].url}/bench/memory.html`);
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
    const env = await page.evaluate((u) => window.mem.fetchModel(u), '/model/model.uelm');
    if (mode === 'isolated' && !env.crossOriginIsolated) throw new Error('the isolated page is not crossOriginIsolated');

    /** GC everywhere, a moment to settle, then every process's figures. */
    const snapshot = async (step, pool) => {
      await page.evaluate(() => globalThis.gc?.());
      for (const w of page.workers()) await w.evaluate(() => globalThis.gc?.()).catch(() => {});
      await sleep(500);
      const procs = await processes(cdp);
      const ua = mode === 'isolated' ? await page.evaluate(() => window.mem.uaMemory()) : null;
      return { step, processes: procs, pool: pool ?? null, ua,
        all: { rss: sumOf(procs, 'rss'), pss: sumOf(procs, 'pss'), uss: sumOf(procs, 'uss'), count: procs.length } };
    };

    const steps = [];
    steps.push(await snapshot('baseline'));
    const created = await page.evaluate((n) => window.mem.create(n), workers);
    steps.push({ ...(await snapshot('pool', created.memory)), ms: created.ms });
    const loaded = await page.evaluate(() => window.mem.load());
    steps.push({ ...(await snapshot('loaded', loaded.memory)), ms: loaded.ms, info: loaded.info });
    const unloaded = await page.evaluate(() => window.mem.unload());
    steps.push({ ...(await snapshot('unloaded', unloaded.memory)), ms: unloaded.ms });
    const reloaded = await page.evaluate(() => window.mem.load());
    steps.push({ ...(await snapshot('reloaded', reloaded.memory)), ms: reloaded.ms });
    await page.evaluate(() => window.mem.terminate());
    // The page's renderer: the one whose threads include the pool's workers (N + the training
    // worker). Chromium runs others beside it (its own UI pages, a spare renderer).
    const pool = steps.find((s) => s.step === 'pool').processes.filter((p) => p.workerThreads === workers + 1);
    if (pool.length !== 1) throw new Error(`no single renderer with ${workers + 1} worker threads: ${JSON.stringify(steps[1].processes)}`);
    const pagePid = pool[0].pid;
    for (const s of steps) {
      s.page = s.processes.find((p) => p.pid === pagePid) ?? null;
      if (!s.page) throw new Error(`the page's renderer (${pagePid}) is gone at step ${s.step}`);
    }
    return { mode, workers, env, pagePid, steps, consoleLines };
  } finally {
    await browser.close().catch(() => {});
  }
}

const results = [];
let failure = null;
try {
  for (const mode of opts.modes) {
    for (const n of opts.workers) {
      say(`${mode}: ${n} worker(s)`);
      const r = await measure(mode, n);
      const at = Object.fromEntries(r.steps.map((s) => [s.step, s]));
      say(`${mode}, ${n}: page renderer RSS ${fmtMB(at.baseline.page.rss)} → ${fmtMB(at.loaded.page.rss)} MB loaded, ` +
        `${fmtMB(at.unloaded.page.rss)} unloaded, ${fmtMB(at.reloaded.page.rss)} reloaded; ` +
        `${at.loaded.page.workerThreads} worker threads`);
      results.push(r);
    }
  }
} catch (e) {
  failure = e;
} finally {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
}
if (failure) throw failure;

function fmtMB(bytes, d = 1) {
  if (typeof bytes !== 'number' || Number.isNaN(bytes)) return '-';
  return (bytes / MB).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

// ---- the table ----
/** Per run: the figures of the table (MB deltas against the baseline, the pool's own). */
function row(r) {
  const at = Object.fromEntries(r.steps.map((s) => [s.step, s]));
  const d = (step, scope, key) => at[step][scope][key] - at.baseline[scope][key];
  const perWorker = at.loaded.pool.workers;
  const ua = at.loaded.ua;
  return {
    mode: r.mode, workers: r.workers,
    rendererRss: d('loaded', 'page', 'rss'), rendererPss: d('loaded', 'page', 'pss'),
    rendererUss: d('loaded', 'page', 'uss'), allPss: d('loaded', 'all', 'pss'),
    poolRss: d('pool', 'page', 'rss'),
    unloadedRss: d('unloaded', 'page', 'rss'), reloadedRss: d('reloaded', 'page', 'rss'),
    wasmPerWorker: perWorker.map((w) => w.wasmBytes), modelPerWorker: perWorker.map((w) => w.modelBytes),
    poolWasm: at.loaded.pool.wasmBytes, poolTotalWasm: at.loaded.pool.totalWasmBytes,
    reloadedWasm: at.reloaded.pool.wasmBytes, unloadedModel: at.unloaded.pool.modelBytes,
    uaBytes: ua ? ua.bytes - (at.baseline.ua?.bytes ?? 0) : null,
    workerThreads: at.loaded.page.workerThreads, baselinePageRss: at.baseline.page.rss,
    loadedPageRss: at.loaded.page.rss,
  };
}
const rows = results.map(row);
// Per extra worker: what each worker beyond the first adds, against the same mode's 1-worker run.
for (const x of rows) {
  const one = rows.find((y) => y.mode === x.mode && y.workers === 1);
  x.perExtraWorkerRss = one && x.workers > 1 ? (x.rendererRss - one.rendererRss) / (x.workers - 1) : null;
}
const range = (xs) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? fmtMB(lo) : `${fmtMB(lo)}–${fmtMB(hi)}`;
};
const header = ['page', 'workers', 'page RSS Δ', 'PSS Δ', 'USS Δ', 'all PSS Δ', 'per extra worker (RSS)',
  'no model (RSS Δ)', 'unloaded', 'reloaded', 'wasm memory per worker', 'model per worker', 'Σ wasm (pool)', 'UA-specific Δ (JS heaps)'];
const cells = rows.map((x) => [x.mode, String(x.workers), fmtMB(x.rendererRss), fmtMB(x.rendererPss), fmtMB(x.rendererUss),
  fmtMB(x.allPss), x.perExtraWorkerRss === null ? '-' : fmtMB(x.perExtraWorkerRss), fmtMB(x.poolRss), fmtMB(x.unloadedRss), fmtMB(x.reloadedRss),
  range(x.wasmPerWorker), range(x.modelPerWorker), fmtMB(x.poolTotalWasm), x.uaBytes === null ? '-' : fmtMB(x.uaBytes)]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
const model = results[0]?.steps.find((s) => s.step === 'loaded')?.info;
const out = [];
out.push(`uellm browser memory: ${chromiumVersion ?? 'chromium'} headless, ${cpus().length} CPUs, ` +
  `${fmtMB(totalmem(), 0)} MB RAM; model: ${basename(opts.corpusFile)} order ${opts.order} ` +
  `(a ${fmtMB(modelFileBytes)} MB file, memoryBytes ${fmtMB(model?.memoryBytes)} MB)`);
out.push('MB (10^6 bytes). Δ = against the same page before create() (same browser); page = the page\'s renderer ' +
  'process (its dedicated workers are threads of it); all = every Chromium process (PSS). Model loaded in all ' +
  'workers unless the column says otherwise; after a GC in the page and every worker. Per extra worker: ' +
  '(page RSS Δ − the 1-worker run\'s) / (N − 1). wasm/model per worker: the pool\'s own figures ' +
  '(health().memory); Σ wasm: generation and training workers.');
out.push('');
out.push(line(header));
out.push(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const c of cells) out.push(line(c));
process.stdout.write(out.join('\n') + '\n');

const doc = {
  tool: 'scripts/bench-browser.sh (bench/browser/memory.mjs)',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, memoryBytes: totalmem(), chromium: chromiumVersion, chromiumArgs: ARGS, node: process.version },
  settings: opts,
  model: model ?? null,
  table: rows,
  runs: results,
  elapsedSeconds: (Date.now() - t00) / 1000,
};
mkdirSync(dirname(opts.jsonOut), { recursive: true });
writeFileSync(opts.jsonOut, JSON.stringify(doc, null, 2) + '\n');
process.stdout.write(`\nwrote ${opts.jsonOut}\n`);
