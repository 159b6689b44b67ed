# Shared by the binding install tests (packaging/test/bindings/*.sh): sourced, not run.
# run.sh exports BAI_PREFIX (libbackendai installed by packaging/install.sh) and
# BAI_WORK (a scratch directory), and a server in BACKEND_ENDPOINT/_ACCESS_KEY/_SECRET_KEY.

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
: "${BAI_PREFIX:?run through packaging/test/bindings/run.sh}" "${BAI_WORK:?run through packaging/test/bindings/run.sh}"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Prints the fenced code block that follows the line "<!-- example: NAME -->" in a README.
readme_example() { # readme, name
    local block
    block="$(awk -v tag="<!-- example: $2 -->" '
        $0 == tag { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        found && inside { print }' "$1")"
    [ -n "$block" ] || fail "$1 has no example block \"$2\""
    printf '%s\n' "$block"
}

# Runs a command with nothing of the developer's environment that locates the library or the
# bindings (what a user has is what the test passes explicitly after `env`).
as_user() {
    env -u BACKENDAI_LIB -u BACKENDAI_LIB_DIR -u BACKENDAI_INCLUDE_DIR -u LD_LIBRARY_PATH \
        -u PKG_CONFIG_PATH -u CGO_CFLAGS -u CGO_LDFLAGS -u PYTHONPATH -u NODE_PATH -u CARGO_TARGET_DIR "$@"
}

# The README examples all print the same lines: check them in a log. "done: greeting" is the
# run's own context, handed back by the session's completion list.
expect_example_output() { # log file
    local line
    for line in 'input: [name? ] password=false' 'media: image/svg+xml' 'done: greeting' \
        'output: name? hello, Alice' 'exit: 0' 'raised: false' 'destroyed'; do
        grep -qxF -- "$line" "$1" || { cat "$1" >&2; fail "the example did not print \"$line\""; }
    done
}
