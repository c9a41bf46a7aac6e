// Per-call cost of the wasm `Model.generate` in a dedicated worker of headless Chromium, for one
// or more wasm builds side by side (a measuring tool, not part of the test suite):
//
//   node bench/browser/overhead.mjs --pkg before=target/overhead/before --pkg after=pkg \
//        [--corpus tiny=tests/fixtures/corpus/tiny.txt:5] [--corpus en=../shared/corpus/en-train.txt:5] \
//        [--requests 20000] [--tokens 100] [--rounds 3] [--json-out PATH] [--no-check]
//
// Each build gets its own worker and its own model (trained in the worker at the given order).
// Rounds alternate between the builds, so machine noise hits them alike; the figure is the median
// over rounds of the mean µs per call (requests with seeds 0..N-1, `stopAtSentenceEnd: false`,
// after a warm-up with other seeds). The first results of every build are compared (text, tokens,
// stats without the timings, key order): a build that changes what JavaScript sees fails the run
// (--no-check skips this, for experiments that change the results on purpose).
// Build a package with `wasm-pack build --mode no-install --target web --release --out-dir DIR
// --out-name ultra_efficient_llm bindings/wasm` (DIR relative to bindings/wasm), or scripts/build-pkg.sh.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT, chromium, startServer } from './deps.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

const o = { pkgs: [], corpora: [], requests: 20_000, tokens: 100, rounds: 3, warmup: 2_000, jsonOut: null, check: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => argv[++i] ?? (() => { throw new Error(`${a} needs a value`); })();
  const pair = (s) => { const k = s.indexOf('='); return [s.slice(0, k), s.slice(k + 1)]; };
  if (a === '--pkg') { const [label, dir] = pair(val()); o.pkgs.push({ label, dir: resolve(dir) }); }
  else if (a === '--corpus') {
    const [label, spec] = pair(val());
    const m = /^(.*):(\d+)$/.exec(spec);
    o.corpora.push({ label, file: resolve(m ? m[1] : spec), order: m ? Number(m[2]) : 5 });
  } else if (a === '--requests') o.requests = Number(val());
  else if (a === '--tokens') o.tokens = Number(val());
  else if (a === '--rounds') o.rounds = Number(val());
  else if (a === '--warmup') o.warmup = Number(val());
  else if (a === '--json-out') o.jsonOut = resolve(val());
  else if (a === '--no-check') o.check = false;
  else throw new Error(`unknown argument ${a}`);
}
if (!o.pkgs.length) throw new Error('give at least one --pkg label=dir');
if (!o.corpora.length) o.corpora.push({ label: 'tiny', file: join(ROOT, 'tests/fixtures/corpus/tiny.txt'), order: 5 });

const say = (m) => process.stderr.write(`overhead: ${m}\n`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const mounts = { '/bench/': HERE };
o.pkgs.forEach((p, i) => { mounts[`/pkg${i}/`] = p.dir; });
o.corpora.forEach((c, i) => { mounts[`/corpus${i}/`] = dirname(c.file); });
const server = await startServer(mounts);
const tmp = mkdtempSync(join(tmpdir(), 'uellm-overhead-'));
const results = [];
let context = null;
try {
  context = await chromium.launchPersistentContext(join(tmp, 'profile'),
    { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ARGS });
  const page = await context.newPage();
  page.on('pageerror', (e) => say(`[pageerror] ${e.message}`));
  await page.goto(`${server.url}/bench/overhead.html`);
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 20_000 });
  const call = (w, op, args) => page.evaluate(([w2, op2, a]) => window.call(w2, op2, a), [w, op, args]);
  const workers = [];
  for (let i = 0; i < o.pkgs.length; i++) workers.push(await page.evaluate((p) => window.spawn(p), `/pkg${i}/`));

  for (const [ci, c] of o.corpora.entries()) {
    const url = `/corpus${ci}/${encodeURIComponent(basename(c.file))}`;
    const per = o.pkgs.map(() => []);
    for (const [pi, w] of workers.entries()) {
      const t = await call(w, 'train', { name: c.label, url, order: c.order });
      say(`${c.label}: ${o.pkgs[pi].label} trained order ${c.order} in ${t.trainMs.toFixed(0)} ms`);
    }
    const samples = [];
    for (const w of workers) samples.push(await call(w, 'sample', { name: c.label, n: 50, tokens: o.tokens }));
    samples.forEach((s, pi) => {
      if (o.check && s !== samples[0]) throw new Error(`${c.label}: ${o.pkgs[pi].label} returns other results than ${o.pkgs[0].label}`);
    });
    for (const w of workers) await call(w, 'generate', { name: c.label, requests: o.warmup, tokens: o.tokens, seed0: 1_000_000 });
    for (let r = 0; r < o.rounds; r++) {
      // Alternate the order of the builds between rounds too.
      const order = workers.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const pi of order) {
        const g = await call(workers[pi], 'generate', { name: c.label, requests: o.requests, tokens: o.tokens });
        per[pi].push(g);
        say(`${c.label} round ${r + 1}: ${o.pkgs[pi].label} ${g.meanUs.toFixed(2)} µs/call (group median ${g.medianUs.toFixed(2)}, core ${g.coreUs.toFixed(2)})`);
      }
    }
    for (const [pi, p] of o.pkgs.entries()) {
      results.push({ corpus: c.label, order: c.order, build: p.label,
        meanUs: median(per[pi].map((g) => g.meanUs)), groupMedianUs: median(per[pi].map((g) => g.medianUs)),
        coreUs: median(per[pi].map((g) => g.coreUs)),
        rounds: per[pi] });
    }
  }
} finally {
  await context?.close().catch(() => {});
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`Model.generate in a worker, ${o.requests} calls x ${o.tokens} tokens, median of ${o.rounds} rounds`);
console.log('corpus        build        µs/call (mean)  µs/call (group median)  core µs (stats.elapsedMs)  bindings µs (mean - core)');
for (const r of results) {
  console.log(`${`${r.corpus} o${r.order}`.padEnd(14)}${r.build.padEnd(13)}${r.meanUs.toFixed(2).padStart(14)}${r.groupMedianUs.toFixed(2).padStart(24)}${r.coreUs.toFixed(2).padStart(27)}${(r.meanUs - r.coreUs).toFixed(2).padStart(27)}`);
}
if (o.jsonOut) writeFileSync(o.jsonOut, JSON.stringify({ settings: o, results }, null, 2) + '\n');
