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

# Without a server named in the environment, start the project's local server (the same
# helper the project's test command uses).
if [ -z "${BACKEND_ENDPOINT:-}" ]; then
  source "$repo/scripts/lib.sh"
  (cd "$repo" && cargo build -p backendai-local-server)
  trap stop_server EXIT
  start_server
fi

# The package links through `#cgo pkg-config: backendai`; for the tests, a pkg-config file
# describes the library of this tree (an installed prefix brings its own).
pc_dir="$(mktemp -d)"
trap 'rm -rf "$pc_dir"; if declare -F stop_server >/dev/null; then stop_server; fi' EXIT
cat >"$pc_dir/backendai.pc" <<PC
Name: backendai
Description: libbackendai of the source tree
Version: $(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)
Libs: -L$lib_dir -lbackendai
Cflags: -I$inc_dir
PC
export CGO_ENABLED=1
export PKG_CONFIG_PATH="$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$lib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

cd "$here"
go vet ./...
go test -race -count=1 -timeout 900s "$@" ./...
