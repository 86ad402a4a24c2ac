#!/usr/bin/env bash
# The runtime under AddressSanitizer and UndefinedBehaviorSanitizer (clang-14,
# `make fuzz-build`; tests/fuzz.md):
#  - the runtime's unit tests (tests/unit/test_runtime.c) against the
#    sanitized runtime: every reader, checkpoints, the training loop;
#  - each libFuzzer harness tests/fuzz_NAME.c replays its seeds (made by
#    tests/fuzz-seeds.sh from the files the unit tests write, the
#    reproducers of issue 17's findings among them), the committed inputs
#    of tests/fuzz-corpus/NAME/ if any and, when `make fuzz` has grown one,
#    build/fuzz/corpus/NAME/;
#  - a model's generated C with the sanitized runtime: a standalone trainer
#    of specs/fashion_soft.mtl trains 2 epochs on 200 samples with --save
#    and --log, resumes for a third, and evaluates the checkpoint.
# Any sanitizer report (a leak at exit too) aborts, which fails the test.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] fuzz/$1"; }
fail() { echo "[FAIL] fuzz/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/    /'; }
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1

if ! out=$(make -s --no-print-directory fuzz-build build/test_runtime 2>&1); then
  fail "build (clang-14 with libFuzzer: tools/deps.sh installs it)" "$out"
  exit 0
fi

# 1. the unit tests, sanitized
if out=$(build/fuzz/test_runtime 2>&1) && ! grep -q '^\[FAIL' <<<"$out"; then
  pass "the runtime's $(grep -c '^\[PASS' <<<"$out") unit checks under ASan and UBSan"
else
  fail "the runtime's unit checks under ASan and UBSan" "$(grep -v '^\[PASS' <<<"$out")"
fi

# 2. every harness replays its inputs
if ! out=$(tests/fuzz-seeds.sh "$tmp/seeds" 2>&1); then
  fail "seeds" "$out"
  exit 0
fi
for n in idx npy csv ckpt json split; do
  dirs=("$tmp/seeds/$n")
  for d in "tests/fuzz-corpus/$n" "build/fuzz/corpus/$n"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  count=$(find "${dirs[@]}" -type f | wc -l)
  if out=$(build/fuzz/fuzz_$n -runs=0 -timeout=60 -rss_limit_mb=2048 "${dirs[@]}" 2>&1); then
    pass "$n replays $count inputs clean"
  else
    fail "$n replays $count inputs clean" "$(grep -E -A12 'ERROR|SUMMARY' <<<"$out" | head -n 20)"
  fi
done

# 3. generated code and the sanitized runtime, end to end
d=$tmp/soft
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas"
run() { # what, command...: rc 0, no sanitizer report
  if out=$("${@:2}" 2>&1) && ! grep -q 'Sanitizer' <<<"$out"; then pass "$1"; else fail "$1" "$out"; fi
}
if out=$("$MTLC" emit-c specs/fashion_soft.mtl -o "$d" --batch 32 --main 2>&1) &&
   out=$(clang-14 -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
         -fsanitize=fuzzer-no-link -Iruntime -I"$d" -o "$d/train" "$d/main.c" "$d/fashion_soft.c" \
         build/fuzz/libmtlrt.a $blas -lz -lm 2>&1); then
  run "a generated trainer trains and saves under ASan and UBSan" \
    "$d/train" --limit 200 --batch 32 --epochs 2 --save "$d/ck" --log "$d/log"
  run "a generated trainer resumes under ASan and UBSan" \
    "$d/train" --limit 200 --batch 32 --epochs 3 --resume "$d/ck" --save "$d/ck" --log "$d/log"
  run "a generated trainer evaluates under ASan and UBSan" "$d/train" --limit 200 --eval "$d/ck"
  if [ "$(grep -c '^{"epoch"' "$d/log" 2>/dev/null)" = 3 ]; then pass "the sanitized trainer logged 3 epochs"
  else fail "the sanitized trainer logged 3 epochs" "$(cat "$d/log" 2>&1)"; fi
else
  fail "a generated trainer builds with the sanitized runtime" "$out"
fi
