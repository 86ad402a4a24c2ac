#!/usr/bin/env bash
# The C back end: for every spec in specs/ and tests/grad/,
#  - emit-c output compiles with cc -std=c11 -Wall -Wextra -Werror;
#  - check-codegen: outputs, losses, gradients and one update of each
#    optimizer agree with the reference interpreter (relative 1e-4), at
#    batch 5 and batch 1;
#  - the generated code runs clean under AddressSanitizer and
#    UndefinedBehaviorSanitizer (tests/unit/harness.c).
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas"
for f in specs/*.mtl tests/grad/*.mtl; do
  n=$(basename "${f%.mtl}")
  d=$tmp/$n
  if ! "$MTLC" emit-c "$f" -o "$d" --batch 4 --main 2>/dev/null; then
    echo "[FAIL] codegen/$n: emit-c failed"; continue
  fi
  model=$(basename "$(ls "$d"/*.h | grep -v /main.h)" .h)
  if out=$(cc -std=c11 -Wall -Wextra -Werror -O2 -Iruntime -c "$d/$model.c" -o "$d/m.o" 2>&1 &&
           cc -std=c11 -Wall -Wextra -Werror -O2 -Iruntime -I"$d" -c "$d/main.c" -o "$d/main.o" 2>&1); then
    echo "[PASS] codegen/$n compiles with -Wall -Wextra -Werror"
  else
    echo "[FAIL] codegen/$n compiles with -Wall -Wextra -Werror"; printf '%s\n' "$out" | head -n 10
  fi
  for b in 5 1; do
    if out=$("$MTLC" check-codegen "$f" --batch $b --seed 3 2>/dev/null); then
      echo "[PASS] codegen/$n agrees with the interpreter at batch $b"
    else
      echo "[FAIL] codegen/$n agrees with the interpreter at batch $b"
      printf '%s\n' "$out" | grep -E 'FAIL' | head -n 10 | sed 's/^/    /'
    fi
  done
  if out=$(cc -std=c11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
      -Iruntime -I"$d" -DMODEL_HEADER="\"$model.h\"" -DMODEL_INFO="${model}_info" \
      tests/unit/harness.c "$d/$model.c" runtime/mtl_kernel.c runtime/mtl_gemm.c $blas -lm -o "$d/harness" 2>&1) &&
     out=$(ASAN_OPTIONS=detect_leaks=1 "$d/harness" 2>&1); then
    echo "[PASS] codegen/$n runs clean under ASan and UBSan"
  else
    echo "[FAIL] codegen/$n runs clean under ASan and UBSan"; printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
  fi
done
