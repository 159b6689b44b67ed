#!/usr/bin/env bash
# Builds each binding's API documentation and checks that every public item is documented:
#   cpp     Doxygen on bindings/cpp/include/backendai.hpp (HTML in OUT/bindings/cpp/html)
#   go      go doc -all (text in OUT/bindings/go.txt), and a doc comment on every exported name
#   python  a docstring on every public module, class, function and method (pydoc's input)
#   node    a JSDoc comment on every export of lib/index.js and every public method of the
#           exported classes
# Items documented nowhere yet are listed in docs/undocumented/LANG.txt: the list may only
# shrink. A new undocumented public item fails; so does a listed item that got documented
# (remove it from the list: `docs/bindings.sh OUT --update` rewrites the lists).
#
#   docs/bindings.sh OUT [--update]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
update="${2:-}"
mkdir -p "$out/bindings"
fail=0

echo "== bindings/cpp: Doxygen"
rm -rf "$out/bindings/cpp"
mkdir -p "$out/bindings/cpp"
( cat <<DOXY
PROJECT_NAME = "libbackendai C++ binding"
OUTPUT_DIRECTORY = $out/bindings/cpp
INPUT = bindings/cpp/include/backendai.hpp bindings/cpp/README.md
USE_MDFILE_AS_MAINPAGE = bindings/cpp/README.md
QUIET = YES
EXTRACT_ALL = NO
WARN_IF_UNDOCUMENTED = YES
WARN_IF_DOC_ERROR = YES
WARN_NO_PARAMDOC = NO
WARN_FORMAT = "\$file:\$line: \$text"
WARN_LOGFILE = $out/bindings/cpp/warnings.log
GENERATE_LATEX = NO
HAVE_DOT = NO
EXCLUDE_SYMBOLS = detail detail::*
DOXY
) >"$out/bindings/cpp/Doxyfile"
doxygen "$out/bindings/cpp/Doxyfile" >/dev/null 2>&1 || { echo "doxygen failed on backendai.hpp"; fail=1; }

echo "== bindings/go: go doc"
(cd bindings/go && go doc -all . >"$out/bindings/go.txt" 2>&1) || { cat "$out/bindings/go.txt"; echo "go doc failed"; fail=1; }

for lang in cpp go python node; do
    list="docs/undocumented/$lang.txt"
    if [ "$lang" = cpp ]; then
        python3 docs/bindings_check.py cpp "$out/bindings/cpp/warnings.log" >"$out/bindings/$lang.undocumented"
    else
        python3 docs/bindings_check.py "$lang" >"$out/bindings/$lang.undocumented"
    fi
    if [ "$update" = --update ]; then
        mkdir -p docs/undocumented
        cp "$out/bindings/$lang.undocumented" "$list"
    fi
    touch "$list"
    new="$(comm -13 <(sort "$list") <(sort "$out/bindings/$lang.undocumented"))"
    gone="$(comm -23 <(sort "$list") <(sort "$out/bindings/$lang.undocumented"))"
    if [ -n "$new" ]; then
        echo "$new" | sed 's/^/  /'
        echo "bindings/$lang: $(echo "$new" | wc -l) public items without documentation (above): document them"
        fail=1
    fi
    if [ -n "$gone" ]; then
        echo "$gone" | sed 's/^/  /'
        echo "bindings/$lang: documented now (above): remove them from $list"
        fail=1
    fi
    echo "bindings/$lang: $(wc -l <"$list") items still undocumented (listed in $list), no new one"
done
[ "$fail" = 0 ]
