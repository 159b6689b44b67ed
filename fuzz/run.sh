#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) on a copy of the committed seed
# corpus, and prints each target's execution count. Exits non-zero if a target crashed.
#   fuzz/run.sh [SECONDS] [TARGET...]
# Env: FUZZ_JOBS (targets run side by side, default 1), FUZZ_MAX_LEN (default 8192).
set -u
cd "$(dirname "$0")"
SECS=${1:-20}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(exec_step exec_record files_download files_listing term_frame sse error_http gql_page config)
fi
JOBS=${FUZZ_JOBS:-1}
MAXLEN=${FUZZ_MAX_LEN:-8192}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install cargo-fuzz || { echo "cannot install cargo-fuzz" >&2; exit 2; }
fi
if ! cargo +nightly fuzz build -O >target-build.log 2>&1; then
  tail -30 target-build.log >&2
  echo "fuzz targets do not build" >&2
  exit 2
fi

mkdir -p logs
run_one() {
  local t=$1
  local work=target/corpus-work/$t
  mkdir -p "$work" "artifacts/$t"
  cp -n corpus/"$t"/* "$work"/ 2>/dev/null
  cargo +nightly fuzz run -O "$t" "$work" -- -max_total_time="$SECS" -max_len="$MAXLEN" \
    -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 >"logs/$t.log" 2>&1
  local rc=$?
  local execs
  execs=$(grep -a -m1 'stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}')
  if [ $rc -eq 0 ]; then
    printf '%-16s %12s execs  ok\n' "$t" "${execs:-?}"
  else
    printf '%-16s %12s execs  FAILED (rc %s; see fuzz/logs/%s.log, fuzz/artifacts/%s/)\n' "$t" "${execs:-?}" "$rc" "$t" "$t"
    grep -a -m3 -E "panicked|ERROR: libFuzzer|SUMMARY" "logs/$t.log" | sed 's/^/    /'
  fi
  return $rc
}

fail=0
running=0
pids=()
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  pids+=($!)
  running=$((running + 1))
  if [ $running -ge "$JOBS" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
    running=$((running - 1))
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
