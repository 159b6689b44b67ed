#!/usr/bin/env bash
# Conformance suite: drives backendai-local-server with the official Python SDK
# (backend.ai-client 23.9.10) through every scenario of the client examples.
#
#   tests/conformance/run.sh [pytest args...]
#
# BAI_LOCAL_SERVER=<path to binary>  use this server binary instead of building one.
# Exit code is pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
fi

if [ -z "${BAI_LOCAL_SERVER:-}" ]; then
    # cargo is a no-op when the binary is up to date.
    (cd "$repo" && cargo build --quiet -p backendai-local-server)
    target_dir="${CARGO_TARGET_DIR:-$repo/target}"
    export BAI_LOCAL_SERVER="$target_dir/debug/backendai-local-server"
fi
if [ ! -x "$BAI_LOCAL_SERVER" ]; then
    echo "run.sh: server binary not found or not executable: $BAI_LOCAL_SERVER" >&2
    exit 2
fi
# pytest runs from this directory: make a relative path absolute first.
BAI_LOCAL_SERVER="$(cd "$(dirname "$BAI_LOCAL_SERVER")" && pwd)/$(basename "$BAI_LOCAL_SERVER")"
export BAI_LOCAL_SERVER

cd "$here"
set +e
"$venv/bin/python" -m pytest "$@"
exit $?
