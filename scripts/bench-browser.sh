#!/usr/bin/env bash
# The browser benchmark: `bash scripts/bench-browser.sh [--runs N] [--corpus DIR] [--cpu N] [--smoke] [--json-out PATH]
#   [--memory-only | --no-memory]`.
#
# One command, headless Chromium (/usr/bin/chromium through playwright-core; no browser download):
#   1. builds pkg/ (scripts/build-pkg.sh), the native benchmark and CLI (cargo build --release
#      --bin uellm-bench --bin uellm), installs tests/e2e's npm dependencies when missing (the
#      harness borrows their playwright-core and static server: bench/browser/deps.mjs);
#   2. runs bench/browser/run.mjs: the package API in Chromium (create({workers: 4}), train at
#      order 5, save/load through IndexedDB, single / 3 concurrent / throughput generation, tokens/s
#      inside a worker) and the core benchmark in a dedicated worker, right after a native
#      `uellm-bench --runs 1` on the same corpus (and the same with --like-wasm: one thread, 4 KiB
#      pages); N runs, medians, and wasm/native ratios taken within each run (median of the
#      paired ratios: the machine's speed drifts between runs); generation is paired per slice
#      with a native `uellm-bench --generation-slices` process timing the same requests right
#      before and after each browser slice;
#   3. prints the table (figure | browser (wasm) | native | ratio | target | met?) and writes all
#      raw runs and the medians to target/bench-browser.json;
#   4. the memory benchmark, bench/browser/memory.mjs: the page's memory with the model (the
#      corpus at order 5) loaded into pools of 1, 2, 4, 8 and 16 workers, unloaded and loaded
#      again, in a fresh browser each, plain and cross-origin isolated: the page's renderer
#      process from /proc (RSS, PSS, USS) and the pool's own figures (WebAssembly memory and
#      model bytes per worker); table on stdout, target/bench-browser-memory.json.
#      --memory-only runs this step alone (no native build needed); --no-memory skips it.
#
# --cpu N: run everything (Chromium and its workers, the native runs) on CPU N only (taskset), so
# that a wasm/native ratio compares the same core. On the 2-vCPU machines this was written on,
# memory-bound work (loading, generation) ran up to 1.7x slower on one vCPU than on the other
# while plain arithmetic ran the same, and an unpinned run lands on either. The pool figures
# (throughput, concurrency, frame gaps) then share one core: compare them with unpinned runs only.
#
# Corpus: DIR/en-train.txt (DIR defaults to ../shared/corpus); falls back to
# tests/fixtures/corpus/tiny.txt with a warning. --smoke: tiny.txt, 1 run, few requests, memory
# with 1 and 2 workers only, JSON in target/bench-browser.smoke.json and
# target/bench-browser-memory.smoke.json (a check that the command works, not a measurement).
# CHROMIUM=/path overrides the browser. Not part of the test suite (it takes minutes).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

RUNS=3
CORPUS_DIR=../shared/corpus
SMOKE=0
JSON_OUT=
CPU=
MEMORY=1
TIMING=1
usage() { sed -n '2,36p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="${2:?--runs needs a value}"; shift 2 ;;
    --runs=*) RUNS="${1#*=}"; shift ;;
    --corpus) CORPUS_DIR="${2:?--corpus needs a folder}"; shift 2 ;;
    --corpus=*) CORPUS_DIR="${1#*=}"; shift ;;
    --json-out) JSON_OUT="${2:?--json-out needs a path}"; shift 2 ;;
    --json-out=*) JSON_OUT="${1#*=}"; shift ;;
    --cpu) CPU="${2:?--cpu needs a CPU number}"; shift 2 ;;
    --cpu=*) CPU="${1#*=}"; shift ;;
    --smoke) SMOKE=1; shift ;;
    --memory-only) TIMING=0; MEMORY=1; shift ;;
    --no-memory) MEMORY=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-browser.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "${RUNS}" in ''|*[!0-9]*|0) echo "bench-browser.sh: --runs must be a positive integer" >&2; exit 2 ;; esac
PIN=()
if [ -n "${CPU}" ]; then
  case "${CPU}" in *[!0-9]*) echo "bench-browser.sh: --cpu must be a CPU number" >&2; exit 2 ;; esac
  if ! command -v taskset >/dev/null 2>&1; then
    echo "bench-browser.sh: --cpu needs taskset (util-linux)" >&2
    exit 2
  fi
  # Children inherit the affinity: Chromium, its workers and the native runs all stay there.
  PIN=(taskset -c "${CPU}")
fi

START=$(date +%s)
CHROME="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "${CHROME}" ]; then
  echo "bench-browser.sh: ${CHROME} is missing (scripts/setup.sh installs it)" >&2
  exit 2
fi

if [ "${SMOKE}" = 1 ]; then
  CORPUS=tests/fixtures/corpus/tiny.txt
  RUNS=1
  NATIVE_REQUESTS=200
  JSON_OUT="${JSON_OUT:-target/bench-browser.smoke.json}"
  MEMORY_JSON=target/bench-browser-memory.smoke.json
  MEMORY_ARGS=(--order 3 --workers 1,2)
else
  CORPUS="${CORPUS_DIR%/}/en-train.txt"
  if [ ! -f "${CORPUS}" ]; then
    echo "bench-browser.sh: WARNING: ${CORPUS} is missing; falling back to tests/fixtures/corpus/tiny.txt (figures are not comparable with the targets)" >&2
    CORPUS=tests/fixtures/corpus/tiny.txt
  fi
  NATIVE_REQUESTS=2000
  JSON_OUT="${JSON_OUT:-target/bench-browser.json}"
  MEMORY_JSON=target/bench-browser-memory.json
  MEMORY_ARGS=(--order 5 --workers 1,2,4,8,16)
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/uellm-bench-browser.XXXXXX")"
cleanup() { rm -rf "${TMP}"; }
trap cleanup EXIT

bash scripts/build-pkg.sh >&2
if [ "${TIMING}" = 1 ]; then
  echo "bench-browser: building the native benchmark and the CLI" >&2
  cargo build --release --bin uellm-bench --bin uellm >&2
fi
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  (cd tests/e2e && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; }) >&2
fi

SMOKE_FLAG=()
[ "${SMOKE}" = 1 ] && SMOKE_FLAG=(--smoke)
# Chromium's own temporary files (besides the profile, which run.mjs puts in its temp folder).
# run.mjs runs `uellm-bench --runs 1` before each browser run (paired native figures), and
# `uellm train` once for the model of the generation slices.
CPU_FLAG=()
[ -n "${CPU}" ] && CPU_FLAG=(--pinned-cpu "${CPU}")
if [ "${TIMING}" = 1 ]; then
  TMPDIR="${TMP}" "${PIN[@]}" node bench/browser/run.mjs --corpus-file "${CORPUS}" --runs "${RUNS}" \
    --native-cmd "${CARGO_TARGET_DIR:-target}/release/uellm-bench" \
    --train-cmd "${CARGO_TARGET_DIR:-target}/release/uellm" --native-requests "${NATIVE_REQUESTS}" \
    --json-out "${JSON_OUT}" "${SMOKE_FLAG[@]}" "${CPU_FLAG[@]}"
fi
if [ "${MEMORY}" = 1 ]; then
  # A fresh browser per pool size and page mode; the model is trained by the package's wasm in
  # Node (the same file a train() in the page makes).
  TMPDIR="${TMP}" "${PIN[@]}" node bench/browser/memory.mjs --corpus-file "${CORPUS}" \
    --json-out "${MEMORY_JSON}" "${MEMORY_ARGS[@]}"
fi

echo "bench-browser: done in $(( $(date +%s) - START )) s" >&2
