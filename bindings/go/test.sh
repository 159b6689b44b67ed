#!/usr/bin/env bash
# Builds the Go binding against libbackendai and runs its tests against a Backend.AI server.
#
# Environment: BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY name the server (when
# BACKEND_ENDPOINT is unset, the project's local server is built and started on a free port
# for the duration of the run); BACKENDAI_LIB_DIR (default <repo>/target/debug) and
# BACKENDAI_INCLUDE_DIR (default <repo>/include) locate the library and its header.
# Extra arguments go to `go test` (e.g. -run TestScenario -v).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
lib_dir="${BACKENDAI_LIB_DIR:-$target/debug}"
inc_dir="${BACKENDAI_INCLUDE_DIR:-$repo/include}"

if [ ! -e "$lib_dir/libbackendai.so" ] && [ ! -e "$lib_dir/libbackendai.a" ]; then
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

export CGO_ENABLED=1
export CGO_CFLAGS="-I$inc_dir ${CGO_CFLAGS:-}"
export CGO_LDFLAGS="-L$lib_dir -Wl,-rpath,$lib_dir ${CGO_LDFLAGS:-}"
export LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cd "$here"
go vet ./...
go test -race -count=1 -timeout 900s "$@" ./...
