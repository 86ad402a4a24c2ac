#!/usr/bin/env bash
# Numbers that once came out wrong with exit status 0, through both back
# ends and the interpreter: relu keeps a NaN, cross-entropy of equal large
# logits is log K (tests/unit/special.c runs the generated code on them);
# a run on logits of 1e8 logs loss log 10 with either back end.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] numbers/$1"; }
fail() { echo "[FAIL] numbers/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas"

cat >"$tmp/special.mtl" <<'SPEC'
model special
input z: f32[4]
task t { label: class(4)  net: z -> relu }
SPEC
build() { # BACKEND: builds $tmp/BACKEND/run
  local d=$tmp/$1 code
  mkdir -p "$d"
  if [ "$1" = c ]; then
    "$MTLC" emit-c "$tmp/special.mtl" -o "$d" && code=$d/special.c
  else
    "$MTLC" emit-c "$tmp/special.mtl" -o "$d" && rm "$d/special.c" &&
      "$MTLC" emit-llvm "$tmp/special.mtl" --obj -o "$d/special.o" && code=$d/special.o
  fi &&
  cc -std=c11 -O2 -Iruntime -I"$d" -DMODEL_HEADER='"special.h"' -DMODEL_INFO=special_info \
     tests/unit/special.c "$code" runtime/mtl_kernel.c runtime/mtl_gemm.c $blas -lm -o "$d/run"
}
for be in c llvm; do
  if out=$(build $be 2>&1 && "$tmp/$be/run" 2>&1); then pass "$be: relu keeps NaN and inf; cross-entropy of 1e8 logits is log 4"
  else fail "$be: relu keeps NaN and inf; cross-entropy of 1e8 logits is log 4" "$out"; fi
done

# end to end: ten logits of 1e8, their mean loss log 10 = 2.3026
for i in $(seq 16); do echo "1e8,1e8,1e8,1e8,1e8,1e8,1e8,1e8,1e8,1e8,$((i % 10))"; done >"$tmp/big.csv"
cat >"$tmp/ce.mtl" <<SPEC
model ce
input z: f32[10]
task t { label: class(10)  net: z -> flatten }
train { optimizer: sgd(lr=0.1)  batch: 16  epochs: 1 }
data train { z: "$tmp/big.csv", csv(columns=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])  t: "$tmp/big.csv", csv(column=10) }
data test  { z: "$tmp/big.csv", csv(columns=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])  t: "$tmp/big.csv", csv(column=10) }
SPEC
for be in jit c; do
  out=$("$MTLC" train "$tmp/ce.mtl" --backend $be 2>&1)
  if printf '%s\n' "$out" | grep -q 'train loss t 2.3026 .*loss 2.3026'; then pass "$be: logits of 1e8 train with loss log 10"
  else fail "$be: logits of 1e8 train with loss log 10" "$out"; fi
done
