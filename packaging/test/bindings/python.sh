#!/usr/bin/env bash
# Python: builds the wheel (which bundles libbackendai), installs it into a fresh venv, and
# runs the README's example from an empty folder with no library path in the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
w="$BAI_WORK/python"
mkdir -p "$w/app"

# The project's own build: cargo runs inside the wheel build (debug: it reuses target/debug).
BACKENDAI_CARGO_PROFILE=debug python3 -m pip wheel --quiet --no-deps -w "$w/dist" "$repo/bindings/python" ||
    fail "pip wheel ./bindings/python"
wheel="$(ls "$w"/dist/backendai_native-*-py3-none-*.whl)"
listing="$(python3 -m zipfile -l "$wheel")"
grep -q 'backendai_native/libbackendai.so' <<<"$listing" || fail "the wheel has no libbackendai.so"
! grep -q 'tests/' <<<"$listing" || fail "the wheel ships the tests"
echo "built $(basename "$wheel")"

python3 -m venv "$w/venv" || fail "python3 -m venv (install python3-venv)"
as_user "$w/venv/bin/pip" install --quiet --no-deps "$wheel" || fail "pip install $wheel"
readme_example "$repo/bindings/python/README.md" quickstart.py >"$w/app/quickstart.py"
(cd "$w/app" && as_user "$w/venv/bin/python" quickstart.py) >"$w/out.log" 2>&1 ||
    { cat "$w/out.log"; fail "the README example failed"; }
expect_example_output "$w/out.log"
echo "README example ran from the installed wheel"

# Without its bundled copy and with nothing on the system path, import says where it looked.
if ldconfig -p 2>/dev/null | grep -q libbackendai; then
    echo "skipped the missing-library check: this machine has libbackendai on its system path"
    exit 0
fi
site="$("$w/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')"
rm "$site/backendai_native/libbackendai.so"
if (cd "$w/app" && as_user "$w/venv/bin/python" -c 'import backendai_native') >"$w/missing.log" 2>&1; then
    fail "import succeeded without any library"
fi
for what in 'bundled: ' 'system loader: libbackendai.so' 'BACKENDAI_LIB'; do
    grep -qF -- "$what" "$w/missing.log" || { cat "$w/missing.log"; fail "the import error does not mention $what"; }
done
echo "a missing library is reported with the places tried"
