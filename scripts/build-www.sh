#!/usr/bin/env bash
# Builds the static website into www/dist/ (gitignored): the app (www/*.html, *.js, *.css), the
# npm package from pkg/ (built by scripts/build-pkg.sh; BUILD_PKG=1 builds it first) as
# www/dist/pkg/, the bundled public-domain samples as www/dist/samples/, and the chart library
# (npm `uplot`, pinned in www/package-lock.json; `npm ci` when www/node_modules is missing) as
# www/dist/vendor/, and the ready-made models (trained here by the native CLI on data/corpus:
# www/dist/models/, with models/index.json; only the index is precached: loadUrl keeps the models). No bundler: the app imports './pkg/index.js' as an outside app would. The
# folder works on any static host. Last, the list of every file of www/dist and a hash of their
# contents are written into www/dist/sw.js (the service worker that precaches them for offline
# use), so each build with other contents is a new service worker with a new cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${BUILD_PKG:-0}" = 1 ] || [ ! -f pkg/package.json ]; then
  bash scripts/build-pkg.sh
fi

out=www/dist
rm -rf "$out"
if [ ! -f www/node_modules/uplot/dist/uPlot.esm.js ]; then
  (cd www && npm ci --no-audit --no-fund)
fi
mkdir -p "$out/pkg" "$out/samples" "$out/vendor"
cp www/*.html www/*.js www/*.css "$out/"
# Exactly the files the package publishes (package.json "files"), like an installed copy.
node --input-type=module -e '
import { readFileSync, cpSync } from "node:fs";
const pj = JSON.parse(readFileSync("pkg/package.json", "utf8"));
// Entries may be folders (the glue'\''s snippets/).
for (const f of [...pj.files, "package.json"]) cpSync(`pkg/${f}`, `www/dist/pkg/${f}`, { recursive: true });
'
cp www/node_modules/uplot/dist/uPlot.esm.js www/node_modules/uplot/dist/uPlot.min.css www/node_modules/uplot/LICENSE "$out/vendor/"
cp tests/fixtures/corpus/tiny.txt tests/fixtures/corpus/es-tiny.txt tests/fixtures/corpus/SOURCES.md "$out/samples/"
# Ready-made models: order 5, patterns seen twice or more (en: about 1.3 MB, 0.5 MB gzipped).
cargo build --release --quiet --bin uellm
mkdir -p "$out/models"
for lang in en es; do
  target/release/uellm train "data/corpus/${lang}-train.txt" -o "$out/models/${lang}.uelm" --order 5 --min-frequency 2 --json \
    > "$out/models/${lang}.json"
done
cp data/corpus/SOURCES.md "$out/models/SOURCES.md"
node --input-type=module -e '
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
const dir = "www/dist/models";
const about = { en: ["English", "Jane Austen’s novels and Moby-Dick"], es: ["Spanish", "the Reina-Valera Bible (1909)"] };
const models = Object.entries(about).map(([lang, [language, source]]) => {
  const file = readFileSync(`${dir}/${lang}.uelm`);
  const trained = JSON.parse(readFileSync(`${dir}/${lang}.json`, "utf8"));
  rmSync(`${dir}/${lang}.json`);
  return { id: lang, language, source, url: `./models/${lang}.uelm`, bytes: file.length,
    integrity: `sha256-${createHash("sha256").update(file).digest("base64")}`,
    order: trained.info?.order ?? null, patterns: trained.info?.patterns ?? null };
});
writeFileSync(`${dir}/index.json`, JSON.stringify({ models }, null, 2) + "\n");
console.log(`build-www: models ${models.map((m) => `${m.id} ${m.bytes} bytes`).join(", ")}`);
'
# Precache list + version for the service worker (sw.js itself is not listed: the browser fetches
# and update-checks it on its own).
node --input-type=module -e '
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
const root = "www/dist";
const files = readdirSync(root, { recursive: true, withFileTypes: true })
  .filter((d) => d.isFile())
  .map((d) => `${d.parentPath ?? d.path}/${d.name}`.slice(root.length + 1))
  .filter((f) => f !== "sw.js" && (!f.startsWith("models/") || f === "models/index.json"))
  .sort();
const h = createHash("sha256");
for (const f of files) h.update(`${f}\0`).update(createHash("sha256").update(readFileSync(`${root}/${f}`)).digest());
const manifest = { version: h.digest("hex").slice(0, 16), files: files.map((f) => `./${f}`) };
const sw = readFileSync(`${root}/sw.js`, "utf8");
const re = /\/\*PRECACHE\*\/[^]*?\/\*END PRECACHE\*\//;
if (!re.test(sw)) throw new Error("sw.js: the PRECACHE placeholder is missing");
writeFileSync(`${root}/sw.js`, sw.replace(re, () => JSON.stringify(manifest)));
console.log(`build-www: precache ${manifest.files.length} files, version ${manifest.version}`);
'
echo "build-www: $out: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
