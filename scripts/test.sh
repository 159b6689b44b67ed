#!/usr/bin/env bash
# The test command: Rust tests, the C library built and linked both ways, the header on its
# own, the C tests and examples against the local server as Backend.AI 26.09 (then again under
# valgrind) and as 23.09, the request-shape tests, and the conformance suite with the official
# SDK of each release. Stops at the first failure with a message saying what failed.
#
#   scripts/test.sh
#
# Environment: CARGO_TARGET_DIR (default ./target), BAI_TEST_JOBS (ctest parallelism, 1),
# BAI_SKIP_VALGRIND=1 (skip the valgrind pass; CI never sets it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
started=$(date +%s)
build_dir="$repo/build"
jobs="${BAI_TEST_JOBS:-1}"
trap stop_server EXIT

step "Tools"
missing=()
for tool in cargo cc c++ cmake ctest valgrind nm pkg-config git python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "install ${missing[*]} (needs root and apt-get to do it here)"
    pkgs=()
    for tool in "${missing[@]}"; do
        case "$tool" in
            cc) pkgs+=(gcc) ;;
            c++) pkgs+=(g++) ;;
            cmake|ctest) pkgs+=(cmake) ;;
            nm) pkgs+=(binutils) ;;
            python3) pkgs+=(python3 python3-venv) ;;
            cargo) die "cargo is missing: install Rust (rustup) first" ;;
            *) pkgs+=("$tool") ;;
        esac
    done
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${pkgs[@]}" >/dev/null || die "apt-get install ${pkgs[*]}"
fi
# GoogleTest for the C++ binding's tests, Go and Node for theirs.
if [ ! -d /usr/include/gtest ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev >/dev/null ||
        die "apt-get install libgtest-dev"
fi
# Doxygen, abigail-tools and libuv headers for the documentation and ABI checks.
docs/tools.sh || die "docs/tools.sh (doxygen, abigail-tools, libuv1-dev)"
for tool in go node npm; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (needed by the bindings' tests)"
done
echo "cargo $(cargo --version | cut -d' ' -f2), $(cc --version | head -1), cmake $(cmake --version | head -1 | cut -d' ' -f3), $(valgrind --version)"

# Built first: the integration tests drive the shared library and the local server binary.
step "cargo build --workspace (library, header, local server)"
cargo build --workspace || die "cargo build --workspace"

step "cargo test --workspace"
cargo test --workspace || die "cargo test --workspace"
lib_so="$target_dir/debug/libbackendai.so"
lib_a="$target_dir/debug/libbackendai.a"
[ -f "$lib_so" ] && [ -f "$lib_a" ] || die "the build left no $lib_so / $lib_a"

step "The committed header is up to date"
if ! git diff --exit-code --stat -- include/backendai.h; then
    git diff -- include/backendai.h | head -n 40
    die "include/backendai.h differs from the generated header: commit the regenerated file"
fi
echo "include/backendai.h matches the build"

step "The shared library exports exactly the functions of the header"
# Names without their version (bai_x@@BACKENDAI_0.2); the version node itself (type A) is no function.
nm -D --defined-only "$lib_so" | awk '$2 != "A" {sub(/@.*/, "", $NF); print $NF}' | sort -u >"$target_dir/exported.txt"
awk '/^BAI_API/{p=1} p{print} /;$/{p=0}' include/backendai.h | grep -oE '\bbai_[a-z0-9_]+\(' |
    tr -d '(' | sort -u >"$target_dir/declared.txt"
extra=$(grep -v '^bai_' "$target_dir/exported.txt" || true)
if [ -n "$extra" ]; then
    echo "exported symbols that are not bai_*: $(echo "$extra" | wc -l)"
    echo "$extra" | head -n 20
    die "libbackendai.so exports symbols other than bai_* (a linker version script is needed)"
fi
if ! diff -u "$target_dir/declared.txt" "$target_dir/exported.txt"; then
    die "exported bai_* symbols and header declarations differ (- declared only, + exported only)"
fi
echo "$(wc -l <"$target_dir/exported.txt") symbols, all bai_*, all declared"

step "ABI: symbol versions, soname, and abidiff against the stored ABI (abi/check.sh)"
abi/check.sh "$lib_so" || die "abi/check.sh (the ABI guard; its message above says what to do)"

step "Documentation: API reference, guide and bindings' API docs, warnings as errors (docs/build.sh)"
docs/build.sh --bindings || die "docs/build.sh (the documentation; its message above says what is wrong)"

step "Static link line (rustc native-static-libs)"
# rustc prints the list only when it compiles the crate, so it is cached per toolchain and
# manifest; the extra rustc flag makes cargo compile the crate once more to print it.
key="$( (rustc -vV; cat Cargo.toml Cargo.lock) | sha256sum | cut -d' ' -f1)"
cache="$target_dir/native-static-libs.$key"
if [ ! -s "$cache" ]; then
    out=$(cargo rustc --lib --crate-type staticlib -- --print native-static-libs 2>&1) ||
        { echo "$out" | tail -n 20; die "cargo rustc --print native-static-libs"; }
    echo "$out" | sed -n 's/.*native-static-libs: //p' | tail -n 1 >"$cache"
    [ -s "$cache" ] || die "rustc printed no native-static-libs"
    cargo build --workspace --quiet || die "cargo build --workspace"
fi
native_libs="$(cat "$cache")"
echo "native-static-libs: $native_libs"

step "Build the C tests and examples (shared and static)"
for link in shared static; do
    cmake -S tests/c -B "$build_dir/c-$link" -DBAI_LINK="$link" -DBAI_LIB_DIR="$target_dir/debug" \
        -DBAI_NATIVE_STATIC_LIBS="$native_libs" -DCMAKE_BUILD_TYPE=Debug >/dev/null ||
        die "cmake configure ($link)"
    cmake --build "$build_dir/c-$link" -j 2 || die "build of the C tests and examples ($link)"
    echo "built against the $link library"
done
# The static build must not need the shared library at run time.
if readelf -d "$build_dir/c-static/examples/hello" | grep -q 'libbackendai'; then
    die "the static build of hello still needs libbackendai.so"
fi

step "Start the local server"
cargo build --quiet -p backendai-local-server || die "cargo build -p backendai-local-server"
# Cut the first storage upload (after 3 MB of a request) and download (after 300 MB) once, so
# that the large-file test proves the library resumes without re-sending what was stored.
BAI_LOCAL_FAULT_CUT_UPLOAD_AFTER=3000000 BAI_LOCAL_FAULT_CUT_DOWNLOAD_AFTER=300000000 start_server 26.09
export BAI_LARGE_MB="${BAI_LARGE_MB:-1024}"

run_ctest() { # name, build dir, ctest args...
    local name="$1" dir="$2"
    shift 2
    step "ctest: $name"
    local log="$dir/ctest-$(echo "$name" | tr ' ' '-').log"
    if ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"; then
        results+=("$name: $(grep -E 'tests passed' "$log" | tail -n 1)")
    else
        results+=("$name: $(grep -E 'tests passed' "$log" | tail -n 1)")
        printf '%s\n' "${results[@]}"
        die "ctest: $name (see the output above)"
    fi
}
results=()
# Every pass below runs against --emulate 26.09; tests of 23.09-only behaviour are labelled
# only-23.09 and run in the 23.09 pass further down.
BAI_EXPECT_RESUME=1 run_ctest "C tests and examples, shared library, Backend.AI 26.09" "$build_dir/c-shared" -LE 'valgrind|only-23.09'
run_ctest "C tests and examples, static library" "$build_dir/c-static" -LE 'valgrind|only-23.09'
# Every C test and example once more, built with AddressSanitizer + UBSan (leak detection on).
step "Build the C tests and examples with AddressSanitizer + UBSan"
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S tests/c -B "$build_dir/c-asan" -DBAI_LINK=shared -DBAI_LIB_DIR="$target_dir/debug" -DBAI_VALGRIND=OFF \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null || die "cmake configure (sanitizers)"
cmake --build "$build_dir/c-asan" -j 2 || die "build of the C tests and examples (sanitizers)"
ASAN_OPTIONS=detect_leaks=1 run_ctest "C tests and examples, ASan+UBSan" "$build_dir/c-asan" -E test_vfolder_large -LE only-23.09
if [ "${BAI_SKIP_VALGRIND:-0}" = 1 ] && [ "${CI:-}" != true ]; then
    results+=("valgrind: skipped (BAI_SKIP_VALGRIND=1)")
else
    run_ctest "C tests and examples under valgrind" "$build_dir/c-shared" -L valgrind -LE only-23.09
fi

# Each binding runs its own tests against the running local server.
export BACKENDAI_LIB_DIR="$target_dir/debug" BACKENDAI_INCLUDE_DIR="$repo/include"
for lang in python cpp go node; do
    [ -x "bindings/$lang/test.sh" ] || continue
    step "Binding: $lang (bindings/$lang/test.sh)"
    "bindings/$lang/test.sh" || die "bindings/$lang/test.sh"
    results+=("binding $lang: passed")
done

step "Packaging: install, then build against the installed tree (pkg-config and CMake)"
packaging/test/run.sh || die "packaging/test/run.sh"
results+=("packaging: passed")
step "Bindings installed the ordinary way, each README example run (packaging/test/bindings/run.sh)"
packaging/test/bindings/run.sh || die "packaging/test/bindings/run.sh"
results+=("bindings install: passed")
stop_server

# The second release: every C test and example once more, against --emulate 23.09 (the
# shared-library build only: the sanitizer and valgrind passes are not repeated; the large
# transfer with 64 MiB instead of the full size).
step "Start the local server as Backend.AI 23.09"
start_server 23.09
BAI_LARGE_MB=64 run_ctest "C tests and examples, shared library, Backend.AI 23.09" "$build_dir/c-shared" -LE 'valgrind|only-26.09'
stop_server

step "Request shapes: the library's requests and the server's answers against the captures of both releases"
python3 tests/shapes/test_shapes.py -q 2>&1 | tail -n 3 || die "tests/shapes/test_shapes.py (the comparer's own tests)"
python3 tests/shapes/run.py --server "$server_bin" --examples "$build_dir/c-shared/examples" --tests "$build_dir/c-shared" ||
    die "tests/shapes/run.py"
results+=("request shapes: passed (both releases, tests/shapes/expected-differences.txt reported)")
# The steps below start servers of their own.
unset BACKEND_ENDPOINT BACKEND_ENDPOINT_TYPE BACKEND_ACCESS_KEY BACKEND_SECRET_KEY

step "Stress: one session shared by many threads, many runs driven by one poll loop (ASan+UBSan)"
STRESS_OPS="${STRESS_OPS:-200}" STRESS_RUNS="${STRESS_RUNS:-200}" STRESS_SANITIZERS="${STRESS_SANITIZERS-asan}" \
    tests/stress/run.sh || die "tests/stress/run.sh"
results+=("stress: passed")

step "Fuzzing: every decoder of server data for ${BAI_FUZZ_SECONDS:-10} s each"
fuzz/run.sh "${BAI_FUZZ_SECONDS:-10}" || die "fuzz/run.sh"
results+=("fuzz: passed")

if [ -x tests/conformance/run.sh ]; then
    for sdk in 23.9.10 26.9.6; do
        step "Conformance suite: the official SDK $sdk (tests/conformance/run.sh)"
        BAI_CONFORMANCE_SDK=$sdk BAI_LOCAL_SERVER="$server_bin" tests/conformance/run.sh -q ||
            die "tests/conformance/run.sh (SDK $sdk)"
        results+=("conformance, SDK $sdk: passed (expected failures: tests/conformance/expected_failures_$sdk.txt)")
    done
else
    results+=("conformance: tests/conformance/run.sh not present, not run")
fi

step "Summary ($(( $(date +%s) - started )) s)"
printf '%s\n' "${results[@]}"
echo "ALL PASSED"
