#!/usr/bin/env bash
# Runs the Python binding's tests against a local server.
#
# Environment (all optional):
#   BACKEND_ENDPOINT, BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY  a running server; when
#       BACKEND_ENDPOINT is unset, the local server is built, started on port 0 and stopped
#       on exit.
#   BACKENDAI_LIB_DIR      directory of libbackendai.so (default: <repo>/target/debug, built)
#   PYTHON                 interpreter (default: python3)
#   Extra arguments are passed to pytest.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

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
if [[ -z "${BACKENDAI_LIB:-}" ]]; then
    export BACKENDAI_LIB="$BACKENDAI_LIB_DIR/libbackendai.so"
fi
if [[ ! -f "$BACKENDAI_LIB" ]]; then
    echo "test.sh: $BACKENDAI_LIB does not exist" >&2
    exit 2
fi

SERVER_PID=""
SERVER_DIR=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_DIR" ]]; then
        rm -rf "$SERVER_DIR"
    fi
}
trap cleanup EXIT

if [[ -z "${BACKEND_ENDPOINT:-}" ]]; then
    if ! (cd "$REPO" && cargo build -p backendai-local-server); then
        if [[ -x "$REPO/target/debug/backendai-local-server" ]]; then
            echo "test.sh: cargo build failed; using the existing local server binary" >&2
        else
            exit 2
        fi
    fi
    SERVER_DIR="$(mktemp -d)"
    mkfifo "$SERVER_DIR/out"
    "$REPO/target/debug/backendai-local-server" --port 0 --data-dir "$SERVER_DIR/data" \
        >"$SERVER_DIR/out" 2>"$SERVER_DIR/stderr.log" &
    SERVER_PID=$!
    exec 3<"$SERVER_DIR/out"
    line=""
    if ! read -r -t 60 line <&3; then
        echo "test.sh: the local server did not report its address; its stderr:" >&2
        tail -n 40 "$SERVER_DIR/stderr.log" >&2 || true
        exit 2
    fi
    # Keep draining its stdout so it never blocks on a full pipe.
    cat <&3 >/dev/null &
    exec 3<&-
    if [[ "$line" =~ listening\ on\ (http://[^[:space:]]+) ]]; then
        export BACKEND_ENDPOINT="${BASH_REMATCH[1]}"
    else
        echo "test.sh: unexpected first line from the local server: $line" >&2
        exit 2
    fi
    export BACKEND_ACCESS_KEY="${BACKEND_ACCESS_KEY:-AKIAIOSFODNN7EXAMPLE}"
    export BACKEND_SECRET_KEY="${BACKEND_SECRET_KEY:-wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}"
fi

if ! "$PYTHON" -c "import pytest" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet pytest
fi

cd "$HERE"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then set -- tests; fi
"$PYTHON" -m pytest -p no:cacheprovider -q "$@"
