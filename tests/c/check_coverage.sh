#!/usr/bin/env bash
# Fails when a function declared in backendai.h is not exercised by test_null_args.c.
#   check_coverage.sh HEADER TEST_SOURCE
set -euo pipefail
header="$1"
source="$2"
functions=$(grep -oE '\bbai_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u |
    while read -r f; do
        # Declarations only: the name must appear in a BAI_API prototype.
        if awk '/^BAI_API/{p=1} p{print} /;$/{p=0}' "$header" | grep -qE "\b$f\("; then echo "$f"; fi
    done)
missing=0
total=0
for f in $functions; do
    total=$((total + 1))
    if ! grep -qE "\b$f\(" "$source"; then
        echo "not covered by $(basename "$source"): $f" >&2
        missing=$((missing + 1))
    fi
done
echo "$((total - missing)) of $total functions of $(basename "$header") covered"
[ "$total" -gt 0 ] && [ "$missing" -eq 0 ]
