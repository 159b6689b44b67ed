#!/usr/bin/env bash
# Builds the documentation and fails on any warning:
#   1. every top-level declaration of include/backendai.h has a doc comment and a group
#      (docs/groups.py --check);
#   2. every bai_/BAI_ name the guide and index mention exists in the header, and the guide
#      links every scenario page;
#   3. every ```c block of docs/guide.md compiles against the header with -Wall -Wextra -Werror;
#   4. Doxygen renders the header, the guide and one page per example into HTML, warnings as
#      errors (an undocumented symbol, a broken reference);
#   5. with --bindings, each binding's API documentation builds without warnings.
#
#   docs/build.sh [--out DIR] [--bindings]     (default DIR: target/docs; HTML in DIR/html)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${CARGO_TARGET_DIR:-$root/target}/docs"
bindings=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --bindings) bindings=1; shift ;;
        *) echo "usage: $0 [--out DIR] [--bindings]" >&2; exit 2 ;;
    esac
done
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
command -v doxygen >/dev/null || die "doxygen is missing (Debian package doxygen; docs/tools.sh installs it)"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
rm -rf "$out/html" "$out/pages" "$out/snippets"
mkdir -p "$out/pages" "$out/snippets"
header=include/backendai.h
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"

echo "== the header: doc comments and groups"
python3 docs/groups.py --check "$header" ||
    die "include/backendai.h: a declaration without doc comment or group (above): document it in src/ffi, or add a name rule to docs/groups.py"

echo "== scenario pages, one per example"
python3 - "$header" "$out/pages" examples/*.c <<'PY' || die "the scenario pages (above)"
import os, re, sys
header, pages, examples = sys.argv[1], sys.argv[2], sys.argv[3:]
code = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
declared = set(re.findall(r"\b(?:bai|BAI)_\w+\b", code))
for path in examples:
    name = os.path.basename(path)[:-2]
    src = open(path).read()
    m = re.match(r"/\*(.*?)\*/", src, flags=re.S)
    if not m:
        sys.exit("%s: no leading comment to describe the scenario" % path)
    lines = [re.sub(r"^ ?\* ?", "", l) for l in m.group(1).strip("\n").split("\n")]
    first = lines[0].strip()
    t = re.match(r"\S+\.c: (.*?)\.?$", first)
    title = t.group(1).strip('"') if t else first
    title = title.replace('"', "")
    used = []
    for fn in re.findall(r"\b(bai_\w+)\s*\(", src):
        if fn not in used:
            used.append(fn)
    unknown = [f for f in used if f not in declared]
    if unknown:
        sys.exit("%s calls %s, not declared in the header" % (path, ", ".join(unknown)))
    body = ["# %s {#scenario_%s}" % (title, name), "",
            "The program `examples/%s.c`, installed with the library under "
            "`share/doc/backendai/examples/`. Its own description:" % name, "", "```text"]
    body += lines[1:] if len(lines) > 1 else []
    body += ["```", "", "Functions it calls: " + ", ".join("%s()" % f for f in used) + ".", "",
             "Build it with the other examples (`cmake -S examples -B build/examples`), or on its own "
             "against an installed library: `cc %s.c $(pkg-config --cflags --libs backendai)`." % name, "",
             "\\include %s.c" % name, ""]
    open(os.path.join(pages, "scenario_%s.md" % name), "w").write("\n".join(body))
print("%d scenario pages" % len(examples))
PY

echo "== the guide: names, scenario links"
python3 - "$header" docs/guide.md docs/index.md examples/*.c <<'PY' || die "docs/guide.md or docs/index.md (above)"
import os, re, sys
header, docs, examples = sys.argv[1], sys.argv[2:4], sys.argv[4:]
code = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
declared = set(re.findall(r"\b(?:bai|BAI)_\w+\b", code))
# Names the guide may use that the header does not declare: environment variables, the
# version node, and the names the guide's own snippets define.
allowed = {"BAI_LOG"}
bad = []
for doc in docs:
    text = open(doc).read()
    for n, line in enumerate(text.split("\n"), 1):
        for name in re.findall(r"\b(?:bai|BAI)_[A-Za-z0-9_]+\b", line):
            if name not in declared and name not in allowed and not name.startswith("BACKENDAI_"):
                bad.append("%s:%d: %s is not declared in include/backendai.h" % (doc, n, name))
guide = open(docs[0]).read()
for path in examples:
    name = os.path.basename(path)[:-2]
    if not re.search(r"[\\@]ref scenario_%s\b" % name, guide):
        bad.append("docs/guide.md: no link to the scenario page of examples/%s.c (\\ref scenario_%s)" % (name, name))
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

echo "== the guide and the README: every C snippet compiles"
python3 - "$out/snippets" docs/guide.md README.md <<'PY' || die "extracting the C snippets of docs/guide.md and README.md"
import os, sys
n = 0
for src in sys.argv[2:]:
    text = open(src).read().split("\n")
    stem = os.path.splitext(os.path.basename(src))[0].lower()
    i = 0
    while i < len(text):
        if text[i].strip() == "```c":
            start = i + 1
            j = start
            while text[j].strip() != "```":
                j += 1
            n += 1
            with open("%s/%s_%02d.c" % (sys.argv[1], stem, n), "w") as f:
                f.write('#line %d "%s"\n' % (start + 1, src))
                f.write("\n".join(text[start:j]) + "\n")
            i = j
        i += 1
print("%d snippets" % n)
PY
uv_cflags="$(pkg-config --cflags libuv 2>/dev/null || true)"
for snippet in "$out"/snippets/*.c; do
    if grep -q '<uv.h>' "$snippet" && ! pkg-config --exists libuv; then
        die "$(basename "$snippet") needs libuv headers (Debian package libuv1-dev; docs/tools.sh installs it)"
    fi
    cc -std=c11 -Wall -Wextra -Werror -Werror=implicit-function-declaration -pedantic \
        -I include $uv_cflags -c "$snippet" -o "${snippet%.c}.o" ||
        die "a C snippet of docs/guide.md or README.md does not compile (the error above gives its line)"
done

echo "== Doxygen"
BAI_DOCS_OUT="$out" BAI_DOCS_PAGES="$out/pages" BAI_DOCS_VERSION="$version" doxygen docs/Doxyfile >"$out/doxygen.log" 2>&1 || true
if [ -s "$out/warnings.log" ] || [ ! -f "$out/html/index.html" ]; then
    cat "$out/warnings.log" "$out/doxygen.log" 2>/dev/null | head -n 60
    die "Doxygen: $(cat "$out/warnings.log" 2>/dev/null | wc -l) warning lines (above): an undocumented public symbol (document it in src/ffi and rebuild the header), a broken reference or a bad command in the header, docs/guide.md or docs/index.md"
fi
echo "HTML reference: $out/html/index.html ($(ls "$out/html" | wc -l) files)"

if [ "$bindings" = 1 ]; then
    "$root/docs/bindings.sh" "$out" || die "docs/bindings.sh: a binding's API documentation (above)"
fi
echo "documentation built without warnings"
