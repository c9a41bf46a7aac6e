#!/usr/bin/env bash
# The main job. Until the website exists (issue 4) it runs the native CLI end to end: build it,
# train a model on the bundled public-domain sample, inspect it, and generate seeded text.
#
#   bash scripts/run.sh [TEXT_FILE...]     (default: tests/fixtures/corpus/tiny.txt)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

cargo build --release --bin uellm
bin=target/release/uellm
out=target/run
mkdir -p "$out"
if [ "$#" -eq 0 ]; then
  set -- tests/fixtures/corpus/tiny.txt
fi

echo "== train (order 5) on: $*"
"$bin" train "$@" -o "$out/model.uelm" --order 5
echo
echo "== inspect"
"$bin" inspect "$out/model.uelm"
echo
echo "== generate (seed 42)"
"$bin" generate "$out/model.uelm" "It is a truth" --seed 42 --max-tokens 60 --no-stop
echo
echo "== generate (seed 7, temperature 0.8, top-k 40)"
"$bin" generate "$out/model.uelm" "She was" --seed 7 --max-tokens 60 --temperature 0.8 --top-k 40
