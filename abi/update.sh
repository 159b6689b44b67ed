#!/usr/bin/env bash
# Regenerates the stored ABI (abi/libbackendai.abi) from include/backendai.h, and sets the
# version node of abi/libbackendai.map to the current soname version. Run it (after
# `cargo build`, which regenerates the header) in the commit that moves the version in
# Cargo.toml for an incompatible change, and commit both files with it.
#
#   abi/update.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed -i -E "s/^BACKENDAI_[0-9.]+ \{/$abi_node {/" "$abi_map"
grep -q "^$abi_node {" "$abi_map" || abi_die "abi/libbackendai.map has no line '$abi_node {'"
abi_dump "$tmp"
cp "$tmp/libbackendai.abi" "$abi_file"
echo "abi/libbackendai.abi: the ABI of $abi_soname ($abi_version), $(grep -c '<elf-symbol ' "$abi_file") functions, version node $abi_node"
echo "Rebuild (cargo build) so that the library carries the node, and commit abi/ with Cargo.toml."
