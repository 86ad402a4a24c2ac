#!/usr/bin/env bash
# mtlc check-grad on every spec in specs/ and tests/grad/: every parameter
# tensor's gradient against central differences (double, eps 1e-6).
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
# specs/: 16 sampled elements per tensor; the small test specs: every element.
for f in specs/*.mtl tests/grad/*.mtl; do
  name=grad/$(basename "${f%.mtl}")
  case $f in specs/*) seeds=1; opts="--samples 16" ;; *) seeds="1 2"; opts="--samples 0" ;; esac
  for seed in $seeds; do
    if out=$("$MTLC" check-grad "$f" --seed $seed --batch 3 $opts 2>&1); then
      echo "[PASS] $name seed $seed"
    else
      echo "[FAIL] $name seed $seed"
      printf '%s\n' "$out" | grep -E 'FAIL|error' | head -n 10 | sed 's/^/    /'
    fi
  done
done
