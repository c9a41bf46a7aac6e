#!/usr/bin/env bash
# End-to-end tests of the npm package in headless Chromium (playwright-core, /usr/bin/chromium):
# builds pkg/ (scripts/build-pkg.sh), installs the test's npm deps in tests/e2e (no browser
# download), packs pkg/ with `npm pack`, serves the tarball's files and a test page on
# 127.0.0.1 and runs `node --test tests/e2e/` (with, besides the browser tests, the package in
# Node.js: node.test.mjs, its TypeScript declarations under tsc --strict: types.test.mjs, and
# what `npm publish --dry-run` would upload: publish.test.mjs), then pool.test.mjs again on a
# cross-origin isolated page (UELLM_E2E_ISOLATED=1: the threaded build).
# Exits non-zero on failure; ends with node's test runner summary. CHROMIUM=/path overrides the
# browser.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

E2E_TMP="$(mktemp -d "${TMPDIR:-/tmp}/uellm-e2e.XXXXXX")"
cleanup() { rm -rf "${E2E_TMP}"; }
trap cleanup EXIT

bash scripts/build-pkg.sh

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  echo "test-e2e.sh: /usr/bin/chromium is missing (scripts/setup.sh installs it)" >&2
  exit 2
fi

(cd tests/e2e && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; })

# The tests pack pkg/ into UELLM_E2E_TMP and give Chromium a fresh profile there. One file at a
# time: fixtures.test.mjs (npm install, vite build) must not overlap the timing checks of
# pool.test.mjs.
UELLM_E2E_TMP="${E2E_TMP}" node --test --test-concurrency=1 --test-reporter=spec tests/e2e/
# The pool's tests again on a cross-origin isolated page (COOP/COEP): the threaded build, one
# memory and one model for the generation workers (tests/e2e/threads.test.mjs checks that it is).
# A folder of its own: a fresh browser profile (no IndexedDB of the first run).
mkdir -p "${E2E_TMP}/isolated"
UELLM_E2E_TMP="${E2E_TMP}/isolated" UELLM_E2E_ISOLATED=1 node --test --test-reporter=spec tests/e2e/pool.test.mjs
