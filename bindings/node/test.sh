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

server_pid=""
work=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$work" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -z "${BACKEND_ENDPOINT:-}" ]; then
  echo "test.sh: starting the local server" >&2
  (cd "$repo" && cargo build -p backendai-local-server)
  work="$(mktemp -d)"
  : >"$work/server.out"
  "$target/debug/backendai-local-server" --port 0 --data-dir "$work/data" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  url=""
  for _ in $(seq 1 600); do
    url="$(sed -n 's/^backendai-local-server listening on \(http[^ ]*\).*$/\1/p' "$work/server.out" 2>/dev/null | head -n1)"
    [ -n "$url" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "test.sh: the local server exited:" >&2
      cat "$work/server.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "test.sh: the local server did not report its address" >&2
    exit 1
  fi
  export BACKEND_ENDPOINT="$url"
  # The local server's default keypair (documented example values, not a secret).
  export BACKEND_ACCESS_KEY="${BACKEND_ACCESS_KEY:-AKIAIOSFODNN7EXAMPLE}"
  export BACKEND_SECRET_KEY="${BACKEND_SECRET_KEY:-wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}"
fi

cd "$here"
npm ci --no-audit --no-fund >/dev/null
node --test --test-concurrency=2 "$@" test/*.test.js
