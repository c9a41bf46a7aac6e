#!/usr/bin/env bash
# The project's test command: `bash scripts/test.sh` (CI runs it through .ci/run).
#
# 1. scripts/setup.sh installs what is missing (a warm machine skips everything);
# 2. format, clippy (native and wasm32), native tests (unit, integration, doc);
# 3. browser tests of the bindings crate in headless Chromium: bindings/wasm/tests/wasm.rs on a
#    page and bindings/wasm/tests/wasm_worker.rs in a dedicated worker;
# 4. end-to-end tests of the npm package (worker pool, IndexedDB) in Chromium (scripts/test-e2e.sh);
# 5. the same browser tests in headless Firefox (ESR, through geckodriver).
# Steps 3 and 5 run the browser tests twice: on the plain build, and on the threaded build
# (scripts/threads-env.sh: pinned nightly, std rebuilt with atomics, shared memory), which the
# test runner serves cross-origin isolated (it sends COOP and COEP unless
# WASM_BINDGEN_TEST_NO_ORIGIN_ISOLATION is set).
#
# SKIP_BROWSER=1 skips steps 3 to 5, SKIP_FIREFOX=1 step 5, for quick local runs; both are
# refused under CI.
# Exits non-zero on the first failure and ends with a plain summary line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

SKIP_BROWSER="${SKIP_BROWSER:-0}"
if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${SKIP_BROWSER}" = 1 ]; then
  echo "test.sh: SKIP_BROWSER=1 is for local runs only; CI must run the browser tests" >&2
  exit 2
fi
export SKIP_BROWSER
SKIP_FIREFOX="${SKIP_FIREFOX:-0}"
if [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${SKIP_FIREFOX}" = 1 ]; then
  echo "test.sh: SKIP_FIREFOX=1 is for local runs only; CI must run the Firefox tests" >&2
  exit 2
fi
export SKIP_FIREFOX

LOGS="$(mktemp -d)"
BROWSER_TMP=""
T0=$SECONDS
SECTION=""
SECTION_T0=$SECONDS
TIMES=()

section() {
  end_section
  SECTION="$1"
  SECTION_T0=$SECONDS
  printf '\n==================== %s ====================\n' "$SECTION"
}

end_section() {
  if [ -n "${SECTION}" ]; then
    TIMES+=("$(printf '%-32s %4ds' "${SECTION}" $((SECONDS - SECTION_T0)))")
  fi
  SECTION=""
}

# Runs a command, keeping its output in a log so the test counts can be added up at the end.
LOG_N=0
run_logged() {
  LOG_N=$((LOG_N + 1))
  "$@" 2>&1 | tee "${LOGS}/${LOG_N}.log"
}

# Adds up cargo's "test result: ... N passed; M failed; K ignored" lines and node's test runner
# summary ("ℹ pass N", "ℹ fail N", "ℹ skipped N") of all runs so far.
count() {
  cat /dev/null "${LOGS}"/*.log 2>/dev/null |
    sed -n -e 's/.*test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' \
      -e 's/^ℹ pass \([0-9]*\)$/\1 0 0/p' -e 's/^ℹ fail \([0-9]*\)$/0 \1 0/p' \
      -e 's/^ℹ skipped \([0-9]*\)$/0 0 \1/p' |
    awk '{p+=$1; f+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped", p, f, s}'
}

finish() {
  local rc=$?
  set +e
  local failed="${SECTION}"
  end_section
  local counts
  counts="$(count)"
  if [ -n "${BROWSER_TMP}" ]; then
    rm -rf "${BROWSER_TMP}"
  fi
  rm -rf "${LOGS}"
  printf '\n==================== summary ====================\n'
  if [ "${#TIMES[@]}" -gt 0 ]; then
    printf '  %s\n' "${TIMES[@]}"
  fi
  printf '  %-32s %4ds\n' "total" $((SECONDS - T0))
  if [ "${rc}" -ne 0 ]; then
    printf 'test.sh: FAILED in section "%s" (exit %d)\n' "${failed}" "${rc}"
  elif [ "${SKIP_BROWSER}" = 1 ]; then
    echo "test.sh: ok, browser tests SKIPPED (SKIP_BROWSER=1)"
  elif [ "${SKIP_FIREFOX}" = 1 ]; then
    echo "test.sh: ok, Firefox tests SKIPPED (SKIP_FIREFOX=1)"
  else
    echo "test.sh: ok"
  fi
  echo "summary: ${counts}"
  exit "${rc}"
}
trap finish EXIT

section "setup"
bash scripts/setup.sh

section "format"
cargo fmt --all -- --check

section "clippy (native)"
cargo clippy --workspace --all-targets -- -D warnings

# Both libraries (the core and the browser bindings, bindings/wasm) and the integration tests as
# compiled for the browser. Not --all-targets: the CLI binary and the examples are native-only.
section "clippy (wasm32)"
cargo clippy --target wasm32-unknown-unknown --workspace --lib --test '*' -- -D warnings

section "tests (native)"
# Unit, integration and doc tests of every crate of the workspace (`--all-targets` would skip the
# doc tests; natively the bindings crate is empty).
run_logged cargo test --workspace

if [ "${SKIP_BROWSER}" = 1 ]; then
  end_section
  echo "SKIP_BROWSER=1: browser tests skipped"
  exit 0
fi

section "tests (browser: page + worker)"
# chromedriver leaves a browser profile per run in $TMPDIR: keep them in a folder removed at exit.
BROWSER_TMP="$(mktemp -d)"
# --mode no-install: use the wasm-bindgen setup.sh installed, never download one. What follows the
# crate's path goes to `cargo test` as it is (no `--` between them).
TMPDIR="${BROWSER_TMP}" run_logged wasm-pack test --mode no-install --headless \
  --chrome --chromedriver "$(command -v chromedriver)" bindings/wasm --test wasm --test wasm_worker

# The threaded build's browser tests: the same tests, built by cargo with the pinned nightly
# (wasm-pack cannot pass -Z build-std) and run by wasm-bindgen-test-runner. $1: the driver's
# variable (CHROMEDRIVER or GECKODRIVER; the runner prefers GECKODRIVER, so only one is set), $2
# its path. The runner finds webdriver.json through WASM_BINDGEN_TEST_WEBDRIVER_JSON (cargo runs
# it from the workspace root, not from the crate's folder).
# shellcheck source=threads-env.sh
source scripts/threads-env.sh
threaded_browser_tests() {
  env -u CHROMEDRIVER -u GECKODRIVER "$1=$2" RUSTFLAGS="${THREADS_RUSTFLAGS}" \
    CARGO_TARGET_DIR="${THREADS_TARGET_DIR}" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    WASM_BINDGEN_TEST_WEBDRIVER_JSON="${PWD}/bindings/wasm/webdriver.json" \
    cargo "+${THREADS_TOOLCHAIN}" test "${THREADS_BUILD_STD}" --target wasm32-unknown-unknown \
    -p ultra-efficient-llm-wasm --test wasm --test wasm_worker
}

section "tests (browser, threaded build: page + worker)"
TMPDIR="${BROWSER_TMP}" run_logged threaded_browser_tests CHROMEDRIVER "$(command -v chromedriver)"

section "tests (end to end: npm package, worker pool, IndexedDB)"
# Builds pkg/, packs it, and drives a test page that imports it (playwright-core + Debian's
# chromium); see scripts/test-e2e.sh.
TMPDIR="${BROWSER_TMP}" run_logged bash scripts/test-e2e.sh

if [ "${SKIP_FIREFOX}" = 1 ]; then
  end_section
  echo "SKIP_FIREFOX=1: Firefox tests skipped"
  exit 0
fi

section "tests (browser: Firefox)"
# The same tests in headless Firefox. geckodriver is started through a wrapper that keeps Firefox
# off outside connections and gives it a temporary HOME (under $TMPDIR, removed at exit); Firefox
# itself comes from bindings/wasm/webdriver.json (`moz:firefoxOptions`: the test runner reads it
# from the folder of the crate it tests, as it does Chromium's options that keep it off the
# network). Only GECKODRIVER may be set for this run: the runner prefers it over CHROMEDRIVER,
# and wasm-pack sets it from --geckodriver.
TMPDIR="${BROWSER_TMP}" GECKODRIVER_BIN="$(command -v geckodriver)" run_logged env -u CHROMEDRIVER \
  wasm-pack test --mode no-install --headless --firefox \
  --geckodriver "${PWD}/scripts/geckodriver-wrapper.sh" bindings/wasm --test wasm --test wasm_worker

section "tests (browser, threaded build: Firefox)"
TMPDIR="${BROWSER_TMP}" GECKODRIVER_BIN="$(command -v geckodriver)" run_logged \
  threaded_browser_tests GECKODRIVER "${PWD}/scripts/geckodriver-wrapper.sh"
