#!/usr/bin/env bash
# Builds tests/stress/stress.c against the debug library and runs it against a fresh local
# server: plain, then with ThreadSanitizer, then with AddressSanitizer + UBSan.
#   tests/stress/run.sh
# Env: STRESS_THREADS (16), STRESS_OPS (1000), STRESS_RUNS (200), STRESS_RUN_EVERY (10),
#      STRESS_SANITIZERS ("tsan asan" by default; "" for the plain run only),
#      STRESS_SAN_OPS / STRESS_SAN_RUNS (sizes under sanitizers; default a quarter), CC.
# Quick CI size: STRESS_OPS=200 STRESS_RUNS=50 tests/stress/run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
out=$target/stress
mkdir -p "$out"
CC=${CC:-cc}
export STRESS_THREADS=${STRESS_THREADS:-16} STRESS_OPS=${STRESS_OPS:-1000} STRESS_RUNS=${STRESS_RUNS:-200}
SANS=${STRESS_SANITIZERS-tsan asan}

(cd "$repo" && cargo build -p backendai -p backendai-local-server) >"$out/build.log" 2>&1 || { tail -20 "$out/build.log"; echo "build failed"; exit 2; }
lib=$target/debug
server=${BAI_LOCAL_SERVER:-$lib/backendai-local-server}
[ -x "$server" ] || { echo "missing $server"; exit 2; }

data=$(mktemp -d)
# the example keypair, given explicitly (without one the server makes a random keypair)
"$server" --port 0 --keypair "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" \
    --data-dir "$data" >"$out/server.out" 2>"$out/server.err" &
spid=$!
cleanup() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$out/server.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$out/server.out" | head -1)
[ -n "$url" ] || { echo "the local server did not start"; cat "$out/server.err"; exit 2; }
export BACKEND_ENDPOINT=$url BACKEND_ACCESS_KEY=AKIAIOSFODNN7EXAMPLE
export BACKEND_SECRET_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

build() { # name, extra flags...
    local name=$1; shift
    "$CC" -std=c11 -Wall -Wextra -Werror -g -O1 "$@" -I"$repo/include" "$here/stress.c" -o "$out/$name" \
        -L"$lib" -lbackendai -Wl,-rpath,"$lib" -lpthread >"$out/$name.build.log" 2>&1
}

status=0
run() { # label, binary, env...
    local label=$1 bin=$2; shift 2
    echo "== $label"
    local t0=$(date +%s)
    env "$@" "$out/$bin" 2>"$out/$bin.stderr"
    local rc=$?
    echo "   exit $rc in $(( $(date +%s) - t0 )) s"
    if [ $rc -ne 0 ]; then status=1; head -40 "$out/$bin.stderr"; fi
    if grep -q "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|runtime error:" "$out/$bin.stderr"; then
        echo "   sanitizer reports (first lines; full text in $out/$bin.stderr):"
        grep -m5 -A12 "WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|runtime error:" "$out/$bin.stderr" | head -60
        status=1
    fi
}

build stress || { cat "$out/stress.build.log"; exit 2; }
run "plain: $STRESS_THREADS threads x $STRESS_OPS ops, $STRESS_RUNS polled runs" stress

san_ops=${STRESS_SAN_OPS:-$(( (STRESS_OPS + 3) / 4 ))}
san_runs=${STRESS_SAN_RUNS:-$(( (STRESS_RUNS + 3) / 4 ))}
for s in $SANS; do
    case $s in
    tsan)
        if build stress-tsan -fsanitize=thread; then
            run "ThreadSanitizer (C side instrumented; the Rust library is not): $STRESS_THREADS threads x $san_ops ops, $san_runs runs" \
                stress-tsan STRESS_OPS=$san_ops STRESS_RUNS=$san_runs TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1"
        else
            echo "== ThreadSanitizer: cannot build with $CC (see $out/stress-tsan.build.log)"
        fi ;;
    asan)
        if build stress-asan -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined; then
            run "AddressSanitizer + UBSan: $STRESS_THREADS threads x $san_ops ops, $san_runs runs" \
                stress-asan STRESS_OPS=$san_ops STRESS_RUNS=$san_runs ASAN_OPTIONS="detect_leaks=1" LSAN_OPTIONS="report_objects=0"
        else
            echo "== ASan+UBSan: cannot build with $CC (see $out/stress-asan.build.log)"
        fi ;;
    esac
done
exit $status
