#!/usr/bin/env bash
# The LLVM back end:
#  - for every spec in specs/ and tests/grad/, the JIT's outputs, losses,
#    gradients and one update agree with the interpreter (relative 1e-4);
#  - emit-llvm output passes opt-14 -verify;
#  - ahead of time: an object file from emit-llvm --obj, linked with the
#    trainer main.c from emit-c --main and the runtime, trains and matches
#    the JIT's numbers;
#  - 50 training steps through the JIT and through the C back end give the
#    same per-task losses within 1e-3 relative;
#  - a bad --target is a clear error, exit 1.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] llvm/$1"; }
fail() { echo "[FAIL] llvm/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }

for f in specs/*.mtl tests/grad/*.mtl; do
  n=$(basename "${f%.mtl}")
  if out=$("$MTLC" check-codegen "$f" --backend jit --batch 5 --seed 4 2>/dev/null); then
    pass "$n: the JIT agrees with the interpreter"
  else
    fail "$n: the JIT agrees with the interpreter" "$(grep FAIL <<<"$out")"
  fi
  if "$MTLC" emit-llvm "$f" -o "$tmp/$n.ll" 2>/dev/null && out=$(opt-14 -verify -disable-output "$tmp/$n.ll" 2>&1); then
    pass "$n: emit-llvm passes opt -verify"
  else
    fail "$n: emit-llvm passes opt -verify" "$out"
  fi
done

# ahead of time, against the JIT
spec=specs/fashion_hard.mtl
d=$tmp/aot
mkdir -p "$d"
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas"
if "$MTLC" emit-c $spec -o "$d" --main 2>/dev/null && rm "$d/fashion_hard.c" &&
   "$MTLC" emit-llvm $spec --obj -o "$d/fashion_hard.o" 2>/dev/null &&
   cc -std=c11 -O2 -Iruntime -I"$d" -o "$d/train" "$d/main.c" "$d/fashion_hard.o" build/libmtlrt.a $blas -lz -lm 2>"$d/cc.log" &&
   "$d/train" --limit 128 --epochs 1 --log "$d/aot.log" >/dev/null 2>&1 &&
   "$MTLC" train $spec --limit 128 --epochs 1 --log "$d/jit.log" >/dev/null 2>&1; then
  a=$(sed 's/, "seconds": .*//' "$d/aot.log"); j=$(sed 's/, "seconds": .*//' "$d/jit.log")
  if [ -n "$a" ] && [ "$a" = "$j" ]; then pass "an object file linked into a C trainer matches the JIT"
  else fail "an object file linked into a C trainer matches the JIT" "aot: $a
jit: $j"; fi
else
  fail "an object file linked into a C trainer matches the JIT" "$(cat "$d/cc.log" 2>/dev/null)"
fi

# 50 steps: JIT against C
close() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= 1e-3 * m) }'; }
loss() { sed -n "s/.*\"train_loss\": {[^}]*\"$1\": \([-0-9.e+]*\).*/\1/p" "$2"; }
if "$MTLC" train $spec --backend c --limit 3200 --epochs 1 --log "$tmp/c.log" >/dev/null 2>&1 &&
   "$MTLC" train $spec --backend jit --limit 3200 --epochs 1 --log "$tmp/j.log" >/dev/null 2>&1; then
  ok=1; why=""
  for t in item category; do
    c=$(loss $t "$tmp/c.log"); j=$(loss $t "$tmp/j.log")
    if [ -z "$c" ] || [ -z "$j" ]; then ok=0; why="$why $t: no loss in a log (c '$c', jit '$j');"; continue; fi
    close "$j" "$c" || { ok=0; why="$why $t: c $c jit $j;"; }
  done
  if [ $ok = 1 ]; then pass "50 steps: JIT and C losses agree within 1e-3"
  else fail "50 steps: JIT and C losses agree within 1e-3" "$why"; fi
else
  fail "50 steps: JIT and C losses agree within 1e-3" "a training run failed"
fi

out=$("$MTLC" emit-llvm $spec --obj --target no-such-arch-unknown -o "$tmp/x.o" 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "LLVM" <<<"$out" && [ ! -e "$tmp/x.o" ]; then pass "a bad --target is an error"
else fail "a bad --target is an error" "exit $rc: $out"; fi
