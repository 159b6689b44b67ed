#!/usr/bin/env bash
# Installs libbackendai into a prefix: the shared library with a versioned soname, the static
# library, the header, the C++ binding's header, a pkg-config file and a CMake package, the
# examples' sources and the HTML reference (share/doc/backendai).
#
#   packaging/install.sh --prefix /usr/local [--debug] [--libdir lib]
#
# With cargo-c installed, `cargo cinstall --prefix ...` does the same from the metadata in
# Cargo.toml; this script needs nothing but cargo.
set -euo pipefail

prefix=""
libdir="lib"
profile="release"
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --libdir) libdir="$2"; shift 2 ;;
    --debug) profile="debug"; shift ;;
    *) echo "usage: $0 --prefix DIR [--libdir lib] [--debug]" >&2; exit 2 ;;
  esac
done
[ -n "$prefix" ] || { echo "usage: $0 --prefix DIR [--libdir lib] [--debug]" >&2; exit 2; }

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
major="${version%%.*}"
rest="${version#*.}"
minor="${rest%%.*}"
# In 0.x a minor release may break the ABI, so the soname carries major.minor.
if [ "$major" = "0" ]; then soname_ver="$major.$minor"; else soname_ver="$major"; fi
soname="libbackendai.so.$soname_ver"

flags=()
[ "$profile" = "release" ] && flags+=(--release)
# build.rs gives the shared library its soname.
cargo build "${flags[@]}" --lib -q
native_libs="$(cargo rustc "${flags[@]}" --lib --crate-type staticlib -q -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -1)"
out="${CARGO_TARGET_DIR:-$root/target}/$profile"

install -d "$prefix/$libdir/pkgconfig" "$prefix/include" "$prefix/$libdir/cmake/backendai"
install -m 0755 "$out/libbackendai.so" "$prefix/$libdir/libbackendai.so.$version"
ln -sf "libbackendai.so.$version" "$prefix/$libdir/$soname"
ln -sf "$soname" "$prefix/$libdir/libbackendai.so"
install -m 0644 "$out/libbackendai.a" "$prefix/$libdir/libbackendai.a"
install -m 0644 include/backendai.h "$prefix/include/backendai.h"
# The C++ binding: its header-only wrapper beside the C header (CMake: backendai::backendai_cpp).
install -m 0644 bindings/cpp/include/backendai.hpp "$prefix/include/backendai.hpp"

subst() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@VERSION@|$version|g" \
      -e "s|@NATIVE_LIBS@|$native_libs|g" -e "s|@SONAME@|$soname|g" "$1"
}
subst packaging/backendai.pc.in > "$prefix/$libdir/pkgconfig/backendai.pc"
subst packaging/backendaiConfig.cmake.in > "$prefix/$libdir/cmake/backendai/backendaiConfig.cmake"
subst packaging/backendaiConfigVersion.cmake.in > "$prefix/$libdir/cmake/backendai/backendaiConfigVersion.cmake"

# Documentation (docs/build.sh): the examples the header refers to ("Example:
# examples/query_mode.c") and the HTML reference, under share/doc/backendai. The reference needs
# doxygen; BAI_INSTALL_NO_HTML=1 installs without it.
docdir="$prefix/share/doc/backendai"
install -d "$docdir/examples"
install -m 0644 examples/*.c "$docdir/examples/"
if [ "${BAI_INSTALL_NO_HTML:-0}" != 1 ]; then
  docs_out="$(mktemp -d)"
  docs/build.sh --out "$docs_out" >"$docs_out.log" 2>&1 || { cat "$docs_out.log" >&2; rm -rf "$docs_out" "$docs_out.log"; exit 1; }
  rm -rf "$docdir/html"
  cp -R "$docs_out/html" "$docdir/html"
  rm -rf "$docs_out" "$docs_out.log"
fi
echo "installed libbackendai $version into $prefix"
