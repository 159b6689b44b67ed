# Shared by abi/check.sh and abi/update.sh: sourced, not run.
#
# The ABI is taken from the header as a C++ compiler sees it, built into a stub shared
# library (abi/stub.py) with the soname and version script of the real library, and written
# out by abidw with the header as the public-headers filter. The Rust library's own DWARF
# cannot serve: it describes Rust types (the opaque handles' internals, declared in src/ffi,
# not in the header), the dev profile carries no type information and release none at all.
# The real library is tied to the stub by its dynamic symbol table (abi/check.sh).

abi_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
abi_file="$abi_root/abi/libbackendai.abi"
abi_map="$abi_root/abi/libbackendai.map"
abi_header="$abi_root/include/backendai.h"

abi_die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

for tool in abidw abidiff c++ python3; do
    command -v "$tool" >/dev/null 2>&1 || abi_die "$tool is missing (abidw and abidiff: Debian package abigail-tools)"
done

abi_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$abi_root/Cargo.toml" | head -1)"
abi_major="${abi_version%%.*}"
abi_rest="${abi_version#*.}"
abi_minor="${abi_rest%%.*}"
# As build.rs: in 0.x the soname carries major.minor, from 1.0 the major.
if [ "$abi_major" = 0 ]; then abi_sover="$abi_major.$abi_minor"; else abi_sover="$abi_major"; fi
abi_soname="libbackendai.so.$abi_sover"
abi_node="BACKENDAI_$abi_sover"

# abi_dump DIR: builds the stub library in DIR and writes DIR/libbackendai.abi.
abi_dump() {
    local dir="$1"
    python3 "$abi_root/abi/stub.py" "$abi_header" >"$dir/backendai_abi.cc" || abi_die "abi/stub.py"
    # Built in DIR under a fixed name, so that no path of this machine enters the file.
    (cd "$dir" && c++ -shared -fPIC -g -O0 -fno-eliminate-unused-debug-types -std=c++17 \
        -Wall -Wextra -Wno-unused-parameter -Werror -I "$abi_root/include" \
        -Wl,--version-script="$abi_map" -Wl,-soname,"$abi_soname" \
        -o libbackendai.so backendai_abi.cc) || abi_die "the ABI stub library does not build"
    abidw --headers-dir "$abi_root/include" --drop-private-types --no-corpus-path \
        --no-comp-dir-path --no-show-locs "$dir/libbackendai.so" >"$dir/libbackendai.abi" ||
        abi_die "abidw failed on the stub library"
}
