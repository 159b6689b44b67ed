#!/usr/bin/env bash
# Builds the C++ wrapper's tests with CMake and runs them against a local server.
#
# Environment (all optional):
#   BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY  a running server; when
#       BACKEND_ENDPOINT is unset, the local server is built, started on port 0 and stopped
#       on exit.
#   BACKENDAI_LIB_DIR      directory of libbackendai.so/.a (default: <repo>/target/debug, built)
#   BACKENDAI_INCLUDE_DIR  directory of backendai.h (default: <repo>/include)
#   BACKENDAI_STATIC=1     link the static library instead of the shared one
#   BACKENDAI_SANITIZE=0   build the tests without AddressSanitizer, UBSan and LeakSanitizer
#                          (on by default: the lifetime tests rely on them)
#   BUILD_DIR              CMake build directory (default: bindings/cpp/build)
#   Extra arguments are passed to the test binary (e.g. --gtest_filter=Scenario.*).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

if [[ -z "${BACKENDAI_LIB_DIR:-}" ]]; then
    if ! (cd "$REPO" && cargo build --lib); then
        if [[ -f "$REPO/target/debug/libbackendai.so" ]]; then
            echo "test.sh: cargo build failed; using the existing target/debug library" >&2
        else
            exit 2
        fi
    fi
    export BACKENDAI_LIB_DIR="$REPO/target/debug"
fi
BACKENDAI_INCLUDE_DIR="${BACKENDAI_INCLUDE_DIR:-$REPO/include}"
BUILD_DIR="${BUILD_DIR:-$HERE/build}"
STATIC=OFF
if [[ "${BACKENDAI_STATIC:-0}" == 1 ]]; then STATIC=ON; fi
CXXFLAGS_EXTRA=""
if [[ "${BACKENDAI_SANITIZE:-1}" == 1 ]]; then
    CXXFLAGS_EXTRA="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    BUILD_DIR="${BUILD_DIR}-sanitize"
fi

cmake -S "$HERE" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Debug \
    -DBACKENDAI_LIB_DIR="$BACKENDAI_LIB_DIR" -DBACKENDAI_INCLUDE_DIR="$BACKENDAI_INCLUDE_DIR" \
    -DBACKENDAI_STATIC="$STATIC" -DCMAKE_CXX_FLAGS="$CXXFLAGS_EXTRA" >/dev/null
cmake --build "$BUILD_DIR" -j 2

# Without a server named in the environment, start the project's local server (the same
# helper the project's test command uses).
if [[ -z "${BACKEND_ENDPOINT:-}" ]]; then
    source "$REPO/scripts/lib.sh"
    (cd "$REPO" && cargo build -p backendai-local-server)
    trap stop_server EXIT
    start_server
fi

# Relative upload paths and scratch files stay out of the source tree.
work="$(mktemp -d)"
if declare -F stop_server >/dev/null; then
    trap 'stop_server; rm -rf "$work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
cd "$work"
"$BUILD_DIR/backendai_cpp_tests" "$@"
