#!/usr/bin/env bash
# Installs libbackendai into a temporary prefix and builds a program against the installed
# tree four ways: pkg-config shared and static, CMake shared and static. Each one runs and
# must print the library version (and the server's versions when BACKEND_ENDPOINT is set).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
"$root/packaging/install.sh" --prefix "$prefix" --debug >/dev/null

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pass=0; fail=0
check() {
  local name="$1"; shift
  if out="$("$@" 2>&1)" && grep -q "^libbackendai/" <<<"$out"; then
    if [ -n "${BACKEND_ENDPOINT:-}" ] && ! grep -q '^server: {' <<<"$out"; then
      echo "FAIL $name: no server answer"; echo "$out"; fail=$((fail+1)); return
    fi
    echo "ok   $name"; pass=$((pass+1))
  else
    echo "FAIL $name"; echo "$out"; fail=$((fail+1))
  fi
}

cc "$here/versions.c" -o "$tmp/pc_shared" $(pkg-config --cflags --libs backendai) -Wl,-rpath,"$prefix/lib"
check "pkg-config shared" "$tmp/pc_shared"
readelf -d "$tmp/pc_shared" | grep -q "NEEDED.*libbackendai.so.0.2" || { echo "FAIL soname not recorded"; fail=$((fail+1)); }
# Static: the archive itself, then the system libraries pkg-config lists as private.
cc "$here/versions.c" -o "$tmp/pc_static" $(pkg-config --cflags backendai) -L"$prefix/lib" -l:libbackendai.a \
  $(pkg-config --static --libs-only-l backendai | sed 's/-lbackendai//')
check "pkg-config static" "$tmp/pc_static"
if ldd "$tmp/pc_static" | grep -q libbackendai; then echo "FAIL static binary links libbackendai dynamically"; fail=$((fail+1)); fi

cmake -S "$here" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$tmp/cmake" >/dev/null
check "cmake shared" "$tmp/cmake/versions_shared"
check "cmake static" "$tmp/cmake/versions_static"

# Only bai_* symbols are exported by the shared library.
extra="$(nm -D --defined-only "$prefix/lib/libbackendai.so" | awk '$2 != "A" {print $3}' | grep -v '^bai_' || true)"
if [ -n "$extra" ]; then echo "FAIL non-bai symbols exported:"; echo "$extra" | head; fail=$((fail+1)); else echo "ok   only bai_* exported"; pass=$((pass+1)); fi

# The documentation: every example the installed header names is installed, and the HTML
# reference with the page of each example.
doc="$prefix/share/doc/backendai"
missing=""
for ex in $(grep -oE 'examples/[a-z_]+\.c' "$prefix/include/backendai.h" | sort -u); do
  [ -f "$doc/$ex" ] || missing="$missing $ex"
done
if [ -n "$missing" ]; then echo "FAIL examples named by the header but not installed:$missing"; fail=$((fail+1));
else echo "ok   examples named by the header installed ($(ls "$doc/examples" | wc -l) files)"; pass=$((pass+1)); fi
missing=""
for f in index.html group__config.html; do [ -f "$doc/html/$f" ] || missing="$missing $f"; done
for ex in "$doc"/examples/*.c; do
  name="$(basename "$ex" .c)"
  ls "$doc/html/"*"scenario_$name.html" >/dev/null 2>&1 || missing="$missing scenario_$name.html"
done
if [ -n "$missing" ]; then echo "FAIL HTML reference incomplete:$missing"; fail=$((fail+1));
else echo "ok   HTML reference installed ($(ls "$doc/html" | wc -l) files)"; pass=$((pass+1)); fi
# An installed example builds against the installed tree.
if cc "$doc/examples/hello.c" -o "$tmp/hello_installed" $(pkg-config --cflags --libs backendai) -Wl,-rpath,"$prefix/lib"; then
  echo "ok   installed example hello.c builds with pkg-config"; pass=$((pass+1))
else echo "FAIL installed example hello.c does not build"; fail=$((fail+1)); fi

echo "packaging: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
