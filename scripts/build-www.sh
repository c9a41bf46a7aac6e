#!/usr/bin/env bash
# Builds the static website into www/dist/ (gitignored): the app (www/*.html, *.js, *.css), the
# npm package from pkg/ (built by scripts/build-pkg.sh; BUILD_PKG=1 builds it first) as
# www/dist/pkg/, the bundled public-domain samples as www/dist/samples/, and the chart library
# (npm `uplot`, pinned in www/package-lock.json; `npm ci` when www/node_modules is missing) as
# www/dist/vendor/. No bundler: the app imports './pkg/index.js' as an outside app would. The
# folder works on any static host.
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
import { readFileSync, copyFileSync } from "node:fs";
const pj = JSON.parse(readFileSync("pkg/package.json", "utf8"));
for (const f of [...pj.files, "package.json"]) copyFileSync(`pkg/${f}`, `www/dist/pkg/${f}`);
'
cp www/node_modules/uplot/dist/uPlot.esm.js www/node_modules/uplot/dist/uPlot.min.css www/node_modules/uplot/LICENSE "$out/vendor/"
cp tests/fixtures/corpus/tiny.txt tests/fixtures/corpus/es-tiny.txt tests/fixtures/corpus/SOURCES.md "$out/samples/"
echo "build-www: $out: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
