# Shared by scripts/test.sh and scripts/demo.sh: sourced, not run.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
server_bin="$target_dir/debug/backendai-local-server"

# The example keypair and user of the local server (public example values).
BAI_TEST_ACCESS_KEY="AKIAIOSFODNN7EXAMPLE"
BAI_TEST_SECRET_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BAI_TEST_USER_EMAIL="user@example.com"
BAI_TEST_USER_PASSWORD="example-password"

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

server_pid=""
server_dir=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
    if [ -n "$server_dir" ]; then
        rm -rf "$server_dir"
        server_dir=""
    fi
}

# Starts the local server on a free port with the example keypair and user, answering as the
# Backend.AI release $1 (23.09 or 26.09; default $BAI_TEST_EMULATE, else 26.09), waits for its
# "listening on" line, and exports BACKEND_ENDPOINT/ACCESS_KEY/SECRET_KEY and
# BAI_TEST_EMULATE for it.
start_server() {
    [ -x "$server_bin" ] || die "the local server is not built: $server_bin"
    export BAI_TEST_EMULATE="${1:-${BAI_TEST_EMULATE:-26.09}}"
    server_dir="$(mktemp -d)"
    mkdir -p "$server_dir/data"
    mkfifo "$server_dir/out"
    "$server_bin" --emulate "$BAI_TEST_EMULATE" --port 0 \
        --keypair "$BAI_TEST_ACCESS_KEY:$BAI_TEST_SECRET_KEY" \
        --user "$BAI_TEST_USER_EMAIL:$BAI_TEST_USER_PASSWORD:$BAI_TEST_ACCESS_KEY" \
        --data-dir "$server_dir/data" \
        >"$server_dir/out" 2>"$server_dir/stderr.log" </dev/null &
    server_pid=$!
    local line=""
    # Keep reading the fifo afterwards (into a file) so the server never blocks on stdout.
    exec 9<"$server_dir/out"
    if ! read -r -t 60 line <&9; then
        echo "--- server stderr:" >&2
        tail -n 40 "$server_dir/stderr.log" >&2 || true
        die "the local server printed no address within 60 s"
    fi
    cat <&9 >>"$server_dir/stdout.log" &
    exec 9<&-
    case "$line" in
        "backendai-local-server listening on http://127.0.0.1:"*) ;;
        *) die "unexpected first line from the local server: $line" ;;
    esac
    export BACKEND_ENDPOINT="${line#backendai-local-server listening on }"
    export BACKEND_ENDPOINT_TYPE="api"
    export BACKEND_ACCESS_KEY="$BAI_TEST_ACCESS_KEY"
    export BACKEND_SECRET_KEY="$BAI_TEST_SECRET_KEY"
    export BAI_TEST_USER_EMAIL BAI_TEST_USER_PASSWORD
    echo "local server (pid $server_pid, Backend.AI $BAI_TEST_EMULATE) at $BACKEND_ENDPOINT"
}
