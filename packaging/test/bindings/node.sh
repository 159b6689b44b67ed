#!/usr/bin/env bash
# Node: `npm pack` ships only what a user needs; `npm install <tarball>` in an empty folder;
# the README's example runs with the library only in the installed prefix on
# LD_LIBRARY_PATH; without it, require() says where it looked; a bundled copy is found.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
w="$BAI_WORK/node"
mkdir -p "$w/pack" "$w/app"

tarball="$w/pack/$(cd "$repo/bindings/node" && npm pack --silent --pack-destination "$w/pack" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack left no tarball"
tar tzf "$tarball" | sort >"$w/contents"
for f in package/package.json package/README.md package/lib/index.js package/lib/native.js; do
    grep -qx "$f" "$w/contents" || fail "the tarball lacks $f"
done
if grep -vE '^package/(package\.json|README\.md|lib/[a-z]+\.js|native/.*)$' "$w/contents"; then
    fail "the tarball ships more than the package needs (above)"
fi
! grep -q '"private"' <(tar xzf "$tarball" -O package/package.json) || fail "the package is private"
echo "npm pack: $(wc -l <"$w/contents") files ($(basename "$tarball"))"

cd "$w/app"
echo '{"name": "quickstart", "version": "1.0.0", "private": true}' >package.json
as_user npm install --silent --no-audit --no-fund "$tarball" || fail "npm install $tarball"
readme_example "$repo/bindings/node/README.md" quickstart.js >quickstart.js
as_user LD_LIBRARY_PATH="$BAI_PREFIX/lib" node quickstart.js >"$w/out.log" 2>&1 ||
    { cat "$w/out.log"; fail "the README example failed"; }
expect_example_output "$w/out.log"
echo "README example ran with the library found through LD_LIBRARY_PATH"

if ldconfig -p 2>/dev/null | grep -q libbackendai; then
    echo "skipped the missing-library check: this machine has libbackendai on its system path"
else
    if as_user node -e "require('backendai-native')" >"$w/missing.log" 2>&1; then
        fail "require succeeded without any library"
    fi
    for what in 'bundled: ' 'system loader: libbackendai.so' 'LD_LIBRARY_PATH' 'BAI_LIBRARY_NOT_FOUND'; do
        grep -qF -- "$what" "$w/missing.log" || { cat "$w/missing.log"; fail "the load error does not mention $what"; }
    done
    echo "a missing library is reported with the places tried"
fi

platform="$(node -p 'process.platform + "-" + process.arch')"
mkdir -p "node_modules/backendai-native/native/$platform"
cp -L "$BAI_PREFIX/lib/libbackendai.so" "node_modules/backendai-native/native/$platform/"
as_user node -e "console.log(require('backendai-native').version())" >"$w/bundled.log" 2>&1 ||
    { cat "$w/bundled.log"; fail "the bundled copy was not loaded"; }
grep -q '^libbackendai/' "$w/bundled.log" || fail "unexpected version: $(cat "$w/bundled.log")"
echo "a copy bundled in native/$platform/ is loaded without LD_LIBRARY_PATH"
