// End-to-end tests of the pool's memory (issue 14, part 4): workers sized to the device
// (navigator.hardwareConcurrency, overridden by an init script), `unload()`, and the memory that
// `health()` and `metrics()` report per worker and for the whole pool. Packs pkg/
// (UELLM_PKG_DIR=/path tests another unpacked package folder, e.g. an older build, to see these
// tests fail there) and drives headless Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, openPacked } from './packed.mjs';

const GOLDEN = readFileSync(join(ROOT, 'tests/fixtures/tiny-o3.seed42.txt'), 'utf8');
const PROMPT = 'It is a truth';
const PAGE = 1 << 16; // a WebAssembly page

let opened;
let server;
let page;
let consoleLines = [];

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

/** Waits (in the page) until the pool `window[name]` has `n` workers serving the current model. */
const allReady = (name, n) => page.waitForFunction(({ name, n }) => window[name].health().workers.ready === n,
  { name, n }, { timeout: 20_000 });

describe('the pool\'s size and memory', { concurrency: false }, () => {
  before(async () => {
    opened = await openPacked('uellm-memory-');
    ({ server, page, consoleLines } = opened);
    await page.addInitScript(() => {
      const cores = new URLSearchParams(location.search).get('cores');
      if (cores === null) return;
      Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', {
        configurable: true, get: () => (cores === 'none' ? undefined : Number(cores)) });
    });
  });

  after(async () => {
    await opened?.close();
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

  test('health() and metrics() report each worker\'s model and WebAssembly memory, and the pool\'s total', async () => {
    await openAs(4);
    const r = await page.evaluate(async () => {
      const llm = await window.uellm.create({ workers: 2 });
      window.llm = llm;
      const empty = llm.health().memory;
      const text = await (await fetch('/fixtures/corpus/tiny.txt')).text();
      const info = await llm.train([text], { maxPatternLength: 3 });
      return { empty, info };
    });
    // Before any model: the workers' own memory, no model bytes.
    assert.equal(r.empty.modelBytes, 0);
    assert.deepEqual(r.empty.workers.map((w) => [w.slot, w.modelBytes]), [[0, 0], [1, 0]]);
    for (const w of r.empty.workers) assert.ok(w.wasmBytes > 0 && w.wasmBytes % PAGE === 0, JSON.stringify(w));

    await allReady('llm', 2);
    const m = await page.evaluate(async (p) => {
      const { llm } = window;
      await llm.generate(p, { seed: 42, maxTokens: 10 });
      return { health: llm.health().memory, metrics: llm.metrics(), info: await llm.info() };
    }, PROMPT);
    const modelBytes = r.info.memoryBytes;
    assert.ok(modelBytes > 0);
    assert.equal(m.info.memoryBytes, modelBytes);
    for (const mem of [m.health, m.metrics.memory]) {
      assert.deepEqual(Object.keys(mem).sort(), ['modelBytes', 'totalWasmBytes', 'trainingWasmBytes', 'wasmBytes', 'workers']);
      assert.deepEqual(mem.workers.map((w) => Object.keys(w).sort()), [['modelBytes', 'slot', 'wasmBytes'], ['modelBytes', 'slot', 'wasmBytes']]);
      assert.deepEqual(mem.workers.map((w) => [w.slot, w.modelBytes]), [[0, modelBytes], [1, modelBytes]]);
      for (const w of mem.workers) {
        assert.ok(w.wasmBytes % PAGE === 0 && w.wasmBytes > w.modelBytes, JSON.stringify(w));
      }
      // One copy of the model per worker, and the sums over the workers.
      assert.equal(mem.modelBytes, 2 * modelBytes);
      assert.equal(mem.wasmBytes, mem.workers[0].wasmBytes + mem.workers[1].wasmBytes);
      assert.ok(mem.trainingWasmBytes > 0 && mem.trainingWasmBytes % PAGE === 0, JSON.stringify(mem));
      assert.equal(mem.totalWasmBytes, mem.wasmBytes + mem.trainingWasmBytes);
    }
    // The older figures agree with the new ones.
    assert.equal(m.metrics.modelMemoryBytes, modelBytes);
    assert.equal(m.metrics.workerMemoryBytes.generation, m.metrics.memory.wasmBytes);
    assert.equal(m.metrics.workerMemoryBytes.training, m.metrics.memory.trainingWasmBytes);
    // Every answer carries the worker's model bytes next to its wasm bytes.
    assert.equal(m.metrics.ops.generate.worker.last.modelBytes, modelBytes);
  });

  test('unload() frees the model in every worker, keeps the workers; generate fails with NoModelError; a load reuses the memory', async () => {
    await openAs(4);
    // A model of a few MB (both fixtures at order 5), so that it needs more memory than a fresh
    // worker has: a load after the unload then shows whether the memory is reused or grown.
    const trained = await page.evaluate(async () => {
      const llm = await window.uellm.create({ workers: 2 });
      window.big = llm;
      const texts = await Promise.all(['tiny.txt', 'es-tiny.txt'].map(async (f) => (await fetch(`/fixtures/corpus/${f}`)).text()));
      const fresh = llm.health().memory.workers.map((w) => w.wasmBytes);
      const info = await llm.train(texts, { maxPatternLength: 5 });
      for (const m of await llm.list()) if (m.name === 'memory-test') await llm.remove(m.name);
      await llm.save('memory-test');
      return { info, fresh };
    });
    await allReady('big', 2);
    const workersBefore = poolWorkers();
    const r = await page.evaluate(async (p) => {
      const llm = window.big;
      const loaded = llm.health().memory;
      const text = (await llm.generate(p, { seed: 7, maxTokens: 30 })).text;
      // A generation running when unload() is called ends normally: its worker frees the model
      // after it.
      const running = llm.generate(p, { seed: 8, maxTokens: 20_000, stopAtSentenceEnd: false, temperature: 0.8, topK: 40 });
      await llm.unload();
      const during = await running;
      const unloaded = { health: llm.health(), metrics: llm.metrics() };
      const afterUnload = {
        generate: await window.settle(llm.generate(p, { seed: 7, maxTokens: 30 })),
        stream: await window.settle(llm.stream(p, { maxTokens: 5 }).result),
        perplexity: await window.settle(llm.perplexity('It is a truth.')),
        save: await window.settle(llm.save('never')),
        info: await llm.info(),
        list: (await llm.list()).map((m) => m.name),
      };
      const info = await llm.load('memory-test');
      const again = (await llm.generate(p, { seed: 7, maxTokens: 30 })).text;
      return { loaded, text, duringTokens: during.stats.tokens, unloaded, afterUnload, info, again };
    }, PROMPT);
    const modelBytes = trained.info.memoryBytes;
    // The model needed more memory than a fresh worker had.
    for (const [i, w] of r.loaded.workers.entries()) {
      assert.equal(w.modelBytes, modelBytes);
      assert.ok(w.wasmBytes > trained.fresh[i], `worker ${i}: ${w.wasmBytes} vs fresh ${trained.fresh[i]}`);
    }
    assert.equal(r.duringTokens, 20_000);

    // Unloaded: no model anywhere, the workers (and their memory, which never shrinks) still there.
    const { health: h, metrics: m } = r.unloaded;
    assert.equal(h.modelLoaded, false);
    assert.equal(h.status, 'ok');
    assert.deepEqual([h.workers.total, h.workers.ready], [2, 2]);
    assert.equal(h.memory.modelBytes, 0);
    assert.deepEqual(h.memory.workers.map((w) => w.modelBytes), [0, 0]);
    // WebAssembly memory never shrinks (the long generation may even have grown its worker's).
    for (const [i, w] of h.memory.workers.entries()) {
      assert.ok(w.wasmBytes >= r.loaded.workers[i].wasmBytes, `worker ${i}: ${w.wasmBytes} < ${r.loaded.workers[i].wasmBytes}`);
    }
    assert.equal(m.modelMemoryBytes, 0);
    assert.equal(m.modelFileBytes, 0);
    assert.equal(m.memory.modelBytes, 0);
    assert.equal(m.workers.restarts, 0);
    assert.equal(m.ops.unload.count, 1);
    assert.equal(m.ops.unload.errors, 0);
    assert.equal(poolWorkers(), workersBefore, 'no worker was terminated');

    for (const [call, e] of Object.entries(r.afterUnload)) {
      if (call === 'info' || call === 'list') continue;
      assert.deepEqual([e.ok, e.name, e.code, e.isUellmError], [false, 'NoModelError', 'NO_MODEL', true], call);
    }
    assert.equal(r.afterUnload.info, null);
    // Requests that need no model still run in the same workers.
    assert.ok(r.afterUnload.list.includes('memory-test'));

    // Loaded again: the same text, in the memory the first model used (not grown).
    assert.equal(r.info.memoryBytes, modelBytes);
    assert.equal(r.again, r.text);
    await allReady('big', 2);
    const reloaded = await page.evaluate(async () => {
      await window.big.info(); // an answer from a worker, which refreshes its figures
      return window.big.health().memory;
    });
    // At most a little fragmentation: a few pages (en-train at order 5 in the browser benchmark:
    // 256 KiB on 116.5 MB). A model that was not freed makes the worker grow by most of the
    // model's size instead (here 1.8 MB of its 2.2 MB: the rest fits in the memory's slack).
    for (const [i, w] of reloaded.workers.entries()) {
      assert.equal(w.modelBytes, modelBytes);
      const freed = h.memory.workers[i].wasmBytes;
      assert.ok(w.wasmBytes - freed <= modelBytes / 8,
        `worker ${i} grew on the load after unload(): ${w.wasmBytes} > ${freed} (the model: ${modelBytes} bytes)`);
    }
    assert.equal(poolWorkers(), workersBefore);
  });

  test('background installs load the index image: the other workers hold the model, not the peak of building it, and serve the same text', async () => {
    await openAs(4);
    const r = await page.evaluate(async () => {
      const llm = await window.uellm.create({ workers: 3 });
      window.imaged = llm;
      const texts = await Promise.all(['tiny.txt', 'es-tiny.txt'].map(async (f) => (await fetch(`/fixtures/corpus/${f}`)).text()));
      const fresh = llm.health().memory.workers.map((w) => w.wasmBytes);
      const info = await llm.train(texts, { maxPatternLength: 5 });
      return { info, fresh };
    });
    await allReady('imaged', 3);
    const m = await page.evaluate(async (p) => {
      const llm = window.imaged;
      const texts = await Promise.all([0, 1, 2].map(() => llm.generate(p, { seed: 11, maxTokens: 40 })));
      return { memory: llm.health().memory, texts: texts.map((t) => t.text) };
    }, PROMPT);
    const modelBytes = r.info.memoryBytes;
    const grown = m.memory.workers.map((w, i) => w.wasmBytes - r.fresh[i]).sort((a, b) => a - b);
    // The worker that loaded the file grew by the build's peak; the two installed from the image
    // by about the model (the image) alone, at least half a model less.
    assert.ok(grown[2] - grown[1] >= modelBytes / 2, `growth per worker ${grown}, model ${modelBytes}`);
    assert.ok(grown[1] < 1.5 * modelBytes, `growth per worker ${grown}, model ${modelBytes}`);
    assert.deepEqual(m.memory.workers.map((w) => w.modelBytes), [modelBytes, modelBytes, modelBytes]);
    assert.equal(new Set(m.texts).size, 1, JSON.stringify(m.texts));
    await page.evaluate(() => window.imaged.terminate());
  });

  test('unload() without a model resolves; after terminate() it rejects with TerminatedError; train after unload works', async () => {
    await openAs(4);
    const r = await page.evaluate(async (p) => {
      const llm = await window.uellm.create({ workers: 1 });
      const first = await window.settle(llm.unload());
      const text = await (await fetch('/fixtures/corpus/tiny.txt')).text();
      await llm.train([text], { maxPatternLength: 3 });
      await llm.unload();
      await llm.train([text], { maxPatternLength: 3 });
      const out = await llm.generate(p, { seed: 42, maxTokens: 40 });
      llm.terminate();
      return { first, text: out.text, terminated: await window.settle(llm.unload()) };
    }, PROMPT);
    assert.equal(r.first.ok, true);
    assert.equal(r.text, GOLDEN);
    assert.deepEqual([r.terminated.ok, r.terminated.code], [false, 'TERMINATED']);
  });

  test('train with a memory bound: the same model file, a smaller training worker, its temporary file gone, typed errors', async () => {
    await openAs(4);
    const r = await page.evaluate(async () => {
      const llm = await window.uellm.create({ workers: 1 });
      // About 4 MB of text: sentences of words drawn (seeded) from 20,000, the frequent ones more
      // often, so that most patterns of 3 words and more are new.
      let seed = 7; // mulberry32
      const rand = () => {
        seed = (seed + 0x6D2B79F5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const words = Array.from({ length: 20000 }, (_, i) => `w${i.toString(36)}`);
      const lines = [];
      let size = 0;
      while (size < 4e6) {
        const n = 5 + Math.floor(rand() * 15);
        const line = Array.from({ length: n }, () => words[Math.floor(20000 * rand() ** 2)]).join(' ');
        lines.push(line);
        size += line.length + 1;
      }
      const text = `${lines.join('\n')}\n`;
      const options = { maxPatternLength: 5 };
      const fileOf = async (name) => new Uint8Array(await (await llm.exportModel(name)).arrayBuffer());
      const phases = [];
      const infoA = await llm.train(text, options);
      const memA = llm.health().memory.trainingWasmBytes;
      await llm.save('in-memory', { overwrite: true });
      // Wait for the training worker to be replaced (2 s idle), so the next one starts small.
      await new Promise((res) => setTimeout(res, 2500));
      const infoB = await llm.train(new Blob([text]), options, {
        memory: 8 * 2 ** 20,
        onProgress: (p) => phases.push([p.phase, p.bytesSeen, p.bytesTotal, p.fraction]),
      });
      const memB = llm.health().memory.trainingWasmBytes;
      await llm.save('bounded', { overwrite: true });
      const [a, b] = [await fileOf('in-memory'), await fileOf('bounded')];
      const same = a.length === b.length && a.every((x, i) => x === b[i]);
      const dir = await navigator.storage.getDirectory();
      const left = [];
      for await (const name of dir.keys()) left.push(name);
      const errors = [];
      for (const [opts, call] of [[options, { memory: 0 }], [options, { memory: 1.5 }],
        [{ maxPatterns: 10 }, { memory: 2 ** 20 }]]) {
        errors.push(await llm.train('a b c\n', opts, call).then(() => 'resolved', (e) => [e.name, e.code, e.message]));
      }
      const after = await llm.generate('w1 w2', { seed: 42, maxTokens: 5 });
      await llm.remove('in-memory');
      await llm.remove('bounded');
      await llm.terminate();
      return { bytes: size, infoA, infoB, memA, memB, same, fileBytes: a.length, left, errors,
        phases, after: after.text };
    });
    console.log(`bounded training of ${(r.bytes / 1e6).toFixed(1)} MB at order 5: training worker `
      + `${(r.memA / 2 ** 20).toFixed(0)} MiB in memory, ${(r.memB / 2 ** 20).toFixed(0)} MiB within 8 MiB; `
      + `model file ${(r.fileBytes / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(r.same, 'the bounded model file differs');
    assert.equal(r.infoB.fileBytes, r.infoA.fileBytes);
    assert.deepEqual(r.infoB.ngrams, r.infoA.ngrams);
    assert.equal(r.infoB.memoryBytes, r.infoA.memoryBytes);
    // The bound holds the training worker's memory well below training in memory (measured:
    // 20 MiB against 117; beyond the bound, the build holds 8 bytes a pattern of the largest
    // level).
    assert.ok(r.memB < r.memA / 3, `${r.memB} against ${r.memA}`);
    // No temporary file is left in the origin private file system.
    assert.deepEqual(r.left.filter((n) => n.startsWith('uellm-train-')), []);
    // Progress: `reading` covers both passes (twice the bytes), then building.
    const reading = r.phases.filter((p) => p[0] === 'reading');
    assert.equal(reading.at(-1)[1], 2 * r.bytes);
    assert.ok(reading.every((p) => p[2] === 2 * r.bytes));
    assert.deepEqual([...new Set(r.phases.map((p) => p[0]))], ['reading', 'building', 'installing', 'done']);
    // The build reports its share as it goes (each level of each step; at most one report per
    // 50 ms), rising.
    const building = r.phases.filter((p) => p[0] === 'building').map((p) => p[3]);
    assert.ok(building.length >= 3 && building.some((f) => f > 0 && f < 1), JSON.stringify(building));
    assert.ok(building.every((f, i) => i === 0 || f >= building[i - 1]), JSON.stringify(building));
    assert.deepEqual(r.errors.map((e) => e.slice(0, 2)), [['InvalidOptionError', 'INVALID_OPTION'],
      ['InvalidOptionError', 'INVALID_OPTION'], ['InvalidOptionError', 'INVALID_OPTION']]);
    assert.match(r.errors[0][2], /memory/);
    assert.match(r.errors[2][2], /maxPatterns/);
    assert.ok(r.after.length > 0);
  });

  test('no unexpected page errors', () => {
    const errors = consoleLines.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, []);
  });
});
