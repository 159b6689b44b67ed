#!/usr/bin/env bash
# Go: a new module gets the binding with `go get`, from a module proxy (here a file proxy
# holding this tree's bindings/go as the tag bindings/go/vX.Y.Z of the repository serves
# it), builds the README's example with only PKG_CONFIG_PATH pointing at the installed
# prefix, and runs it with the prefix on LD_LIBRARY_PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
module="github.com/libbackendai/libbackendai/bindings/go"
version="v$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n 1)"
w="$BAI_WORK/go"
mkdir -p "$w/app"

grep -qx "module $module" "$repo/bindings/go/go.mod" || fail "bindings/go/go.mod does not declare module $module"
# The module's files: what git tracks under bindings/go (all of it, as a tag would serve).
(cd "$repo" && git ls-files bindings/go) >"$w/files" && [ -s "$w/files" ] || fail "git ls-files bindings/go"
python3 - "$repo" "$w/proxy" "$module" "$version" "$w/files" <<'PY' || fail "making the module proxy"
import json, os, sys, zipfile
repo, proxy, module, version, listing = sys.argv[1:]
d = os.path.join(proxy, module, "@v")
os.makedirs(d)
with zipfile.ZipFile(os.path.join(d, version + ".zip"), "w") as z:
    for f in open(listing).read().split():
        z.write(os.path.join(repo, f), f"{module}@{version}/{f[len('bindings/go/'):]}")
with open(os.path.join(repo, "bindings/go/go.mod")) as src, open(os.path.join(d, version + ".mod"), "w") as dst:
    dst.write(src.read())
with open(os.path.join(d, version + ".info"), "w") as f:
    json.dump({"Version": version, "Time": "2025-01-01T00:00:00Z"}, f)
with open(os.path.join(d, "list"), "w") as f:
    f.write(version + "\n")
PY

go_env=(GOPROXY="file://$w/proxy" GONOSUMDB="$module" GOMODCACHE="$w/modcache" GOFLAGS=-modcacherw GOTOOLCHAIN=local)
cd "$w/app"
readme_example "$repo/bindings/go/README.md" main.go >main.go
as_user "${go_env[@]}" go mod init example.com/quickstart >/dev/null 2>&1 || fail "go mod init"
as_user "${go_env[@]}" go get "$module@$version" || fail "go get $module@$version"
as_user "${go_env[@]}" PKG_CONFIG_PATH="$BAI_PREFIX/lib/pkgconfig" go build -o quickstart . ||
    fail "go build with PKG_CONFIG_PATH=<prefix>/lib/pkgconfig"
echo "go get $module@$version and go build with PKG_CONFIG_PATH alone"
if readelf -d quickstart | grep -E 'RUNPATH|RPATH'; then
    fail "the program carries a run path"
fi
readelf -d quickstart | grep -q 'NEEDED.*libbackendai.so' || fail "the program does not link libbackendai.so"
as_user LD_LIBRARY_PATH="$BAI_PREFIX/lib" ./quickstart >"$w/out.log" 2>&1 || { cat "$w/out.log"; fail "the README example failed"; }
expect_example_output "$w/out.log"
echo "README example ran, linked against the installed prefix (no run path)"
