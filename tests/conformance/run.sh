#!/usr/bin/env bash
# Conformance suite: drives backendai-local-server with the official Python SDK through every
# scenario of the client examples: backend.ai-client 23.9.10 against --emulate 23.09, or
# (BAI_CONFORMANCE_SDK=26.9.6) 26.9.6 against --emulate 26.09.
#
#   tests/conformance/run.sh [pytest args...]
#
# BAI_LOCAL_SERVER=<path to binary>  use this server binary instead of building one.
# Exit code is pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# BAI_CONFORMANCE_SDK: 23.9.10 (default; Python 3.11, against --emulate 23.09) or 26.9.6
# (Python 3.13, against --emulate 26.09).
sdk="${BAI_CONFORMANCE_SDK:-23.9.10}"
case "$sdk" in
    23.9.10) release=23.09; pyver=3.11; req="$here/requirements.txt"; venv="$here/.venv" ;;
    26.9.6) release=26.09; pyver=3.13; req="$here/requirements-26.9.6.txt"; venv="$here/.venv-26.9.6" ;;
    *) echo "run.sh: unknown BAI_CONFORMANCE_SDK '$sdk' (23.9.10 or 26.9.6)" >&2; exit 2 ;;
esac
export BAI_CONFORMANCE_SDK="$sdk" BAI_CONFORMANCE_RELEASE="$release"
stamp="$venv/.requirements.sha256"

# The interpreter of that Python version: python3.X on PATH, else pyenv's, else python3 itself
# when it is that version.
find_python() {
    local v="$1" c
    local cands=()
    if command -v pyenv >/dev/null 2>&1; then
        for c in "$(pyenv root)"/versions/"$v".*/bin/python3 "$(pyenv root)"/versions/"$v"/bin/python3; do cands+=("$c"); done
    fi
    cands+=("$(command -v "python$v" 2>/dev/null || true)" "$(command -v python3 2>/dev/null || true)")
    for c in "${cands[@]}"; do
        [ -n "$c" ] && [ -x "$c" ] || continue
        if "$c" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$v' else 1)" 2>/dev/null; then
            echo "$c"; return 0
        fi
    done
    return 1
}

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
    python="$(find_python "$pyver")" || { echo "run.sh: Python $pyver is needed for the SDK $sdk (not found)" >&2; exit 2; }
    "$python" -m venv "$venv"
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
