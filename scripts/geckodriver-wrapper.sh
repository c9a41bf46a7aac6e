#!/usr/bin/env bash
# geckodriver for the browser tests in Firefox (scripts/test.sh passes this file to
# `wasm-pack test --firefox --geckodriver`): Firefox must not try outside connections, and must
# not write into the real $HOME (geckodriver ignores `moz:firefoxOptions.env`, so the variables
# are set here). The temporary HOME is made under $TMPDIR, which test.sh removes at the end.
set -euo pipefail
GECKODRIVER_BIN="${GECKODRIVER_BIN:-$(command -v geckodriver)}"
HOME="$(mktemp -d "${TMPDIR:-/tmp}/firefox-home.XXXXXX")"
export HOME
export MOZ_DISABLE_NONLOCAL_CONNECTIONS=1
# exec: the test runner stops the driver by killing the process it started.
exec "${GECKODRIVER_BIN}" "$@"
