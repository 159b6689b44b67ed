#!/usr/bin/env python3
"""Writes a C++ source that defines every function declared in include/backendai.h with an
empty body (it traps), for abi/check.sh and abi/update.sh: compiled into a stub shared
library with the soname and version script of the real one, it carries DWARF of exactly the
header's types, which abidw reads (the Rust library's own DWARF describes Rust types). It is
compiled as C++ so that the enums are the types of the functions and their values count.

    abi/stub.py include/backendai.h > stub.cc
"""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
# Drop comments, then take each declaration from BAI_API to its ';'.
code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
code = re.sub(r"//[^\n]*", "", code)
decls = re.findall(r"^BAI_API\b(.*?);", code, flags=re.S | re.M)
if not decls:
    sys.exit("abi/stub.py: no BAI_API declaration found in %s" % sys.argv[1])
out = ['#include "backendai.h"', ""]
for d in decls:
    d = " ".join(d.split())
    out.append("%s { __builtin_trap(); }" % d)
print("\n".join(out))
