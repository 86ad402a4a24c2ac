#!/usr/bin/env bash
# Command-line values that once meant something other than what they said,
# or failed late: counts of 0, a --batch too large, --save naming a folder,
# emit-llvm for a RISC-V Linux triple, and check-codegen on a correct AdamW
# first step (tests/grad/bias_before_batchnorm.mtl's noise-sized gradient).
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] cli/$1"; }
fail() { echo "[FAIL] cli/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }
bad() { # name expected-substring command...: exit 1, the message, no crash, no epoch
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out" && ! grep -q "^epoch\|Sanitizer\|Segmentation\|core dumped\|Assertion\|LLVM ERROR" <<<"$out"; then
    pass "$name"
  else
    fail "$name" "exit $rc, want 1 and '$want' in: $out"
  fi
}
cat >"$tmp/s.mtl" <<'SPEC'
model s
input image: f32[784]
task item { label: class(10)  net: image -> dense(10) }
data train { image: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
             item: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz" }
data test { image: "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
            item: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz" }
train { optimizer: sgd(lr=0.1)  batch: 4  epochs: 1 }
SPEC
s=$tmp/s.mtl
bad "--epochs 0 is refused" "--epochs needs a whole number from 1" "$MTLC" train $s --epochs 0
bad "--limit 0 is refused" "--limit needs a whole number from 1" "$MTLC" train $s --limit 0
bad "--steps 0 is refused" "--steps needs a whole number from 1" "$MTLC" bench $s --steps 0
bad "--batch 0 is refused" "--batch needs a whole number from 1" "$MTLC" train $s --batch 0
out=$("$MTLC" train $s --batch 100000000 2>&1); rc=$?
if [ $rc = 1 ] && [ "$(grep -c . <<<"$out")" -le 2 ] && grep -qF -- "--batch" <<<"$out"; then
  pass "--batch 100000000: one error"
else
  fail "--batch 100000000: one error" "exit $rc: $out"
fi
mkdir "$tmp/dir"
bad "--save DIR that is a folder fails before training" "$tmp/dir" "$MTLC" train $s --limit 8 --save "$tmp/dir"
bad "emit-llvm for riscv64-linux-gnu is refused cleanly" "riscv64-linux-gnu" \
  "$MTLC" emit-llvm $s --obj --target riscv64-linux-gnu -o "$tmp/r.o"
[ -e "$tmp/r.o" ] && fail "emit-llvm riscv64-linux-gnu writes nothing" || pass "emit-llvm riscv64-linux-gnu writes nothing"
out=$("$MTLC" emit-llvm $s --obj --target riscv64-unknown-elf -o "$tmp/rv.o" 2>&1); rc=$?
if [ $rc = 0 ] && [ -s "$tmp/rv.o" ]; then pass "emit-llvm riscv64-unknown-elf object"
else fail "emit-llvm riscv64-unknown-elf object" "exit $rc: $out"; fi
for seed in 1 2 3; do
  out=$("$MTLC" check-codegen tests/grad/bias_before_batchnorm.mtl --seed $seed 2>&1); rc=$?
  if [ $rc = 0 ]; then pass "check-codegen passes AdamW's first step, seed $seed"
  else fail "check-codegen passes AdamW's first step, seed $seed" "exit $rc: $out"; fi
done
