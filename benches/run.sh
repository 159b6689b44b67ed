#!/usr/bin/env bash
# One command for the whole benchmark: builds the library and the local server in release
# mode, the C benchmark programs, the raw-HTTP floor and the Python SDK venv, then runs every
# workload (benches/harness.py) and prints the table. See benches/README.md.
#
#   benches/run.sh            full run (~20 min on 2 cores); writes benches/RESULTS.md
#   benches/run.sh --quick    every workload shrunk (< ~5 min); writes benches/build/RESULTS-quick.md
#   benches/run.sh --quick --save   quick run that also writes benches/RESULTS.md
#   benches/run.sh --remote   against the Backend.AI in BACKEND_ENDPOINT, BACKEND_ACCESS_KEY,
#                             BACKEND_SECRET_KEY (BAI_BENCH_IMAGE: the image to run code in);
#                             writes benches/build/RESULTS-remote.md
#   --only=1,3,4 --rounds=N --transfer-mb=N   a part of the run (never saved to RESULTS.md)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

ARGS=()
for a in "$@"; do
    case "$a" in
        --quick|--save|--remote) ARGS+=("$a") ;;
        --only=*|--rounds=*|--transfer-mb=*) ARGS+=("$a") ;;
        -h|--help) sed -n 2,13p "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument: $a" >&2; exit 2 ;;
    esac
done

echo "== building libbackendai and the local server (release)" >&2
cargo build --release
cargo build --release -p backendai-local-server

echo "== building the raw-HTTP floor (benches/floor, its own workspace)" >&2
(cd "$HERE/floor" && cargo build --release --quiet)
echo "== building the stack floors (benches/stacks: the W1 request through reqwest, and through hyper)" >&2
(cd "$HERE/stacks" && cargo build --release --quiet)

echo "== building the C benchmark programs" >&2
mkdir -p "$HERE/build"
CC="${CC:-cc}"
for prog in bench startup; do
    "$CC" -O2 -Wall -Wextra -o "$HERE/build/$prog" "$HERE/c/$prog.c" -I"$ROOT/include" \
        -L"$ROOT/target/release" -lbackendai -Wl,-rpath,"$ROOT/target/release"
done

if [ ! -x "$HERE/.venv/bin/python" ] || ! "$HERE/.venv/bin/python" -c "import ai.backend.client" 2>/dev/null; then
    echo "== installing the official Python SDK into benches/.venv" >&2
    python3 -m venv "$HERE/.venv"
    "$HERE/.venv/bin/pip" install --quiet "backend.ai-client==23.9.10" "yarl<1.9.5"
fi

if [ ! -x /usr/bin/time ]; then
    echo "== installing GNU time (for peak RSS)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y -q time >&2; else sudo apt-get install -y -q time >&2; fi
fi
for tool in curl strip; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done

echo "== running the workloads" >&2
exec python3 "$HERE/harness.py" "${ARGS[@]+"${ARGS[@]}"}"
