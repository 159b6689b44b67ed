#!/usr/bin/env bash
# The demo: builds the library and the local server, starts the server on a free port,
# builds examples/hello.c against include/backendai.h and the shared library, runs it (it
# creates a compute session, runs a line of Python and prints its output, then destroys the
# session), and stops the server.
#
#   scripts/demo.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
trap stop_server EXIT

step "Build the library and the local server"
cargo build --workspace || die "cargo build --workspace"

step "Build examples/hello.c"
mkdir -p "$repo/build/demo"
cc -std=c11 -Wall -Wextra -Werror -pedantic -I include examples/hello.c \
    -L "$target_dir/debug" -lbackendai -Wl,-rpath,"$target_dir/debug" \
    -o "$repo/build/demo/hello" || die "compiling examples/hello.c"
echo "build/demo/hello"

step "Start the local server"
start_server

step "Run hello"
"$repo/build/demo/hello" || die "hello exited with status $?"

stop_server
step "Done"
