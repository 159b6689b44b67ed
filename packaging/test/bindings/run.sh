#!/usr/bin/env bash
# Each binding installed the way its ecosystem expects, then the example of its README run
# against a server: python.sh (wheel into a venv), go.sh (module through a module proxy,
# pkg-config), node.sh (npm tarball), cpp.sh (CMake package and add_subdirectory).
# libbackendai is installed once into a temporary prefix with packaging/install.sh.
#
#   packaging/test/bindings/run.sh [python|go|node|cpp ...]
#
# Uses the server named by BACKEND_ENDPOINT/_ACCESS_KEY/_SECRET_KEY, or starts the local one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../../../scripts/lib.sh"
work="$(mktemp -d)"
trap 'stop_server; rm -rf "$work"' EXIT
if [ -z "${BACKEND_ENDPOINT:-}" ]; then
    (cd "$repo" && cargo build --quiet -p backendai-local-server) || die "cargo build -p backendai-local-server"
    start_server
fi
export BAI_PREFIX="$work/prefix" BAI_WORK="$work"
"$repo/packaging/install.sh" --prefix "$BAI_PREFIX" --debug >/dev/null || die "packaging/install.sh"

[ $# -gt 0 ] || set -- python go node cpp
pass=0 failed=()
for lang in "$@"; do
    start=$(date +%s)
    if "$here/$lang.sh" >"$work/$lang.log" 2>&1; then
        pass=$((pass + 1))
        echo "ok   $lang ($(( $(date +%s) - start )) s)"
        sed 's/^/     /' "$work/$lang.log"
    else
        failed+=("$lang")
        echo "FAIL $lang ($(( $(date +%s) - start )) s)"
        tail -n 40 "$work/$lang.log" | sed 's/^/     /'
    fi
done
echo "bindings install: $pass passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
