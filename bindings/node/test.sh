#!/usr/bin/env bash
# Installs the Node binding's dependencies and runs its tests against a Backend.AI server.
#
# Environment: BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY name the server (when
# BACKEND_ENDPOINT is unset, the project's local server is built and started on a free port
# for the duration of the run); BACKENDAI_LIB_DIR (default <repo>/target/debug) locates
# libbackendai; BACKENDAI_INCLUDE_DIR is accepted for symmetry (Koffi needs no header).
# Extra arguments go to `node --test` (e.g. --test-name-pattern=abort).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
export BACKENDAI_LIB_DIR="${BACKENDAI_LIB_DIR:-$target/debug}"

if [ ! -e "$BACKENDAI_LIB_DIR/libbackendai.so" ] && [ ! -e "$BACKENDAI_LIB_DIR/libbackendai.dylib" ]; then
  echo "test.sh: building libbackendai" >&2
  (cd "$repo" && cargo build -p backendai)
fi

# Without a server named in the environment, start the project's local server (the same
# helper the project's test command uses).
if [ -z "${BACKEND_ENDPOINT:-}" ]; then
  source "$repo/scripts/lib.sh"
  (cd "$repo" && cargo build -p backendai-local-server)
  trap stop_server EXIT
  start_server
fi

cd "$here"
npm ci --no-audit --no-fund >/dev/null
node --test --test-concurrency=2 "$@" test/*.test.js
