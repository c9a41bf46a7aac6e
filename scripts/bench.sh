#!/usr/bin/env bash
# The project benchmark: `bash scripts/bench.sh [uellm-bench options]`.
#
# Builds the benchmark binary, uellm-bench (src/bin/uellm-bench/), in release mode and runs it
# from the repository root, so the defaults apply: corpus ../shared/corpus/{en,es}-train.txt,
# 3 runs (medians), JSON in target/bench.json. Every argument is passed on, e.g.:
#   bash scripts/bench.sh --runs 5
#   bash scripts/bench.sh ../shared/corpus/en-train.txt --requests 5000 --json-out /tmp/b.json
# See `target/release/uellm-bench --help`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

# uellm too: --scale-memory runs `uellm train --memory` beside the benchmark.
cargo build --release --bin uellm-bench --bin uellm
exec "${CARGO_TARGET_DIR:-target}/release/uellm-bench" "$@"
