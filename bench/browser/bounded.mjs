// The browser's bounded training benchmark (issue 16): a corpus trained in the pool's training
// worker in memory, then within `--memory` bytes (`train(…, { memory })`: two passes over the
// Blob, temporary files in the origin private file system), in headless Chromium, alternating,
// `--runs` times each; medians of the time and of the training worker's WebAssembly memory.
//
//   node bench/browser/bounded.mjs --corpus-file F [--memory 256M] [--order 5] [--runs 1]
//        [--json-out OUT.json]
//
// The two models must agree (file bytes, n-grams per order, a seeded generation); the tests
// check that their files are the same bytes (tests/e2e/pool-memory.test.mjs). Needs pkg/
// (scripts/build-pkg.sh) and tests/e2e's playwright-core (npm ci there).
import { writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, chromium, startServer } from './deps.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

/** `256M`, `1G`, `500k` or a number of bytes (powers of 1024, as a memory bound usually is). */
function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgKMG]?)i?[bB]?$/.exec(s);
  if (!m) throw new Error(`not a size: ${s}`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * unit);
}

function parseArgs(argv) {
  const o = { order: 5, memory: 256 * 2 ** 20, runs: 1, jsonOut: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--corpus-file') o.corpusFile = resolve(val());
    else if (a === '--json-out') o.jsonOut = resolve(val());
    else if (a === '--order') o.order = Number(val());
    else if (a === '--memory') o.memory = parseSize(val());
    else if (a === '--runs') o.runs = Number(val());
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.corpusFile) throw new Error('--corpus-file is required');
  if (!(Number.isInteger(o.runs) && o.runs >= 1)) throw new Error('--runs: an integer ≥ 1');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const t00 = Date.now();
const say = (m) => process.stderr.write(`bench-bounded: [${((Date.now() - t00) / 1000).toFixed(1)} s] ${m}\n`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
const MiB = 2 ** 20;

const server = await startServer({ '/node_modules/ultra-efficient-llm/': join(ROOT, 'pkg'), '/bench/': HERE,
  '/corpus/': dirname(opts.corpusFile) });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true, args: ARGS });
const runs = { memory: [], bounded: [] };
let bytes = 0;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => say(`[pageerror] ${e.message}`));
  await page.goto(`${server.url}/bench/bounded.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
  ({ bytes } = await page.evaluate((u) => window.bounded.fetchCorpus(u), `/corpus/${basename(opts.corpusFile)}`));
  say(`${basename(opts.corpusFile)}: ${(bytes / 1e6).toFixed(1)} MB, order ${opts.order}, bound ${opts.memory / MiB} MiB`);
  for (let r = 0; r < opts.runs; r++) {
    for (const [key, memory] of [['memory', null], ['bounded', opts.memory]]) {
      const out = await page.evaluate(({ order, memory }) => window.bounded.train(order, memory),
        { order: opts.order, memory });
      say(`run ${r + 1}, ${key === 'memory' ? 'in memory' : 'bounded'}: ${(out.ms / 1000).toFixed(2)} s, `
        + `training worker ${(out.trainingWasmBytes / MiB).toFixed(0)} MiB, file ${(out.fileBytes / MiB).toFixed(1)} MiB`);
      runs[key].push(out);
    }
  }
} finally {
  await browser.close().catch(() => {});
  await server.close?.();
}
const a = runs.memory[0];
const same = runs.bounded.every((b) => b.fileBytes === a.fileBytes && JSON.stringify(b.ngrams) === JSON.stringify(a.ngrams)
  && b.sample === a.sample);
const summary = {
  corpusBytes: bytes, order: opts.order, memory: opts.memory, runs: opts.runs, sameModel: same,
  inMemory: { seconds: median(runs.memory.map((x) => x.ms)) / 1000, wasmMiB: median(runs.memory.map((x) => x.trainingWasmBytes)) / MiB },
  bounded: { seconds: median(runs.bounded.map((x) => x.ms)) / 1000, wasmMiB: median(runs.bounded.map((x) => x.trainingWasmBytes)) / MiB },
};
console.log(`| ${(bytes / 1e6).toFixed(0)} MB, order ${opts.order} | time (median of ${opts.runs}) | training worker's wasm memory |`);
console.log('| --- | ---: | ---: |');
console.log(`| in memory | ${summary.inMemory.seconds.toFixed(1)} s | ${summary.inMemory.wasmMiB.toFixed(0)} MiB |`);
console.log(`| \`memory: ${opts.memory / MiB} MiB\` | ${summary.bounded.seconds.toFixed(1)} s | ${summary.bounded.wasmMiB.toFixed(0)} MiB |`);
console.log(`same model: ${same}`);
if (opts.jsonOut) writeFileSync(opts.jsonOut, JSON.stringify({ summary, runs }, null, 2));
if (!same) process.exitCode = 1;
