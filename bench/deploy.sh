#!/usr/bin/env bash
# bench/deploy.sh: batch-1 inference latency of fashion_hard on one thread,
# side by side in one run: the inference-only C (emit-c --infer --weights,
# gcc -O3 -march=native, examples/deploy/classify.c's --bench), the same
# program through LLVM (emit-llvm --infer --obj, linked into the same
# classify.c), mtlc's JIT (mtlc bench --infer, OpenBLAS GEMMs) and
# onnxruntime (bench/ort_bench.js on the ONNX export of
# bench/torch_bench.py). All four get the same weights
# (mtlc bench --dump's initial parameters). Prints a table of microseconds
# per call, median (min-max) of 5 runs, and the ratios; writes
# bench/out/deploy.json. A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/deploy
rm -rf $out && mkdir -p $out
STEPS=${STEPS:-1000}
PY=/usr/bin/python3
make -s build/mtlc
spec=specs/fashion_hard.mtl
OPENBLAS_NUM_THREADS=1 build/mtlc bench $spec --dump $out --steps 2 --reps 1 >/dev/null
build/mtlc emit-c $spec --infer --weights $out/params.safetensors -o $out/gen
gcc -std=c99 -O3 -march=native -I$out/gen -o $out/classify examples/deploy/classify.c $out/gen/fashion_hard.c -lm
mkdir -p $out/llvm
build/mtlc emit-llvm $spec --infer --weights $out/params.safetensors --obj -o $out/llvm/fashion_hard.o
gcc -std=c99 -O3 -march=native -I$out/llvm -o $out/classify_llvm examples/deploy/classify.c $out/llvm/fashion_hard.o -lm
have_ort=0
if $PY -c 'import torch' 2>/dev/null && [ -d bench/node_modules/onnxruntime-node ]; then
  env OMP_NUM_THREADS=1 $PY bench/torch_bench.py hard --check $out >/dev/null && have_ort=1
fi
: >$out/deploy.json
for rep in 1 2; do # interleaved, twice: the machine is shared
  $out/classify --bench $STEPS >>$out/deploy.json
  $out/classify_llvm --bench $STEPS | sed 's/inference-only C/inference-only LLVM/' >>$out/deploy.json
  OPENBLAS_NUM_THREADS=1 build/mtlc bench $spec --backend jit --threads 1 --infer --batch 1 \
    --steps $STEPS --reps 5 >>$out/deploy.json
  [ $have_ort = 1 ] && NODE_PATH=bench/node_modules node bench/ort_bench.js $out 1 $STEPS 5 >>$out/deploy.json
done
$PY - $out/deploy.json "$(wc -l <$out/gen/fashion_hard.c)" "$(wc -l <$out/gen/fashion_hard.h)" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
best = {}
for r in rows:
    k = r["backend"]
    if k not in best or r["median"] < best[k]["median"]:
        best[k] = r
c = best.get("inference-only C")
print("fashion_hard, batch 1, one thread: microseconds per call, median (min-max) of 5 runs")
names = ["inference-only C", "inference-only LLVM", "jit", "onnxruntime"]
print("| | inference-only C | inference-only LLVM (.o) | mtlc JIT | onnxruntime |")
print("|---|---|---|---|---|")
cells = []
for k in names:
    r = best.get(k)
    cells.append("%.1f (%.1f-%.1f)" % (r["median"], r["min"], r["max"]) if r else "n/a")
print("| latency | " + " | ".join(cells) + " |")
if c:
    print("| C's latency / it | 1.00x | " + " | ".join(
        "%.2fx" % (c["median"] / best[k]["median"]) if k in best else "n/a" for k in names[1:]) + " |")
print("generated C: %s lines of fashion_hard.c (weights embedded), %s of fashion_hard.h" % (sys.argv[2], sys.argv[3]))
PY
