#!/usr/bin/env bash
# Coverage-guided fuzzing of the core with cargo-fuzz (libFuzzer), outside CI:
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Runs each target (default: all five, see fuzz/src/lib.rs) for SECONDS (default 600) or
# 10,000,000 executions, whichever comes first, with one job, and prints a line per target:
# executions, executions per second, coverage (cov: edges, ft: features) and the crash file if
# there is one. Installs what is missing: the nightly toolchain (cargo-fuzz needs it) and
# cargo-fuzz from crates.io.
#
# Each target grows its corpus in fuzz/corpus/TARGET/ (only the seed-* files there are
# committed) and writes a crashing input to fuzz/artifacts/TARGET/. To turn one into a
# regression test: minimize it (cargo +nightly fuzz tmin TARGET FILE), copy the result into
# fuzz/regressions/TARGET/, fix the crate; `cargo test` replays every file there
# (tests/fuzz_regressions.rs). Logs go to fuzz/logs/ (not committed).
#
# Exits 1 when a target crashed, 0 otherwise.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

SECS="${1:-600}"
shift || true
TARGETS=("$@")
if [ "${#TARGETS[@]}" -eq 0 ]; then
  TARGETS=(model_decoder model_body arpa_reader tokenizer options index_image count_shard)
fi
MAX_RUNS="${MAX_RUNS:-10000000}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

mkdir -p fuzz/logs
crashed=0
summary=()
for t in "${TARGETS[@]}"; do
  log="fuzz/logs/${t}.log"
  # One process, one job: libFuzzer's default (its -jobs=1 would run the same single job in
  # a child process that logs to ./fuzz-0.log instead of here).
  args=(-max_total_time="${SECS}" -runs="${MAX_RUNS}" -print_final_stats=1)
  # -timeout: every target does microseconds to milliseconds of work per input; 10 s is a hang.
  args+=(-timeout=10 -rss_limit_mb=2048)
  if [ -f "fuzz/dicts/${t}.dict" ]; then
    args+=(-dict="fuzz/dicts/${t}.dict")
  fi
  echo "fuzz.sh: ${t} for ${SECS} s or ${MAX_RUNS} executions (log: ${log})"
  rc=0
  cargo +nightly fuzz run "${t}" -- "${args[@]}" >"${log}" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -1)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "${log}" | tail -1 || true)"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "${log}" | tail -1)"
  if [ "${rc}" -ne 0 ]; then
    crashed=1
    line="${t}: CRASHED after ${runs:-?} executions (${rate:-?}/s, ${cov:-no coverage line}): ${crash:-see ${log}}"
  else
    line="${t}: ${runs:-?} executions, ${rate:-?}/s, ${cov:-no coverage line}, no crash"
  fi
  echo "${line}"
  summary+=("${line}")
done
printf '\n==================== fuzz summary ====================\n'
printf '%s\n' "${summary[@]}"
exit "${crashed}"
