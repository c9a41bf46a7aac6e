#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already there, so a warm
# machine pays nothing. Only package registries are used (rustup, crates.io, Debian, npm).
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130 # must equal the `wasm-bindgen = "=..."` pin in bindings/wasm/Cargo.toml
WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1 # Firefox's WebDriver, for the browser tests in Firefox

log() { printf '[setup] %s\n' "$*"; }

# A fresh rustup may lack the lint and format components the tests run.
installed_components=$(rustup component list --installed)
for component in rustfmt clippy; do
  if ! grep -q "^${component}-" <<<"${installed_components}"; then
    log "adding the ${component} component"
    rustup component add "${component}"
  fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The threaded build's pinned nightly (scripts/threads-env.sh), with the std sources that
# `-Z build-std` rebuilds and the wasm32 target.
# shellcheck source=threads-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/threads-env.sh"
# (Each list is read whole before grep -q looks at it: see the geckodriver check below.)
threads_components="$(rustup component list --toolchain "${THREADS_TOOLCHAIN}" --installed 2>/dev/null || true)"
threads_targets="$(rustup target list --toolchain "${THREADS_TOOLCHAIN}" --installed 2>/dev/null || true)"
if ! rustup run "${THREADS_TOOLCHAIN}" rustc --version >/dev/null 2>&1 ||
  ! grep -q '^rust-src' <<<"${threads_components}" ||
  ! grep -qx wasm32-unknown-unknown <<<"${threads_targets}"; then
  log "installing the ${THREADS_TOOLCHAIN} toolchain with rust-src and wasm32-unknown-unknown (the threaded build)"
  rustup toolchain install "${THREADS_TOOLCHAIN}" --profile minimal --component rust-src \
    --target wasm32-unknown-unknown
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
  log "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (a few minutes)"
  # --locked fails for this version here (its lock names a crate version the registry lacks).
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force
fi

if ! wasm-pack --version 2>/dev/null | grep -q " ${WASM_PACK_VERSION}\$"; then
  log "installing wasm-pack ${WASM_PACK_VERSION} (a few minutes)"
  cargo install wasm-pack --version "${WASM_PACK_VERSION}" --locked --force
fi

if [ "${SKIP_BROWSER:-0}" != 1 ] && { ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; }; then
  log "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
# Firefox ESR and geckodriver: the same browser tests also run in headless Firefox.
# SKIP_FIREFOX=1 (or SKIP_BROWSER=1) skips them.
if [ "${SKIP_BROWSER:-0}" != 1 ] && [ "${SKIP_FIREFOX:-0}" != 1 ]; then
  if ! [ -x /usr/bin/firefox-esr ]; then
    log "installing Debian's firefox-esr"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends firefox-esr >/dev/null
  fi
  # The output is read whole first: `grep -q` stops reading at the match, and geckodriver, which
  # prints several lines, would die of SIGPIPE, which pipefail takes for a missing geckodriver
  # (a needless 2-minute reinstall).
  GECKODRIVER_FOUND="$(geckodriver --version 2>/dev/null || true)"
  if ! grep -q "^geckodriver ${GECKODRIVER_VERSION}\b" <<<"${GECKODRIVER_FOUND}"; then
    log "installing geckodriver ${GECKODRIVER_VERSION} (about 2 minutes)"
    cargo install geckodriver --version "${GECKODRIVER_VERSION}" --locked --force
  fi
fi
log "ready"
