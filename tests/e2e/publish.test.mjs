// What `npm publish` would upload: `npm publish --dry-run --json` in pkg/ (nothing is uploaded; it
// needs no login) lists the tarball's files. Checks: exactly the runtime, the glue (with the JS
// snippets it imports), the .wasm, the declarations, the package README and both license texts,
// with nothing else (no tests, build leftovers, sources or source maps); the license texts are the
// real ones; the README is the npm one (install, quick start, bundlers), not the repository's;
// package.json carries the license and keywords, and a repository field only if the crate names
// one.
//
// Nothing is built here: pkg/ must exist (scripts/test-e2e.sh builds it; UELLM_PKG_DIR=/path tests
// another unpacked package folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const PKG = process.env.UELLM_PKG_DIR ? resolve(process.env.UELLM_PKG_DIR) : join(ROOT, 'pkg');

/** npm without an enclosing `npm test`'s project settings. */
function npmEnv() {
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false',
    npm_config_audit: 'false' };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_)|^npm_config_(local_prefix|prefix|global|workspaces?|dry_run)$|^INIT_CWD$/i.test(key)) delete env[key];
  }
  return env;
}

test('npm publish --dry-run: the tarball holds the package files, the README and both licenses, and nothing else', async () => {
  const { stdout } = await promisify(execFile)('npm', ['publish', '--dry-run', '--json', '--ignore-scripts'],
    { cwd: PKG, env: npmEnv(), encoding: 'utf8', maxBuffer: 16 << 20 });
  const report = JSON.parse(stdout.slice(stdout.indexOf('{')));
  const entry = report['ultra-efficient-llm'] ?? report;
  assert.equal(entry.name, 'ultra-efficient-llm');
  const files = entry.files.map((f) => f.path).sort();

  // Every module of the runtime (js/) with its declarations, and the wasm-pack glue.
  const runtime = readdirSync(join(ROOT, 'js')).filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
  // The glue's own imports: wasm-bindgen's inline JS snippets (./snippets/<crate>-<hash>/...).
  const glue = readFileSync(join(PKG, 'ultra_efficient_llm.js'), 'utf8');
  const snippets = [...glue.matchAll(/from ['"]\.\/(snippets\/[^'"]+)['"]/g)].map((m) => m[1]);
  // The threaded build (threads/): its glue, its .wasm and the same snippets.
  const threadsGlue = readFileSync(join(PKG, 'threads/ultra_efficient_llm.js'), 'utf8');
  const threadsSnippets = [...threadsGlue.matchAll(/from ['"]\.\/(snippets\/[^'"]+)['"]/g)].map((m) => `threads/${m[1]}`);
  assert.ok(threadsSnippets.length > 0 && threadsSnippets.length === snippets.length, String(threadsSnippets));
  const expected = [...runtime, ...snippets, ...threadsSnippets, 'ultra_efficient_llm.js', 'ultra_efficient_llm.d.ts',
    'ultra_efficient_llm_bg.wasm', 'ultra_efficient_llm_bg.wasm.d.ts',
    'threads/ultra_efficient_llm.js', 'threads/ultra_efficient_llm_bg.wasm',
    'package.json', 'README.md', 'LICENSE', 'LICENSE-MIT', 'LICENSE-APACHE'].sort();
  assert.deepEqual(files, expected);
  for (const f of ['index.js', 'worker.js', 'index.d.ts', 'ultra_efficient_llm_bg.wasm']) assert.ok(files.includes(f), f);
  // (The snippets' paths mirror the crate's src/ tree; they are checked above, one by one.)
  for (const f of files.filter((path) => !snippets.includes(path) && !threadsSnippets.includes(path))) {
    assert.doesNotMatch(f, /(^|\/)(tests?|src|target|node_modules|\.tmp)\/|\.(map|orig|rej|log|tgz|rs)$|(^|\/)\./,
      `${f} does not belong in the tarball`);
  }

  // The real license texts, identical to the repository's.
  const inPkg = (f) => readFileSync(join(PKG, f), 'utf8');
  for (const f of ['LICENSE', 'LICENSE-MIT', 'LICENSE-APACHE']) {
    assert.equal(inPkg(f), readFileSync(join(ROOT, f), 'utf8'), `${f} differs from the repository's`);
  }
  assert.match(inPkg('LICENSE-APACHE'), /Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
  assert.match(inPkg('LICENSE-MIT'), /Permission is hereby granted, free of charge[\s\S]*WITHOUT WARRANTY OF ANY KIND/);
  assert.match(inPkg('LICENSE'), /MIT OR Apache-2\.0/);

  // The npm README, not the repository's (which documents the CLI, the website, the benchmark).
  const readme = inPkg('README.md');
  assert.equal(readme, readFileSync(join(ROOT, 'js/README.md'), 'utf8'));
  assert.match(readme, /npm install ultra-efficient-llm/);
  assert.match(readme, /## Quick start/);
  for (const setup of ['Vite', 'webpack', 'esbuild', 'importmap', 'CDN', 'Node.js']) assert.ok(readme.includes(setup), setup);
  assert.doesNotMatch(readme, /^## CLI/m);

  const pj = JSON.parse(inPkg('package.json'));
  assert.equal(pj.license, 'MIT OR Apache-2.0');
  assert.ok(pj.keywords.length >= 5 && pj.keywords.includes('webassembly'), String(pj.keywords));
  // A repository/homepage only if the crate names one (a guessed URL would mislead).
  const cargo = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  for (const [field, key] of [['repository', 'repository'], ['homepage', 'homepage']]) {
    const m = new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, 'm').exec(cargo);
    if (m) assert.ok(JSON.stringify(pj[field]).includes(m[1]), `${field} should be ${m[1]}`);
    else assert.equal(pj[field], undefined, `${field} is set, but Cargo.toml names none`);
  }
});
