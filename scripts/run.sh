#!/usr/bin/env bash
# The main job: builds the npm package and the website (www/dist) and serves it on 127.0.0.1,
# printing the URL; runs until interrupted (Ctrl-C). PORT=8080 by default.
#
#   bash scripts/run.sh                      the website: http://127.0.0.1:${PORT:-8080}/
#   bash scripts/run.sh --cli [TEXT_FILE...] the native CLI demo: train a model on the bundled
#                                            public-domain sample (default tests/fixtures/corpus/tiny.txt),
#                                            inspect it and generate seeded text
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -d "${HOME:-/root}/.cargo/bin" ]; then
  export PATH="${HOME:-/root}/.cargo/bin:${PATH}"
fi

if [ "${1:-}" = "--cli" ]; then
  shift
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
  exit 0
fi

PORT="${PORT:-8080}"
# Toolchain (Rust, wasm target, wasm-bindgen, wasm-pack): no browser is needed to serve.
SKIP_BROWSER=1 SKIP_FIREFOX=1 bash scripts/setup.sh
bash scripts/build-pkg.sh
bash scripts/build-www.sh

echo
echo "Serving the website at http://127.0.0.1:${PORT}/  (Ctrl-C to stop)"
# With COOP and COEP (scripts/serve.py): the page is cross-origin isolated, so the generation
# workers share one model (the package's threaded build).
exec python3 scripts/serve.py "${PORT}" www/dist
