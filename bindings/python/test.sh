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

# Without a server named in the environment, start the project's local server (the same
# helper the project's test command uses).
if [[ -z "${BACKEND_ENDPOINT:-}" ]]; then
    source "$REPO/scripts/lib.sh"
    (cd "$REPO" && cargo build -p backendai-local-server)
    trap stop_server EXIT
    start_server
fi

if ! "$PYTHON" -c "import pytest" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet pytest
fi

cd "$HERE"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
if [[ $# -eq 0 ]]; then set -- tests; fi
"$PYTHON" -m pytest -p no:cacheprovider -q "$@"
