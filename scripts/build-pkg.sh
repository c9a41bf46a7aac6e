#!/usr/bin/env bash
# Builds the npm package into pkg/ (gitignored): the wasm (wasm-pack --target web, release), the
# JS runtime from js/ next to the glue (with the core's presets written into index.js), and
# pkg/package.json. Prints the gzipped .wasm size.
#
# --mode no-install: use the wasm-bindgen on PATH (scripts/setup.sh installs the pinned one);
# never download one. bindings/wasm/Cargo.toml sets wasm-opt = false so that wasm-pack never looks for (or
# downloads) one; this script then runs wasm-opt from npm's binaryen 132 (tools/package.json),
# the version tested here (Debian's binaryen 108 produces wasm that breaks at run time).
# NO_WASM_OPT=1 skips it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

# The bindings are the crate bindings/wasm (package ultra-efficient-llm-wasm); --out-name keeps the
# file names the runtime imports (./ultra_efficient_llm.js, ultra_efficient_llm_bg.wasm), and
# --out-dir is relative to that crate.
# wasm-pack leaves what an earlier build put in pkg/snippets (a crate since renamed, a removed
# snippet): start that folder anew, as package.json publishes the whole of it.
rm -rf pkg/snippets
wasm-pack build --mode no-install --target web --release --out-dir ../../pkg \
  --out-name ultra_efficient_llm bindings/wasm

# The threaded build (scripts/threads-env.sh: a pinned nightly, std rebuilt with atomics) into
# pkg/threads/, with the same file names: the runtime (js/core.js) imports both glues and uses
# this one when the page is cross-origin isolated, so that the generation workers share one
# memory and one model. NO_THREADS=1 skips it (the package then lacks pkg/threads/: for quick
# local builds only; the tests need it).
rm -rf pkg/threads
if [ "${NO_THREADS:-0}" != 1 ]; then
  # shellcheck source=threads-env.sh
  source scripts/threads-env.sh
  RUSTFLAGS="${THREADS_RUSTFLAGS}" CARGO_TARGET_DIR="${THREADS_TARGET_DIR}" \
    cargo "+${THREADS_TOOLCHAIN}" build "${THREADS_BUILD_STD}" --target wasm32-unknown-unknown \
    --release -p ultra-efficient-llm-wasm
  wasm-bindgen --target web --out-dir pkg/threads --out-name ultra_efficient_llm \
    "${THREADS_TARGET_DIR}/wasm32-unknown-unknown/release/ultra_efficient_llm_wasm.wasm"
  # Only the glue, its snippets and the .wasm: the runtime imports the glue; its declarations
  # would be the plain build's (index.d.ts and the "./core" export declare those).
  rm -f pkg/threads/.gitignore pkg/threads/package.json pkg/threads/*.d.ts
  # The glue imports the package's error classes as './errors.js' (bindings/wasm/src/lib.rs),
  # which sits one folder up from this one: the same module as the runtime's, so that every
  # error is an instance of its one UellmError class in either build.
  sed -i "s#from './errors.js'#from '../errors.js'#" pkg/threads/ultra_efficient_llm.js
  if ! grep -q "from '../errors.js'" pkg/threads/ultra_efficient_llm.js; then
    echo "build-pkg.sh: the threaded glue does not import ../errors.js" >&2
    exit 1
  fi
fi

if [ "${NO_WASM_OPT:-0}" != 1 ]; then
  if [ ! -x tools/node_modules/.bin/wasm-opt ]; then
    (cd tools && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; })
  fi
  # -O3: speed first (generation is the hot path); the features come from the module's own
  # target-features section (the threaded build's: atomics, bulk memory, mutable globals).
  # --no-inline keeps the pieces of long loops (src/mem.rs,
  # `for_chunks`) separate functions: wasm-opt inlines any function with a single caller, and
  # inlined they would run a whole first training or load in V8's baseline code.
  for wasm in pkg/ultra_efficient_llm_bg.wasm pkg/threads/ultra_efficient_llm_bg.wasm; do
    [ -f "${wasm}" ] || continue
    if ! grep -qa 'mem::call' "${wasm}"; then
      echo "build-pkg.sh: WARNING: ${wasm} has no function names, so --no-inline matches nothing" \
        "and first trainings and loads will run slower" >&2
    fi
    tools/node_modules/.bin/wasm-opt --no-inline='*mem::call*' -O3 "${wasm}" -o "${wasm}.opt"
    mv "${wasm}.opt" "${wasm}"
  done
fi

# The JS runtime sits next to the glue it imports (./ultra_efficient_llm.js).
cp js/*.js js/*.d.ts pkg/
# The npm README (install, quick start, API in brief, bundlers) replaces the repository README that
# wasm-pack copied; both license texts (the crate is MIT OR Apache-2.0) and the notice that says so.
cp js/README.md pkg/README.md
cp LICENSE LICENSE-MIT LICENSE-APACHE pkg/
# The core's generation presets go into index.js (see CORE_PRESETS there): each as the options in
# which it differs from the core's defaults, asked from the wasm just built, under Node.
node --input-type=module - <<'NODE'
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const core = await import(pathToFileURL('pkg/core-node.js').href);
await core.default();
const defaults = core.defaultGenerateOptions();
const presets = {};
for (const [name, options] of Object.entries(core.presets())) {
  presets[name] = Object.fromEntries(Object.entries(options).filter(([k, v]) => !Object.is(v, defaults[k])));
  if (Object.keys(presets[name]).length === 0) throw new Error(`build-pkg: the core preset ${name} is the defaults`);
}
const marker = '/* build-pkg.sh: core presets */ null';
const index = readFileSync('pkg/index.js', 'utf8');
if (index.split(marker).length !== 2) throw new Error(`build-pkg: pkg/index.js lacks "${marker}" (once)`);
writeFileSync('pkg/index.js', index.replace(marker, () => JSON.stringify(presets)));
NODE
# wasm-pack's pkg/.gitignore ('*') would hide files from some packers; the root .gitignore
# already ignores /pkg.
rm -f pkg/.gitignore

# The glue's classes declare `[Symbol.dispose]()`, which TypeScript knows only with the
# `esnext.disposable` library: say so in the declaration file itself, so that an app compiling
# with its own `lib` (and without skipLibCheck) needs no change (tests/e2e/types.test.mjs).
if ! grep -q 'reference lib="esnext.disposable"' pkg/ultra_efficient_llm.d.ts; then
  { echo '/// <reference lib="esnext.disposable" />'; cat pkg/ultra_efficient_llm.d.ts; } > pkg/ultra_efficient_llm.d.ts.tmp
  mv pkg/ultra_efficient_llm.d.ts.tmp pkg/ultra_efficient_llm.d.ts
fi

node --input-type=module - <<'NODE'
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
const generated = JSON.parse(readFileSync('pkg/package.json', 'utf8'));
// What the tarball holds, listed rather than "whatever is in pkg/", so that nothing else wasm-pack
// or a test leaves there is published: the glue, the runtime from js/, the README, the licenses.
const glue = ['ultra_efficient_llm.js', 'ultra_efficient_llm.d.ts', 'ultra_efficient_llm_bg.wasm',
  'ultra_efficient_llm_bg.wasm.d.ts'];
const runtime = readdirSync('js').filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'));
// snippets/: JavaScript that Rust code inlines with #[wasm_bindgen(module = ...)], imported by the
// glue (`./snippets/<crate>-<hash>/...`).
const snippets = readdirSync('pkg').includes('snippets') ? ['snippets'] : [];
// threads/: the threaded build's glue, .wasm and snippets (the same names), when it was built.
const threads = readdirSync('pkg').includes('threads') ? ['threads'] : [];
const files = [...glue, ...snippets, ...threads, ...runtime, 'README.md', 'LICENSE', 'LICENSE-MIT', 'LICENSE-APACHE'].sort();
const present = new Set(readdirSync('pkg'));
const missing = files.filter((f) => !present.has(f));
if (missing.length) throw new Error(`build-pkg: pkg/ lacks ${missing.join(', ')}`);
const pkg = {
  name: 'ultra-efficient-llm',
  version: generated.version,
  description: generated.description,
  license: generated.license,
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': { types: './index.d.ts', import: './index.js', default: './index.js' },
    // Under Node, core-node.js: the same module, whose init() reads the .wasm from disk.
    './core': { types: './ultra_efficient_llm.d.ts', node: './core-node.js', default: './ultra_efficient_llm.js' },
    './worker.js': './worker.js',
    './ultra_efficient_llm_bg.wasm': './ultra_efficient_llm_bg.wasm',
    './threads/ultra_efficient_llm_bg.wasm': './threads/ultra_efficient_llm_bg.wasm',
    './package.json': './package.json',
  },
  files,
  sideEffects: false,
  // No repository or homepage: the project has no public URL (Cargo.toml and README name none),
  // and a made-up one would send users to the wrong place.
  keywords: [...new Set([...(generated.keywords ?? []), 'webassembly', 'web-worker', 'browser',
    'language-model', 'ngram', 'text-generation'])],
};
writeFileSync('pkg/package.json', JSON.stringify(pkg, null, 2) + '\n');
NODE

WASM=pkg/ultra_efficient_llm_bg.wasm
RAW=$(wc -c < "${WASM}")
GZ=$(gzip -9 -c "${WASM}" | wc -c)
echo "build-pkg: ${WASM}: ${RAW} bytes, ${GZ} bytes gzipped (-9)"
if [ -f pkg/threads/ultra_efficient_llm_bg.wasm ]; then
  WASM=pkg/threads/ultra_efficient_llm_bg.wasm
  echo "build-pkg: ${WASM}: $(wc -c < "${WASM}") bytes, $(gzip -9 -c "${WASM}" | wc -c) bytes gzipped (-9)"
fi
echo "build-pkg: files: $(cd pkg && ls | tr '\n' ' ')"
