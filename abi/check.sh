#!/usr/bin/env bash
# The ABI guard: compares the ABI of include/backendai.h with the stored ABI of the release
# (abi/libbackendai.abi) and checks that the built library matches the header: its soname,
# and every exported function carrying the version node of abi/libbackendai.map.
#
#   abi/check.sh [path/to/libbackendai.so]     (default: the debug build)
#
# Fails on an incompatible change (a function removed or changed, a struct or enum changed)
# unless the version in Cargo.toml moved to a new soname and abi/update.sh regenerated the
# stored ABI in the same commit. Added functions and enum values are compatible: reported,
# not failed. (Fields appended to the structs that start with `struct_size` are compatible by
# design too, but abidiff reports them as a changed struct, so they count as incompatible.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
lib="${1:-${CARGO_TARGET_DIR:-$abi_root/target}/debug/libbackendai.so}"
[ -f "$lib" ] || abi_die "no library at $lib (run cargo build first)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
regen="run abi/update.sh and commit abi/ in the same commit as the version change"

# 1. The stored ABI and the version script belong to the current version.
stored_soname="$(grep -o "soname='[^']*'" "$abi_file" | head -1 | cut -d"'" -f2)"
if [ "$stored_soname" != "$abi_soname" ]; then
    abi_die "Cargo.toml says version $abi_version (soname $abi_soname), but abi/libbackendai.abi is the ABI of $stored_soname: $regen"
fi
grep -q "^$abi_node {" "$abi_map" ||
    abi_die "abi/libbackendai.map does not define the version node $abi_node of version $abi_version: $regen"

# 2. The built library: soname, and the header's functions, each at the version node.
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "$abi_soname" ] || abi_die "$lib has soname '$soname', expected $abi_soname"
nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" {print $3}' | sort >"$tmp/exported"
unversioned="$(grep -v "@@$abi_node\$" "$tmp/exported" || true)"
if [ -n "$unversioned" ]; then
    echo "$unversioned" | head -n 10
    abi_die "$lib exports $(echo "$unversioned" | wc -l) functions without the version node $abi_node (is the library linked through abi/link-gcc? see .cargo/config.toml)"
fi
sed "s/@@$abi_node\$//" "$tmp/exported" >"$tmp/exported.names"
abi_dump "$tmp"
grep -o "<elf-symbol name='[^']*'" "$tmp/libbackendai.abi" | cut -d"'" -f2 | sort >"$tmp/declared.names"
if ! diff -u "$tmp/declared.names" "$tmp/exported.names"; then
    abi_die "the functions of $lib and of include/backendai.h differ (- header only, + library only)"
fi
echo "$lib: soname $soname, $(wc -l <"$tmp/exported.names") functions, all at $abi_node"

# 3. abidiff against the stored ABI: anything but additions is incompatible.
set +e
abidiff --no-added-syms "$abi_file" "$tmp/libbackendai.abi" >"$tmp/incompatible.txt" 2>&1
rc=$?
set -e
[ $((rc & 3)) -eq 0 ] || { cat "$tmp/incompatible.txt"; abi_die "abidiff could not compare the ABIs (exit $rc)"; }
if [ $((rc & 12)) -ne 0 ]; then
    cat "$tmp/incompatible.txt"
    if [ "$abi_major" = 0 ]; then next="$abi_major.$((abi_minor + 1)).0 (soname libbackendai.so.$abi_major.$((abi_minor + 1)))"
    else next="$((abi_major + 1)).0.0 (soname libbackendai.so.$((abi_major + 1)))"; fi
    abi_die "incompatible ABI change (above) against abi/libbackendai.abi, the ABI of $abi_soname: a release keeps the ABI of its soname. Undo the change, or move the version in Cargo.toml to $next and run abi/update.sh in the same commit (see docs/guide.md, ABI policy)"
fi
set +e
abidiff "$abi_file" "$tmp/libbackendai.abi" >"$tmp/all.txt" 2>&1
rc=$?
set -e
if [ $((rc & 4)) -ne 0 ]; then
    cat "$tmp/all.txt"
    echo "compatible ABI additions (above) since the stored ABI; abi/update.sh records them at the next release"
fi
echo "ABI of $abi_soname: no incompatible change against abi/libbackendai.abi"
