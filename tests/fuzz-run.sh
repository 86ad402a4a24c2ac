#!/usr/bin/env bash
# tests/fuzz-run.sh SECONDS NAME...: what `make fuzz` runs (FUZZ_TIME=SECONDS,
# default 60). Fuzzes each harness build/fuzz/fuzz_NAME (tests/fuzz_NAME.c)
# for SECONDS, one at a time and at the lowest priority (nice 19), so a
# shared machine keeps its other cores. Its corpus, build/fuzz/corpus/NAME/,
# is kept between runs; it starts from the seeds (tests/fuzz-seeds.sh) and
# the committed tests/fuzz-corpus/NAME/ if there is one, with the
# dictionary tests/fuzz_NAME.dict. A crash, a leak, a timeout or an input
# needing more than 2 GiB is saved as build/fuzz/artifacts/NAME-crash-...
# and fails the run. The timeout, 60 s, is wall-clock time: at nice 19 on
# a busy machine a 0.1 s input once waited 10 s for a core. Prints
# per harness the CPU seconds, executions and corpus size; the full log is
# build/fuzz/NAME.log. See tests/fuzz.md.
set -u
cd "$(dirname "$0")/.."
secs=$1
shift
tests/fuzz-seeds.sh build/fuzz/seeds || exit 1
mkdir -p build/fuzz/artifacts
status=0
for n in "$@"; do
  mkdir -p "build/fuzz/corpus/$n"
  dirs=("build/fuzz/corpus/$n" "build/fuzz/seeds/$n")
  [ -d "tests/fuzz-corpus/$n" ] && dirs+=("tests/fuzz-corpus/$n")
  log=build/fuzz/$n.log
  /usr/bin/time -f '%U %S' -o "build/fuzz/$n.time" \
    nice -n 19 "build/fuzz/fuzz_$n" -dict="tests/fuzz_$n.dict" -max_len=65536 -timeout=60 \
    -rss_limit_mb=2048 -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="build/fuzz/artifacts/$n-" \
    "${dirs[@]}" >"$log" 2>&1
  rc=$?
  cpu=$(awk '{ printf "%.0f", $1 + $2 }' "build/fuzz/$n.time" 2>/dev/null)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  files=$(find "build/fuzz/corpus/$n" -type f | wc -l)
  bytes=$(find "build/fuzz/corpus/$n" -type f -printf "%s\n" | awk "{ s += \$1 } END { print s + 0 }")
  echo "fuzz_$n: exit $rc, ${cpu:-?} CPU s, ${runs:-?} runs, corpus $files files, $bytes bytes"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|artifact' "$log" | head -n 5 | sed 's/^/    /'
    status=1
  fi
done
exit $status
