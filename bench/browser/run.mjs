// The browser benchmark's driver (run by scripts/bench-browser.sh): serves pkg/ and this folder on
// 127.0.0.1, opens bench.html in headless Chromium (a fresh profile in a temporary folder), runs
// the steps of bench.js `--runs` times, and before each browser run's core benchmark the native
// benchmark (`uellm-bench --runs 1` on the same corpus, --native-cmd) twice: as built, and with
// `--like-wasm` (one thread, 4 KiB pages: what a browser gives WebAssembly, so that ratio shows
// what WebAssembly itself costs); prints the table and writes every raw run and the medians as
// JSON.
//
// The machines this runs on are noisy (their speed drifts over tens of seconds), so each
// wasm/native ratio is taken within a run, from a native and a browser measurement made one
// right after the other, and the table shows the median of those paired ratios. Generation is
// paired closer still: one native `uellm-bench --generation-slices` process (the same model,
// trained by `uellm train` at the start, --train-cmd) times the same requests (same seeds)
// right before and right after each browser slice of them, so that a slice's ratio compares
// the two runtimes within about a tenth of a second.
//
//   node bench/browser/run.mjs --corpus-file F --native-cmd target/release/uellm-bench --json-out OUT.json
//        [--train-cmd target/release/uellm] [--native-requests 2000] [--runs 3] [--smoke] [--order 5] [--workers 4]
// (--train-cmd defaults to the `uellm` beside --native-cmd).
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ROOT, chromium, startServer } from './deps.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
  // Extra flags for experiments, e.g. UELLM_BENCH_CHROMIUM_ARGS='--js-flags=--no-liftoff'.
  ...(process.env.UELLM_BENCH_CHROMIUM_ARGS ?? '').split(/\s+/).filter(Boolean)];

function parseArgs(argv) {
  const o = { runs: 3, smoke: false, order: 5, workers: 4, nativeRequests: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--order') o.order = Number(val());
    else if (a === '--workers') o.workers = Number(val());
    else if (a === '--corpus-file') o.corpusFile = resolve(val());
    else if (a === '--native-cmd') o.nativeCmd = resolve(val());
    else if (a === '--train-cmd') o.trainCmd = resolve(val());
    else if (a === '--native-requests') o.nativeRequests = Number(val());
    else if (a === '--json-out') o.jsonOut = resolve(val());
    // Recorded only: bench-browser.sh pins this process (and so Chromium and uellm) with taskset.
    else if (a === '--pinned-cpu') o.pinnedCpu = Number(val());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be an integer ≥ 1');
  if (!o.corpusFile || !o.jsonOut) throw new Error('--corpus-file and --json-out are required');
  if (o.nativeCmd && !o.trainCmd) o.trainCmd = join(dirname(o.nativeCmd), 'uellm');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
/** Request counts per run. */
const plan = opts.smoke
  ? { tokens: 100, warmup: 20, sequential: 20, batches: 5, concurrency: 3, throughput: 200, inFlight: 16,
    longRequests: 2, longTokens: 500, coreRequests: 200, coreWarmup: 20 }
  : { tokens: 100, warmup: 200, sequential: 200, batches: 50, concurrency: 3, throughput: 2000, inFlight: 16,
    longRequests: 50, longTokens: 2000, coreRequests: 2000, coreWarmup: 1000 };

const t00 = Date.now();
const say = (m) => process.stderr.write(`bench-browser: [${((Date.now() - t00) / 1000).toFixed(1)} s] ${m}\n`);

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** Browser generation slices per run and kind (100-token requests in the core worker, long
 *  requests through the pool), each between two native ones. */
const SLICES = 5;
/** Requests per group in the browser's timing (its clock ticks in 100 µs steps); native groups alike. */
const CORE_GROUP = 100;

/**
 * A run's generation figures paired slice by slice: per browser slice, its time over the mean of
 * the native slices right before and after it; the run's ratio is the median over its slices.
 */
function slicePairs(raw) {
  const core = raw.coreSlices;
  return {
    coreRatio: median(core.map((x) => x.wasm.ms / (1000 * bracket(x.before, x.after, 'seconds')))),
    coreUsRatio: median(core.map((x) => x.wasm.usPerRequest / bracket(x.before, x.after, 'us_per_request'))),
    longRatio: median(raw.longSlices.map((x) => x.wasm.workerMs / (1000 * bracket(x.before, x.after, 'seconds')))),
    nativeCoreTokensPerSecond: sum(core.map((x) => x.before.tokens + x.after.tokens)) /
      sum(core.map((x) => x.before.seconds + x.after.seconds)),
    nativeCoreUsPerRequest: median(core.map((x) => bracket(x.before, x.after, 'us_per_request'))),
    nativeLongTokensPerSecond: sum(raw.longSlices.map((x) => x.before.tokens + x.after.tokens)) /
      sum(raw.longSlices.map((x) => x.before.seconds + x.after.seconds)),
  };
}

// ---- native figures: `uellm-bench --runs 1` before each browser run ----
/**
 * One native run on the corpus: the `median` figures of `uellm-bench` (of its one run).
 * `likeWasm`: with `--like-wasm` (one thread, no huge pages, as WebAssembly runs in a browser).
 */
function nativeRun(tag, likeWasm = false) {
  if (!opts.nativeCmd) return null;
  const out = join(tmp, `native-${tag}${likeWasm ? '-like-wasm' : ''}.json`);
  execFileSync(opts.nativeCmd, [opts.corpusFile, '--runs', '1', '--requests', String(opts.nativeRequests),
    '--shaped-requests', '1', '--json-out', out, ...(likeWasm ? ['--like-wasm'] : [])],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const doc = JSON.parse(readFileSync(out, 'utf8'));
  const c = doc.corpora[0];
  return { doc, figures: { ...c.median, modelFileBytes: c.model_file_bytes, patterns: c.patterns,
    requests: doc.settings.requests, tokensPerRequest: doc.settings.tokens_per_request } };
}

// ---- native generation in slices, alternating with the browser's ----
/**
 * One `uellm-bench --generation-slices MODEL` process for the whole benchmark:
 * `slice(requests, tokens, seed0, group)` times that many `generate` requests (seeds seed0..) and
 * resolves to its answer (tokens, seconds, us_per_request: the median over the means of groups of
 * `group` requests, as the browser side measures them).
 */
function nativeSlicer(model) {
  const child = spawn(opts.nativeCmd, ['--generation-slices', model], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let exited = null;
  createInterface({ input: child.stdout }).on('line', (l) => waiting.shift()?.resolve(JSON.parse(l)));
  child.on('exit', (code) => {
    exited = `uellm-bench --generation-slices exited (${code})`;
    for (const w of waiting.splice(0)) w.reject(new Error(exited));
  });
  return {
    slice(requests, tokens, seed0, group = 1) {
      if (exited) return Promise.reject(new Error(exited));
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        child.stdin.write(`${requests} ${tokens} ${seed0} ${group}\n`);
      });
    },
    close() { child.stdin.end(); },
  };
}
/**
 * `total` requests of `tokens` tokens (seeds seed0..) in SLICES slices: each timed in the browser
 * by `browserSlice(requests, seed0)`, between two native slices of the same requests (native
 * request times over groups of `group`, as the browser side takes them).
 */
async function pairedSlices(total, tokens, seed0, group, browserSlice) {
  const out = [];
  const per = Math.ceil(total / SLICES);
  for (let i = 0; i < total; i += per) {
    const k = Math.min(per, total - i);
    const before = await slicer?.slice(k, tokens, seed0 + i, group);
    const wasm = await browserSlice(k, seed0 + i);
    const after = await slicer?.slice(k, tokens, seed0 + i, group);
    out.push({ wasm, before, after });
  }
  return out;
}
/** The mean of the native slices right before and after a browser slice. */
const bracket = (a, b, key) => (a[key] + b[key]) / 2;

// ---- the wasm file ----
const wasmPath = join(ROOT, 'pkg/ultra_efficient_llm_bg.wasm');
const wasmBytes = readFileSync(wasmPath);
const wasm = { file: 'pkg/ultra_efficient_llm_bg.wasm', rawBytes: wasmBytes.length,
  gzipBytes: gzipSync(wasmBytes, { level: 9 }).length };

// ---- the browser ----
const tmp = mkdtempSync(join(tmpdir(), 'uellm-bench-browser-'));
const corpusDir = dirname(opts.corpusFile);
const corpusName = basename(opts.corpusFile);
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
let chromiumVersion = null;
try { chromiumVersion = execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { /* unknown */ }

const server = await startServer({
  '/node_modules/ultra-efficient-llm/': join(ROOT, 'pkg'),
  '/bench/': HERE,
  '/corpus/': corpusDir,
  // The starter model (as scripts/build-www.sh makes the website's), for loadUrl.
  '/model/': tmp,
});
let context = null;
let slicer = null;
const consoleLines = [];
const runs = [];
let failure = null;
try {
  context = await chromium.launchPersistentContext(join(tmp, 'profile'), { executablePath, headless: true, args: ARGS });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  await page.goto(`${server.url}/bench/bench.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
  const ev = (fn, arg) => page.evaluate(fn, arg);
  if (opts.nativeCmd) {
    const model = join(tmp, 'native.uelm');
    say(`native: uellm train --order ${opts.order} (the model the generation slices use)`);
    execFileSync(opts.trainCmd, ['train', opts.corpusFile, '-o', model, '--order', String(opts.order)],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    slicer = nativeSlicer(model);
    await slicer.slice(plan.coreWarmup, plan.tokens, 1_000_000);
  }
  // Typed in the keystroke figure: every 500th line of the corpus, 600 characters in all.
  const keystrokeText = readFileSync(opts.corpusFile, 'utf8').split('\n').filter((_, i) => i % 500 === 0)
    .join(' ').slice(0, 600);
  let starter = null;
  if (opts.trainCmd) {
    execFileSync(opts.trainCmd, ['train', opts.corpusFile, '-o', join(tmp, 'starter.uelm'), '--order', '5',
      '--min-frequency', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
    starter = { path: '/model/starter.uelm', bytes: statSync(join(tmp, 'starter.uelm')).size };
  }
  const corpusInfo = await ev((u) => window.bench.loadCorpus(u), `/corpus/${encodeURIComponent(corpusName)}`);
  say(`corpus ${opts.corpusFile} (${corpusInfo.bytes} bytes); ${opts.runs} run(s), ${opts.workers} workers, order ${opts.order}`);

  for (let r = 1; r <= opts.runs; r++) {
    const tag = `run ${r}/${opts.runs}`;
    const name = `bench-run-${r}`;
    const raw = {};
    say(`${tag}: create({workers: ${opts.workers}})`);
    raw.create = await ev((w) => window.bench.createPool(w), opts.workers);
    if (starter) {
      say(`${tag}: loadUrl() of the starter model (order 5, min. frequency 2, ${starter.bytes} bytes), cold`);
      raw.loadUrl = await ev((u) => window.bench.loadUrl(u), starter.path);
    }
    say(`${tag}: train() at order ${opts.order} in the training worker`);
    raw.train = await ev((o) => window.bench.train(o), opts.order);
    say(`${tag}: save() / load() through IndexedDB`);
    raw.save = await ev((n) => window.bench.save(n), name);
    raw.load = await ev((n) => window.bench.load(n), name);
    say(`${tag}: core benchmark in a dedicated worker (IndexedDB load, training, ${plan.coreRequests} requests)`);
    // The native run right before the core benchmark, whose figures it is paired with.
    if (opts.nativeCmd) say(`${tag}: native: uellm-bench --runs 1 --requests ${opts.nativeRequests} (and again with --like-wasm)`);
    const nat = nativeRun(r);
    const natLike = nativeRun(r, true);
    raw.coreInit = await ev(() => window.bench.core.start());
    raw.coreLoadStored = await ev((n) => window.bench.core.loadStored(n), name);
    raw.coreTrain = await ev((o) => window.bench.core.train(o), opts.order);
    // Warm-up first (seeds 1,000,000..): wasm code starts in the baseline tier and is optimised
    // once hot; the figure is the steady state, like the native one. In 4 fresh core workers
    // (2026-11-27, 40 slices of 400 requests each), the first slice took 2.5-4x as long as
    // later ones and the second about 1.2x; from the third on the times stayed level.
    raw.coreWarmup = await ev(({ n, t }) => window.bench.core.generate(n, t, 1_000_000), { n: plan.coreWarmup, t: plan.tokens });
    raw.coreSlices = await pairedSlices(plan.coreRequests, plan.tokens, 0, CORE_GROUP,
      (n, s) => ev(({ n, t, s }) => window.bench.core.generate(n, t, s), { n, t: plan.tokens, s }));
    await ev(() => window.bench.core.stop());
    say(`${tag}: pool generation (warm-up ${plan.warmup}, ${plan.sequential} sequential, ${plan.batches}×${plan.concurrency} concurrent, ${plan.throughput} for throughput, ${plan.longRequests}×${plan.longTokens} tokens)`);
    raw.warmup = await ev(({ n, k, t }) => window.bench.throughput(n, k, t, 1_000_000), { n: plan.warmup, k: 8, t: plan.tokens });
    raw.sequential = await ev(({ n, t }) => window.bench.sequential(n, t, 0), { n: plan.sequential, t: plan.tokens });
    raw.concurrent = await ev(({ b, c, t }) => window.bench.concurrent(b, c, t, 10_000), { b: plan.batches, c: plan.concurrency, t: plan.tokens });
    raw.throughput = await ev(({ n, k, t }) => window.bench.throughput(n, k, t, 20_000), { n: plan.throughput, k: plan.inFlight, t: plan.tokens });
    raw.longSlices = await pairedSlices(plan.longRequests, plan.longTokens, 50_000, 1,
      (n, s) => ev(({ n, t, s }) => window.bench.longGeneration(n, t, s), { n, t: plan.longTokens, s }));
    // The Type tab's work per keystroke, on the trained model: a few sentences of the corpus.
    raw.keystrokes = await ev((t) => window.bench.keystrokes(t), keystrokeText);
    await ev((n) => window.bench.remove(n), name);
    await ev(() => window.bench.terminate());

    const fig = {
      poolStartMs: raw.create.ms,
      trainWorkerMs: raw.train.workerDoneMs,
      trainWallMs: raw.train.wallMs,
      trainMaxGapMs: raw.train.maxGapMs,
      trainLongTasks: raw.train.longTasks,
      trainLongestTaskMs: raw.train.longestTaskMs,
      saveMs: raw.save.ms,
      loadUrlMs: raw.loadUrl?.ms ?? null,
      keystrokeP50Ms: raw.keystrokes?.p50 ?? null,
      keystrokeP99Ms: raw.keystrokes?.p99 ?? null,
      keystrokeFrameP50Ms: raw.keystrokes?.frameP50 ?? null,
      keystrokeFrameP99Ms: raw.keystrokes?.frameP99 ?? null,
      loadUrlDownloadMs: raw.loadUrl?.timings?.downloadMs ?? null,
      loadPoolMs: raw.load.ms,
      // "load from IndexedDB into one worker": the whole loadStored op of the pool worker that
      // read the file (read, header check, parse), from its own timings, with the dedicated core
      // worker's figure beside it.
      idbLoadMs: raw.load.timings?.totalMs ?? null,
      idbReadMs: raw.load.timings?.readMs ?? null,
      idbParseMs: raw.load.timings?.parseMs ?? null,
      // save() cached the index image, so load() reads and loads that (no build).
      idbImageMs: raw.load.timings?.fromImageMs ?? null,
      loadAllReadyMs: raw.load.allReadyMs ?? null,
      coreIdbLoadMs: raw.coreLoadStored.totalMs,
      coreIdbReadMs: raw.coreLoadStored.readMs,
      coreIdbParseMs: raw.coreLoadStored.parseMs,
      trainFinishMs: raw.train.timings?.trainMs ?? null,
      trainToBytesMs: raw.train.timings?.toBytesMs ?? null,
      trainReadMs: raw.train.timings?.readMs ?? null,
      trainBlobMs: raw.train.timings?.blobMs ?? null,
      trainInstallMs: raw.train.timings?.installMs ?? null,
      trainAllReadyMs: raw.train.allReadyMs ?? null,
      throughputOverheadMs: raw.throughput.overheadMeanMs ?? null,
      throughputWorkerMs: raw.throughput.workerMeanMs ?? null,
      coreTrainMs: raw.coreTrain.trainMs,
      coreFromBytesMs: raw.coreTrain.fromBytesMs,
      coreTokensPerSecond: sum(raw.coreSlices.map((x) => x.wasm.tokens)) / (sum(raw.coreSlices.map((x) => x.wasm.ms)) / 1000),
      coreUsPerRequest: median(raw.coreSlices.map((x) => x.wasm.usPerRequest)),
      singleP50Ms: raw.sequential.p50,
      singleP95Ms: raw.sequential.p95,
      concurrentBatchP50Ms: raw.concurrent.batch.p50,
      concurrentRequestP50Ms: raw.concurrent.request.p50,
      requestsPerSecond: raw.throughput.requestsPerSecond,
      workerTokensPerSecond: sum(raw.longSlices.map((x) => x.wasm.tokens)) / (sum(raw.longSlices.map((x) => x.wasm.workerMs)) / 1000),
    };
    runs.push({ figures: fig, raw, native: nat?.figures ?? null, nativeDocument: nat?.doc ?? null,
      nativeLikeWasm: natLike?.figures ?? null, slices: slicer ? slicePairs(raw) : null });
    say(`${tag}: train ${fmt(fig.trainWorkerMs, 0)} ms (worker) · gap ${fmt(fig.trainMaxGapMs, 1)} ms · ` +
      `IDB→worker ${fmt(fig.idbLoadMs, 1)} ms · load() ${fmt(fig.loadPoolMs, 0)} ms · p50 ${fmt(fig.singleP50Ms, 3)} ms · ${fmt(fig.requestsPerSecond, 0)} req/s`);
  }
} catch (e) {
  failure = e;
} finally {
  slicer?.close();
  await context?.close().catch(() => {});
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
}
if (failure) {
  for (const l of consoleLines) process.stderr.write(`  ${l}\n`);
  throw failure;
}

const medians = {};
for (const k of Object.keys(runs[0].figures)) medians[k] = median(runs.map((r) => r.figures[k]));
// Native: the median of the per-run figures; a ratio: the median of the per-run (paired) ratios.
/** Per key, the median over `list` (objects with the same keys); null for an empty list. */
const medianFigures = (list) => (list.length
  ? Object.fromEntries(Object.keys(list[0]).map((k) => [k, median(list.map((x) => x[k]))]))
  : null);
const nativeRuns = runs.map((r) => r.native).filter(Boolean);
const native = medianFigures(nativeRuns);
const likeRuns = runs.map((r) => r.nativeLikeWasm).filter(Boolean);
const nativeLike = medianFigures(likeRuns);

// ---- the table ----
function fmt(x, d = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  return Number(x).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
const m = medians;
const n = native ?? {};
const has = (x) => typeof x === 'number' && !Number.isNaN(x);
const timeRatio = (wasmTime, nativeTime) => (has(wasmTime) && has(nativeTime) && nativeTime > 0 ? wasmTime / nativeTime : null);
const rateRatio = (wasmRate, nativeRate) => (has(wasmRate) && has(nativeRate) && wasmRate > 0 ? nativeRate / wasmRate : null);
const reqPerSec = (x) => (has(x?.text_tokens_per_second) ? x.text_tokens_per_second / (x.tokensPerRequest ?? 100) : null);
const nativeReqPerSec = reqPerSec(n);
/** The median over runs of `ratio(wasm figures, native figures)` of the same run, the native
 *  figures being the run's `key` (`native`, or `nativeLikeWasm`: the run with `--like-wasm`). */
const pairedWith = (key) => (ratio) => median(runs.map((r) => (r[key] ? ratio(r.figures, r[key]) : null)));
const paired = pairedWith('native');
const pairedLike = pairedWith('nativeLikeWasm');
const nl = nativeLike ?? {};
const sliceRuns = runs.map((r) => r.slices).filter(Boolean);
const sl = medianFigures(sliceRuns) ?? {};
/** The median over runs of a run's slice-paired ratio `key`. */
const sliceRatio = (key) => median(sliceRuns.map((x) => x[key]));
const LIKE = 'native --like-wasm';
const KB = 1000;
const rows = [
  // id, figure, browser value, browser text, native text, ratio (wasm/native time), target text, met
  { id: 'train_core', figure: `training, order ${opts.order}, core in a worker (Trainer → Model)`,
    browser: m.coreTrainMs, unit: 'ms', text: `${fmt(m.coreTrainMs / 1000, 3)} s`,
    native: has(n.train_seconds) ? `${fmt(n.train_seconds, 3)} s` : '-', ratio: paired((f, x) => timeRatio(f.coreTrainMs, x.train_seconds * 1000)),
    target: '≤ 1.5× native', check: (r) => r.ratio !== null && r.ratio <= 1.5 },
  // The same wasm figure against native code run as WebAssembly runs (one thread, 4 KiB pages):
  // what WebAssembly itself costs, apart from what a browser withholds. No target: explanation.
  { id: 'train_core_like_wasm', figure: `  the same, against ${LIKE} (1 thread, 4 KiB pages)`,
    browser: m.coreTrainMs, unit: 'ms', text: `${fmt(m.coreTrainMs / 1000, 3)} s`,
    native: has(nl.train_seconds) ? `${fmt(nl.train_seconds, 3)} s` : '-',
    ratio: pairedLike((f, x) => timeRatio(f.coreTrainMs, x.train_seconds * 1000)), target: '-' },
  // The training worker makes the model file only (Trainer.finishFile: no index): compared with
  // the same native call (train_file_seconds; train_seconds from an older CLI).
  { id: 'train_worker', figure: 'training via train(): until the training worker is done (file only, fresh worker)',
    browser: m.trainWorkerMs, unit: 'ms', text: `${fmt(m.trainWorkerMs / 1000, 3)} s`,
    native: has(n.train_file_seconds ?? n.train_seconds) ? `${fmt(n.train_file_seconds ?? n.train_seconds, 3)} s` : '-',
    ratio: paired((f, x) => timeRatio(f.trainWorkerMs, (x.train_file_seconds ?? x.train_seconds) * 1000)),
    target: '≤ 1.5× native', check: (r) => r.ratio !== null && r.ratio <= 1.5 },
  { id: 'train_wall', figure: `train() call → resolve (model in 1 worker) / all ${opts.workers} workers ready`,
    browser: m.trainWallMs, unit: 'ms', text: `${fmt(m.trainWallMs / 1000, 3)} s / ${fmt(m.trainAllReadyMs / 1000, 3)} s`,
    native: '-', ratio: null, target: '-' },
  { id: 'train_gap', figure: 'longest main-thread frame gap during train()',
    browser: m.trainMaxGapMs, unit: 'ms', text: `${fmt(m.trainMaxGapMs, 1)} ms`, native: '-', ratio: null,
    target: '≤ 50 ms', check: (r) => r.browser <= 50 },
  { id: 'train_longtasks', figure: 'long tasks (> 50 ms) during train(): count / longest',
    browser: m.trainLongTasks, unit: 'count', text: `${fmt(m.trainLongTasks, 0)} / ${fmt(m.trainLongestTaskMs, 0)} ms`,
    native: '-', ratio: null, target: '-' },
  { id: 'load_url', figure: 'loadUrl() of the starter model (order 5, min. frequency 2), cold, to first worker ready',
    browser: m.loadUrlMs, unit: 'ms', text: `${fmt(m.loadUrlMs, 1)} ms (download ${fmt(m.loadUrlDownloadMs, 0)})`,
    native: '-', ratio: null, target: '≤ 300 ms', check: (r) => r.browser <= 300 },
  { id: 'keystroke', figure: 'one keystroke as the Type tab answers it (input event → 5 suggestions in the page), p50 / p99',
    browser: m.keystrokeP50Ms, unit: 'ms',
    text: `${fmt(m.keystrokeP50Ms, 2)} / ${fmt(m.keystrokeP99Ms, 2)} ms (to the next frame: ${fmt(m.keystrokeFrameP50Ms, 1)} / ${fmt(m.keystrokeFrameP99Ms, 1)})`,
    native: '-', ratio: null, target: 'p50 ≤ 4 ms, p99 ≤ 16 ms',
    check: (r) => r.browser <= 4 && has(m.keystrokeP99Ms) && m.keystrokeP99Ms <= 16 },
  { id: 'save', figure: 'save() to IndexedDB', browser: m.saveMs, unit: 'ms', text: `${fmt(m.saveMs, 1)} ms`,
    native: '-', ratio: null, target: '-' },
  { id: 'train_phases', figure: 'train(): in the training worker read / finishFile / Blob; install in the first worker',
    browser: m.trainInstallMs, unit: 'ms',
    text: `${fmt(m.trainReadMs, 0)} / ${fmt(m.trainFinishMs, 0)} / ${fmt(m.trainBlobMs, 0)}; ${fmt(m.trainInstallMs, 0)} ms`,
    native: '-', ratio: null, target: '-' },
  { id: 'load_idb_worker', figure: 'load from IndexedDB into one pool worker (its whole loadStored op: the cached index image)',
    browser: m.idbLoadMs, unit: 'ms',
    text: `${fmt(m.idbLoadMs, 1)} ms (read ${fmt(m.idbReadMs, 0)}, ${m.idbImageMs != null ? `fromImage ${fmt(m.idbImageMs, 0)}` : `fromBytes ${fmt(m.idbParseMs, 0)}`})`,
    native: has(n.load_image_ms) ? `${fmt(n.load_image_ms, 1)} ms (from_image)` : '-',
    ratio: paired((f, x) => timeRatio(f.idbLoadMs, x.load_image_ms)),
    target: '≤ 100 ms', check: (r) => r.browser <= 100 },
  { id: 'load_idb_core_worker', figure: 'load from IndexedDB into one worker (read + fromBytes), core worker',
    browser: m.coreIdbLoadMs, unit: 'ms', text: `${fmt(m.coreIdbLoadMs, 1)} ms (${fmt(m.coreIdbReadMs, 0)} + ${fmt(m.coreIdbParseMs, 0)})`,
    native: has(n.load_ms) ? `${fmt(n.load_ms, 1)} ms (from_bytes)` : '-', ratio: paired((f, x) => timeRatio(f.coreIdbLoadMs, x.load_ms)),
    target: '-' },
  { id: 'from_bytes', figure: 'Model.fromBytes in a worker', browser: m.coreFromBytesMs, unit: 'ms',
    text: `${fmt(m.coreFromBytesMs, 1)} ms`, native: has(n.load_ms) ? `${fmt(n.load_ms, 1)} ms` : '-',
    ratio: paired((f, x) => timeRatio(f.coreFromBytesMs, x.load_ms)), target: '-' },
  { id: 'from_image_like_wasm', figure: `Model.fromImage in a pool worker (IndexedDB load), against ${LIKE}`,
    browser: m.idbImageMs, unit: 'ms', text: `${fmt(m.idbImageMs, 1)} ms`,
    native: has(nl.load_image_ms) ? `${fmt(nl.load_image_ms, 1)} ms (1 thread, 4 KiB pages)` : '-',
    ratio: pairedLike((f, x) => timeRatio(f.idbImageMs, x.load_image_ms)), target: '-' },
  { id: 'load_pool', figure: `load() into the pool (${opts.workers} workers), wall (resolves with 1 worker ready)`, browser: m.loadPoolMs, unit: 'ms',
    text: `${fmt(m.loadPoolMs, 1)} ms`, native: '-', ratio: null, target: '-' },
  { id: 'load_pool_all', figure: `load() until all ${opts.workers} workers have the model (background installs)`,
    browser: m.loadAllReadyMs, unit: 'ms', text: `${fmt(m.loadAllReadyMs, 1)} ms`, native: '-', ratio: null, target: '-' },
  { id: 'single_p50', figure: `1 request of ${plan.tokens} tokens via the pool, p50`, browser: m.singleP50Ms, unit: 'ms',
    text: `${fmt(m.singleP50Ms, 3)} ms`, native: has(n.text_us_per_request) ? `${fmt(n.text_us_per_request / 1000, 3)} ms` : '-',
    ratio: paired((f, x) => timeRatio(f.singleP50Ms, x.text_us_per_request / 1000)), target: '≤ 2 ms', check: (r) => r.browser <= 2 },
  { id: 'single_p95', figure: `1 request of ${plan.tokens} tokens via the pool, p95`, browser: m.singleP95Ms, unit: 'ms',
    text: `${fmt(m.singleP95Ms, 3)} ms`, native: '-', ratio: null, target: '-' },
  { id: 'concurrent3', figure: `${plan.concurrency} concurrent requests: batch p50 / request p50`, browser: m.concurrentBatchP50Ms, unit: 'ms',
    text: `${fmt(m.concurrentBatchP50Ms, 3)} / ${fmt(m.concurrentRequestP50Ms, 3)} ms`, native: '-', ratio: null, target: '-' },
  { id: 'throughput', figure: `throughput, ${opts.workers} workers, ${plan.inFlight} in flight`, browser: m.requestsPerSecond, unit: 'req/s',
    text: `${fmt(m.requestsPerSecond, 0)} req/s (wall − worker ${fmt(m.throughputOverheadMs, 3)} ms/req)`, native: nativeReqPerSec ? `${fmt(nativeReqPerSec, 0)} req/s (1 thread)` : '-',
    ratio: paired((f, x) => rateRatio(f.requestsPerSecond, reqPerSec(x))), target: '≥ 5,000 req/s', check: (r) => r.browser >= 5000 },
  // Generation: paired slice by slice with native `--generation-slices` (see slicePairs); the
  // native column is the median of those native slices.
  { id: 'worker_tokens_per_second', figure: `generation in a pool worker (${plan.longRequests}×${plan.longTokens} tokens, stats)`,
    browser: m.workerTokensPerSecond, unit: 'tokens/s', text: `${fmt(m.workerTokensPerSecond, 0)} tokens/s`,
    native: has(sl.nativeLongTokensPerSecond) ? `${fmt(sl.nativeLongTokensPerSecond, 0)} tokens/s (same requests)` : '-',
    ratio: sliceRatio('longRatio'), target: '≤ 1.5× native', check: (r) => r.ratio !== null && r.ratio <= 1.5 },
  { id: 'core_tokens_per_second', figure: `generation, core in a worker (${plan.coreRequests}×${plan.tokens} tokens)`,
    browser: m.coreTokensPerSecond, unit: 'tokens/s', text: `${fmt(m.coreTokensPerSecond, 0)} tokens/s`,
    native: has(sl.nativeCoreTokensPerSecond) ? `${fmt(sl.nativeCoreTokensPerSecond, 0)} tokens/s (same requests)` : '-',
    ratio: sliceRatio('coreRatio'), target: '≤ 1.5× native', check: (r) => r.ratio !== null && r.ratio <= 1.5 },
  { id: 'core_us_per_request', figure: `time of one ${plan.tokens}-token request, core in a worker (median)`,
    browser: m.coreUsPerRequest, unit: 'µs', text: `${fmt(m.coreUsPerRequest, 1)} µs`,
    native: has(sl.nativeCoreUsPerRequest) ? `${fmt(sl.nativeCoreUsPerRequest, 1)} µs` : '-',
    ratio: sliceRatio('coreUsRatio'), target: '≤ 1.5× native', check: (r) => r.ratio !== null && r.ratio <= 1.5 },
  { id: 'sampler_ids', figure: 'sampler only (generate_ids)', browser: null, unit: 'tokens/s',
    text: 'n/a (no wasm binding)', native: has(n.sampler_tokens_per_second) ? `${fmt(n.sampler_tokens_per_second, 0)} tokens/s` : '-',
    ratio: null, target: '-' },
  { id: 'pool_start', figure: `create({workers: ${opts.workers}}) (+1 training worker)`, browser: m.poolStartMs, unit: 'ms',
    text: `${fmt(m.poolStartMs, 1)} ms`, native: '-', ratio: null, target: '-' },
  { id: 'wasm_raw', figure: 'wasm file, raw', browser: wasm.rawBytes, unit: 'bytes', text: `${fmt(wasm.rawBytes / KB, 1)} KB`,
    native: '-', ratio: null, target: '-' },
  { id: 'wasm_gzip', figure: 'wasm file, gzip -9', browser: wasm.gzipBytes, unit: 'bytes', text: `${fmt(wasm.gzipBytes / KB, 1)} KB`,
    native: '-', ratio: null, target: '≤ 200 KB', check: (r) => r.browser <= 200 * KB },
];
for (const r of rows) {
  r.met = r.check ? (has(r.browser) ? r.check(r) : false) : null;
  delete r.check;
}

const header = ['figure', 'browser (wasm)', 'native', 'ratio', 'target', 'met?'];
const cells = rows.map((r) => [r.figure, r.text, r.native, r.ratio === null ? '-' : `${fmt(r.ratio, 2)}×`, r.target,
  r.met === null ? '' : r.met ? 'met' : 'NOT MET']);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
const line = (c) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(' | ')} |`;
const out = [];
out.push(`uellm browser benchmark: ${chromiumVersion ?? 'chromium'} headless, ${cpus().length} CPUs, ` +
  `${opts.runs} run(s) (medians), corpus ${basename(opts.corpusFile)} (${statSync(opts.corpusFile).size.toLocaleString('en-US')} bytes), ` +
  `order ${opts.order}${opts.pinnedCpu !== undefined ? `, everything pinned to CPU ${opts.pinnedCpu}` : ''}` +
  `${opts.smoke ? ', SMOKE' : ''}`);
out.push('ratio = wasm time / native time (> 1: wasm slower; for rates native/wasm). ' +
  'native = `uellm-bench --runs 1` right before each browser run (' + LIKE + ': the same with one thread and ' +
  '4 KiB pages, as WebAssembly runs in a browser); generation: `uellm-bench --generation-slices` timing the same ' +
  `requests right before and after each browser slice (${SLICES} slices a run), ratio = median of the slice ratios; ` +
  'ratios are medians of the per-run ratios' +
  (native ? `, ${native.requests} requests per configuration` : ' (missing)'));
out.push('');
out.push(line(header));
out.push(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const c of cells) out.push(line(c));
process.stdout.write(out.join('\n') + '\n');

const doc = {
  tool: 'scripts/bench-browser.sh',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, chromium: chromiumVersion, chromiumArgs: ARGS, node: process.version },
  settings: { ...opts, plan, seeds: 'sequential 0.., concurrent 10000.., throughput 20000.., long 50000.., warm-up 1000000..',
    stopAtSentenceEnd: false, prompt: '' },
  corpus: { path: opts.corpusFile, bytes: statSync(opts.corpusFile).size },
  wasm,
  table: rows,
  browser: { medians, runs },
  native: native ? { medians: native, runs: nativeRuns } : null,
  nativeLikeWasm: nativeLike ? { medians: nativeLike, runs: likeRuns } : null,
  nativeSlices: sliceRuns.length ? { medians: sl, runs: sliceRuns } : null,
  elapsedSeconds: (Date.now() - t00) / 1000,
};
mkdirSync(dirname(opts.jsonOut), { recursive: true });
writeFileSync(opts.jsonOut, JSON.stringify(doc, null, 2) + '\n');
process.stdout.write(`\nwrote ${opts.jsonOut}\n`);
