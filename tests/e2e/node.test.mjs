// The npm package outside a browser (Node.js, as in a server-side render or a script): the pool
// API refuses at once with a typed error that says what to use instead, and what it points to
// (the WebAssembly module, `ultra-efficient-llm/core`) trains and generates in Node with the
// same seeded text as the native build (tests/fixtures/tiny-o3.seed42.txt, pinned by
// tests/golden.rs), also through the package README's example run as an outside app's script.
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh builds it; UELLM_PKG_DIR=/path tests
// another unpacked package folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');
const pkgFile = (f) => pathToFileURL(join(PKG, f)).href;
const fixture = (f) => readFileSync(join(ROOT, 'tests/fixtures', f), 'utf8');

test('create() in Node rejects with UnsupportedEnvironmentError, naming the core module', async () => {
  assert.equal(typeof globalThis.Worker, 'undefined', 'this test is about an environment without Web Workers');
  const uellm = await import(pkgFile('index.js'));
  await assert.rejects(uellm.create({ workers: 1 }), (e) => {
    assert.ok(e instanceof Error);
    assert.ok(e instanceof uellm.UnsupportedEnvironmentError);
    assert.equal(e.name, 'UnsupportedEnvironmentError');
    assert.equal(e.code, 'UNSUPPORTED_ENVIRONMENT');
    assert.match(e.message, /ultra-efficient-llm\/core/);
    return true;
  });
  // The wire form keeps the class, as for every other error.
  const back = uellm.fromWire(uellm.toWire(new uellm.UnsupportedEnvironmentError('x')));
  assert.ok(back instanceof uellm.UnsupportedEnvironmentError);
  assert.equal(back.code, 'UNSUPPORTED_ENVIRONMENT');
});

test('the core module trains and generates in Node, with the native seeded text', async () => {
  const core = await import(pkgFile('ultra_efficient_llm.js'));
  core.initSync({ module: readFileSync(join(PKG, 'ultra_efficient_llm_bg.wasm')) });
  const trainer = new core.Trainer({ maxPatternLength: 3 });
  trainer.feed(fixture('corpus/tiny.txt'));
  const model = trainer.finish();
  // Not a string, or no bytes: a typed error from the release build's glue, and the instance
  // stays sound.
  for (const bad of [42, null, {}]) {
    assert.throws(() => model.generate(bad), { name: 'InvalidOptionError', code: 'INVALID_OPTION' });
    assert.throws(() => model.perplexity(bad), { name: 'InvalidOptionError', code: 'INVALID_OPTION' });
  }
  for (const bad of [42, 'text', { length: 1e10 }]) {
    assert.throws(() => core.Model.fromBytes(bad), { name: 'InvalidOptionError', code: 'INVALID_OPTION' });
  }
  const out = model.generate('It is a truth', { seed: 42, maxTokens: 40 });
  assert.equal(out.text, fixture('tiny-o3.seed42.txt'));
  assert.equal(out.stats.seed, 42);
  // The model file round-trips to the same text.
  const again = core.Model.fromBytes(model.toBytes());
  assert.equal(again.generate('It is a truth', { seed: 42, maxTokens: 40 }).text, out.text);
  model.free();
  again.free();
});

test("the package README's Node.js example runs as an outside app's script, with the native seeded text", async () => {
  // The package README's (js/README.md) code block right after the paragraph on Node.js, run as
  // it is from a folder whose node_modules/ultra-efficient-llm is the package, with book.txt =
  // the tiny corpus.
  const readme = readFileSync(join(ROOT, 'js/README.md'), 'utf8');
  const at = readme.indexOf('also the way in Node.js');
  assert.ok(at > 0, 'the README has the Node.js paragraph');
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'a js code block follows it');
  const dir = mkdtempSync(join(process.env.UELLM_E2E_TMP ?? tmpdir(), 'uellm-node-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PKG, join(dir, 'node_modules', 'ultra-efficient-llm'), 'dir');
    writeFileSync(join(dir, 'book.txt'), fixture('corpus/tiny.txt'));
    writeFileSync(join(dir, 'app.mjs'), block[1]);
    const { stdout } = await promisify(execFile)(process.execPath, ['app.mjs'], { cwd: dir });
    assert.equal(stdout, fixture('tiny-o3.seed42.txt') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("await init() of 'ultra-efficient-llm/core' works in Node: it reads the .wasm from the package folder", async () => {
  // As an app would write it: the package by name (the exports map's "node" condition), the
  // default init() with no argument (the glue alone would fetch() a file: URL: "fetch failed"),
  // or a path / file: URL of the .wasm. One process per form: the module initialises once.
  const dir = mkdtempSync(join(process.env.UELLM_E2E_TMP ?? tmpdir(), 'uellm-node-init-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PKG, join(dir, 'node_modules', 'ultra-efficient-llm'), 'dir');
    writeFileSync(join(dir, 'book.txt'), fixture('corpus/tiny.txt'));
    const wasm = join(PKG, 'ultra_efficient_llm_bg.wasm');
    for (const [label, call] of [['no argument', 'init()'],
      ['a path', `init({ module_or_path: ${JSON.stringify(wasm)} })`],
      ['a file: URL', `init(new URL(${JSON.stringify(pathToFileURL(wasm).href)}))`]]) {
      writeFileSync(join(dir, 'app.mjs'), `import init, { Trainer } from 'ultra-efficient-llm/core';
import { readFileSync } from 'node:fs';
const exports = await ${call};
if (!(exports.memory instanceof WebAssembly.Memory)) throw new Error('init() did not resolve to the exports');
const trainer = new Trainer({ maxPatternLength: 3 });
trainer.feed(readFileSync('book.txt', 'utf8'));
process.stdout.write(trainer.finish().generate('It is a truth', { seed: 42, maxTokens: 40 }).text);
`);
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['app.mjs'], { cwd: dir })
        .catch((e) => assert.fail(`${label}: ${e.stderr || e.message}`));
      assert.equal(stdout, fixture('tiny-o3.seed42.txt'), label);
      assert.equal(stderr, '', `${label}: no warnings`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors the core module throws are the package\'s UellmError classes (one class, as the pool\'s)', async () => {
  // As an app would write it: the core by its export, the classes from the package's main module.
  const dir = mkdtempSync(join(process.env.UELLM_E2E_TMP ?? tmpdir(), 'uellm-node-errors-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PKG, join(dir, 'node_modules', 'ultra-efficient-llm'), 'dir');
    writeFileSync(join(dir, 'app.mjs'), `import init, { Model, Trainer } from 'ultra-efficient-llm/core';
import { UellmError, InvalidOptionError, toWire, fromWire } from 'ultra-efficient-llm';
await init();
const caught = (f) => { try { f(); } catch (e) { return e; } throw new Error('no error'); };
const errors = [
  caught(() => Model.fromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]))),
  caught(() => new Trainer({ maxPatternLength: 99 })),
  caught(() => new Trainer({ maxPatternLenght: 3 })),
  caught(() => Model.train('', {})),
];
console.log(JSON.stringify(errors.map((e) => [e.name, e.code, e instanceof UellmError, e instanceof InvalidOptionError,
  Object.getPrototypeOf(fromWire(toWire(e))) === Object.getPrototypeOf(e)])));
`);
    const { stdout } = await promisify(execFile)(process.execPath, ['app.mjs'], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout), [
      ['NotAModelError', 'NOT_A_MODEL', true, false, true],
      ['InvalidOptionError', 'INVALID_OPTION', true, true, true],
      ['InvalidOptionError', 'INVALID_OPTION', true, true, true],
      ['EmptyInputError', 'EMPTY_INPUT', true, false, true],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad pool configuration is an InvalidOptionError, checked before any worker starts', async () => {
  const uellm = await import(pkgFile('index.js'));
  for (const config of [{ preset: 'fastest' }, { preset: 'toString' }, { preset: '__proto__' },
    { workers: 0 }, { workers: 1.5 }, { maxQueue: -1 }]) {
    assert.throws(() => uellm.resolveConfig(config), (e) => {
      assert.ok(e instanceof uellm.InvalidOptionError, JSON.stringify(config));
      assert.ok(e instanceof uellm.UellmError);
      assert.equal(e.name, 'InvalidOptionError');
      assert.equal(e.code, 'INVALID_OPTION');
      return true;
    });
  }
  assert.equal(uellm.resolveConfig({ preset: 'development', workers: 3 }).workers, 3);
  // As the worker's own option errors come back over the wire.
  const back = uellm.fromWire({ name: 'InvalidOptionError', code: 'INVALID_OPTION', message: 'm' });
  assert.ok(back instanceof uellm.InvalidOptionError);
  assert.equal(back.message, 'm');
});
