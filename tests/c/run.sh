#!/usr/bin/env bash
# Runs one test program or example and checks it.
#
#   run.sh [--valgrind] [--stdin TEXT] [--status N] [--expect REGEX]... [--expect-err REGEX]...
#          [--reject REGEX]... [--local-only REASON] -- PROGRAM [ARGS...]
#
# Passes when PROGRAM exits with status N (default 0), every --expect extended regex matches
# a line of its standard output (--expect-err: of its standard error), no --reject regex matches its output (stdout or stderr), and the output never
# contains the value of BACKEND_SECRET_KEY. --valgrind runs it under valgrind with full leak
# checking: any error or definite/indirect leak fails. The program runs in a fresh
# temporary directory (examples write files there). --local-only: the test needs something
# only the local server has; with BAI_TEST_REAL_SERVER=1 (the target is a real manager) it is
# skipped (exit status 77, which ctest counts as skipped).
set -uo pipefail

valgrind=0
stdin_text=""
expects=()
expect_errs=()
want_status=0
rejects=()
local_only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --valgrind) valgrind=1; shift ;;
        --stdin) stdin_text="$2"; shift 2 ;;
        --status) want_status="$2"; shift 2 ;;
        --expect) expects+=("$2"); shift 2 ;;
        --expect-err) expect_errs+=("$2"); shift 2 ;;
        --reject) rejects+=("$2"); shift 2 ;;
        --local-only) local_only="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ $# -gt 0 ] || { echo "run.sh: no program given" >&2; exit 2; }
if [ -n "$local_only" ] && [ "${BAI_TEST_REAL_SERVER:-0}" = 1 ]; then
    echo "skipped against a real server (BAI_TEST_REAL_SERVER=1): $local_only"
    exit 77
fi

program="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmd=("$program" "$@")
if [ "$valgrind" = 1 ]; then
    cmd=(valgrind --quiet --leak-check=full --error-exitcode=99
         --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
         --track-origins=yes "${cmd[@]}")
fi

(cd "$work" && printf '%s' "$stdin_text" | "${cmd[@]}" >"$work/.stdout" 2>"$work/.stderr")
status=$?

echo "--- $(basename "$program") $* (exit status $status)"
echo "--- stdout:"
cat "$work/.stdout"
echo "--- stderr:"
cat "$work/.stderr"
echo "---"

failed=0
if [ "$status" -ne "$want_status" ]; then
    if [ "$valgrind" = 1 ] && [ "$status" -eq 99 ]; then
        echo "FAIL: valgrind found memory errors or leaks (see above)"
    else
        echo "FAIL: exit status $status, expected $want_status"
    fi
    failed=1
fi
for re in "${expects[@]+"${expects[@]}"}"; do
    if ! grep -qE -- "$re" "$work/.stdout"; then
        echo "FAIL: no line of stdout matches: $re"
        failed=1
    fi
done
for re in "${expect_errs[@]+"${expect_errs[@]}"}"; do
    if ! grep -qE -- "$re" "$work/.stderr"; then
        echo "FAIL: no line of stderr matches: $re"
        failed=1
    fi
done
for re in "${rejects[@]+"${rejects[@]}"}"; do
    if cat "$work/.stdout" "$work/.stderr" | grep -qE -- "$re"; then
        echo "FAIL: the output matches what it must not: $re"
        failed=1
    fi
done
if [ -n "${BACKEND_SECRET_KEY:-}" ] && cat "$work/.stdout" "$work/.stderr" | grep -qF -- "$BACKEND_SECRET_KEY"; then
    echo "FAIL: the output contains the secret key"
    failed=1
fi
[ "$failed" -eq 0 ] && echo "PASS"
exit "$failed"
