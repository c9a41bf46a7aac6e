// The package's TypeScript declarations (index.d.ts and the wasm module's own .d.ts) as an
// outside TypeScript app sees them: types/usage.ts, which uses the whole API, must compile with
// `tsc --strict` against the package in node_modules, with a bundler's module resolution and
// with Node.js's, and each of its `@ts-expect-error` lines must be an error (so no declaration
// has decayed to `any`). A copy with one such directive on a valid line must fail: the check
// itself works.
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh builds it; UELLM_PKG_DIR=/path tests
// another unpacked package folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');
const TSC = join(HERE, 'node_modules/typescript/bin/tsc');

/**
 * `tsc -p` on types/ copied into a fresh app folder (an ES-module package), usage.ts rewritten
 * by `edit`, tsconfig's compilerOptions overridden by `options`.
 */
async function typecheck(edit = (src) => src, options = {}) {
  const dir = mkdtempSync(join(process.env.UELLM_E2E_TMP ?? tmpdir(), 'uellm-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PKG, join(dir, 'node_modules', 'ultra-efficient-llm'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const tsconfig = JSON.parse(readFileSync(join(HERE, 'types/tsconfig.json'), 'utf8'));
    Object.assign(tsconfig.compilerOptions, options);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    writeFileSync(join(dir, 'usage.ts'), edit(readFileSync(join(HERE, 'types/usage.ts'), 'utf8')));
    try {
      await promisify(execFile)(process.execPath, [TSC, '-p', dir]);
      return { ok: true, output: '' };
    } catch (e) {
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an outside TypeScript app using the whole API compiles with tsc --strict (bundler resolution)', async () => {
  const r = await typecheck();
  assert.ok(r.ok, r.output);
});

test('the same app compiles with Node.js resolution (module and moduleResolution NodeNext)', async () => {
  const r = await typecheck(undefined, { module: 'NodeNext', moduleResolution: 'NodeNext' });
  assert.ok(r.ok, r.output);
});

test('the type check fails where it should (an expected error on a valid line)', async () => {
  const r = await typecheck((src) => src.replace('  llm.terminate();\n', '  // @ts-expect-error\n  llm.terminate();\n'));
  assert.equal(r.ok, false);
  assert.match(r.output, /Unused '@ts-expect-error' directive/);
});
