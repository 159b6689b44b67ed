#!/usr/bin/env bash
# C++: the README's example built two ways, each configured once from scratch: with
# find_package(backendai) and backendai::backendai_cpp against the installed prefix, and with
# add_subdirectory(bindings/cpp) given the prefix's library through variables (honoured on
# the first configure, no tests built). Both run against the server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
w="$BAI_WORK/cpp"
readme="$repo/bindings/cpp/README.md"
[ -f "$BAI_PREFIX/include/backendai.hpp" ] || fail "packaging/install.sh did not install backendai.hpp"

build_and_run() { # name, then the CMakeLists.txt on stdin
    local d="$w/$1"
    mkdir -p "$d/src"
    cat >"$d/src/CMakeLists.txt"
    readme_example "$readme" quickstart.cpp >"$d/src/quickstart.cpp"
    as_user cmake -S "$d/src" -B "$d/build" -DCMAKE_PREFIX_PATH="$BAI_PREFIX" >"$d/configure.log" 2>&1 ||
        { cat "$d/configure.log"; fail "$1: the first cmake configure failed"; }
    if grep -qi gtest "$d/configure.log" || [ -f "$d/build/backendai_cpp/CTestTestfile.cmake" ]; then
        fail "$1: configuring the user's project looked for GoogleTest or set up the binding's tests"
    fi
    as_user cmake --build "$d/build" >"$d/build.log" 2>&1 || { cat "$d/build.log"; fail "$1: build failed"; }
    if as_user cmake --build "$d/build" --target help | grep -q backendai_cpp_tests; then
        fail "$1: the binding's tests are part of the user's build"
    fi
    readelf -d "$d/build/quickstart" | grep -q "$BAI_PREFIX/lib" ||
        fail "$1: quickstart is not linked against the prefix's library"
    (cd "$d" && as_user ./build/quickstart) >"$d/out.log" 2>&1 || { cat "$d/out.log"; fail "$1: the README example failed"; }
    expect_example_output "$d/out.log"
    echo "$1: configured once, built and ran the README example"
}

readme_example "$readme" CMakeLists.txt | build_and_run find_package
readme_example "$readme" "CMakeLists.txt (add_subdirectory)" |
    sed -e "s|/path/to/libbackendai/target/release|$BAI_PREFIX/lib|" \
        -e "s|/path/to/libbackendai/include|$BAI_PREFIX/include|" \
        -e "s|/path/to/libbackendai|$repo|" | build_and_run add_subdirectory
