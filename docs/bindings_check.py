#!/usr/bin/env python3
"""Lists the public items of a binding that have no documentation, one per line.

    docs/bindings_check.py python|go|node      (run from the repository root)
    docs/bindings_check.py cpp WARNINGS_LOG    (Doxygen's warnings on backendai.hpp)

Public means: Python names without a leading underscore in modules without one (functions,
classes, methods); Go exported identifiers (func, method, type, const, var); the names the
Node package exports and the public methods of its exported classes; for C++ whatever Doxygen
reports as undocumented. Each item is named without line numbers, so that the list compares
across edits. docs/bindings.sh compares it with docs/undocumented/LANG.txt.
"""
import ast
import glob
import os
import re
import sys


def python_items():
    for path in sorted(glob.glob("bindings/python/backendai_native/*.py")):
        mod = os.path.basename(path)[:-3]
        if mod.startswith("_") and mod != "__init__":
            continue
        tree = ast.parse(open(path, encoding="utf-8").read())
        if mod != "__init__" and not ast.get_docstring(tree):
            yield "%s: module docstring" % mod
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if not ast.get_docstring(node):
                    yield "%s.%s" % (mod, node.name)
                if isinstance(node, ast.ClassDef):
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("_"):
                            if not ast.get_docstring(item):
                                yield "%s.%s.%s" % (mod, node.name, item.name)


def go_items():
    decl = re.compile(r"^(?:func (?:\(\s*\w+\s+\*?(\w+)\s*\)\s*)?([A-Z]\w*)|type ([A-Z]\w*)|(?:const|var) ([A-Z]\w*))")
    for path in sorted(glob.glob("bindings/go/*.go")):
        if path.endswith("_test.go"):
            continue
        lines = open(path, encoding="utf-8").read().split("\n")
        for i, line in enumerate(lines):
            m = decl.match(line)
            if not m:
                continue
            recv, fn, typ, val = m.groups()
            if recv and not recv[0].isupper():
                continue
            name = typ or val or (("%s.%s" % (recv, fn)) if recv else fn)
            if i == 0 or not lines[i - 1].startswith("//"):
                yield "%s: %s" % (os.path.basename(path), name)


def node_items():
    src = open("bindings/node/lib/index.js", encoding="utf-8").read()
    m = re.search(r"module\.exports\s*=\s*\{(.*?)\}", src, flags=re.S)
    exported = re.findall(r"\b([A-Za-z_]\w*)\b(?=\s*[,:}\n])", m.group(1)) if m else []
    lines = src.split("\n")

    def documented(i):
        j = i - 1
        while j >= 0 and lines[j].strip() == "":
            j -= 1
        return j >= 0 and lines[j].strip().endswith("*/")

    for name in exported:
        for i, line in enumerate(lines):
            if re.match(r"^(?:async\s+)?(?:class|function\*?)\s+%s\b|^const\s+%s\s*=" % (name, name), line):
                if not documented(i):
                    yield name
                if line.startswith("class"):
                    k = i + 1
                    while k < len(lines) and not lines[k].startswith("}"):
                        mm = re.match(r"^  (?:static\s+)?(?:async\s+)?(?:get\s+|set\s+)?\*?([a-zA-Z]\w*)\s*\(", lines[k])
                        if mm and mm.group(1) not in ("constructor", "if", "for", "while", "switch") and not documented(k):
                            yield "%s.%s" % (name, mm.group(1))
                        k += 1
                break


def cpp_items(log):
    for line in open(log, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        m = re.match(r"^[^:]*:\d+: (?:warning|error): (.*)$", line)
        yield m.group(1) if m else line


if __name__ == "__main__":
    lang = sys.argv[1]
    items = {"python": python_items, "go": go_items, "node": node_items}.get(lang)
    found = list(cpp_items(sys.argv[2])) if lang == "cpp" else list(items())
    for item in sorted(set(found)):
        print(item)
