#!/usr/bin/env bash
# bench/run.sh (make bench): mtlc against PyTorch and onnxruntime, side by
# side, in one run on this machine; writes bench/RESULTS.md (its last
# section, data parallel over MPI, by bench/mpi.sh). A benchmark, not a
# test: it exits non-zero only when a peer's outputs differ from mtlc's on
# the same weights and input (beyond 1e-4 relative) or a measurement could
# not be taken.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p $out
rm -f $out/*.json
PY=/usr/bin/python3
STEPS=${STEPS:-20}
REPS=${REPS:-5}

# peers: Debian's python3-torch; onnxruntime-node from npm, without its
# install scripts (its native library ships in the package)
missing=""
$PY -c 'import torch' 2>/dev/null || missing="python3-torch"
command -v node >/dev/null || missing="$missing nodejs"
command -v npm >/dev/null || missing="$missing npm"
command -v mpirun >/dev/null || missing="$missing openmpi-bin libopenmpi-dev" # bench/mpi.sh
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "bench: installing$missing"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
if [ ! -d bench/node_modules/onnxruntime-node ]; then
  (cd bench && npm install --ignore-scripts --no-audit --no-fund --no-save onnxruntime-node >/dev/null)
fi
make -s build/mtlc
cc -O2 -march=native -mprefer-vector-width=512 -o $out/peak bench/peak.c

torch_env() { # threads
  env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$1 MALLOC_MMAP_THRESHOLD_=33554432 "${@:2}"
}

echo "bench: peak FP32 of one core"
echo "{\"peak_gflops_per_core\": $($out/peak)}" >$out/peak.json

# each row under the environment's OPENBLAS_CORETYPE (Haswell on the machines
# whose newer OpenBLAS kernels are unsafe) and without it; tag: what it was
core=${OPENBLAS_CORETYPE:-}
tag() { sed "s/^{/{\"coretype\": \"$1\", /"; }
cores() { # cores CMD...: CMD under $core (where set) and without it, its JSON lines tagged
  if [ -n "$core" ]; then (export OPENBLAS_CORETYPE="$core"; "$@") | tag "$core"; fi
  (unset OPENBLAS_CORETYPE; "$@") | tag unset
}
for net in hard soft; do
  spec=specs/fashion_$net.mtl
  for t in 1 2; do
    echo "bench: training $net on $t thread(s)"
    for be in jit c; do
      cores env OPENBLAS_NUM_THREADS=$t build/mtlc bench $spec --backend $be --threads $t \
        --steps $STEPS --reps $REPS >>$out/train.json
    done
    # the JIT with OpenBLAS's GEMMs instead of mtl_gemm.c's
    cores env MTL_GEMM=blas OPENBLAS_NUM_THREADS=$t build/mtlc bench $spec --threads $t \
      --steps $STEPS --reps $REPS >>$out/train.json
    cores torch_env $t $PY bench/torch_bench.py $net --threads $t --steps $STEPS --reps $REPS >>$out/train.json
  done
done

echo "bench: inference, one thread"
ok=0
rm -rf $out/check && mkdir -p $out/check
OPENBLAS_NUM_THREADS=1 build/mtlc bench specs/fashion_hard.mtl --dump $out/check --steps 2 --reps 1 >/dev/null
torch_env 1 $PY bench/torch_bench.py hard --check $out/check >$out/check.json || ok=1
for b in 1 16 64; do
  steps=$((b == 1 ? 500 : b == 16 ? 100 : 20))
  for be in jit c; do
    cores env OPENBLAS_NUM_THREADS=1 build/mtlc bench specs/fashion_hard.mtl --backend $be --threads 1 \
      --infer --batch $b --steps $steps --reps $REPS >>$out/infer.json
  done
  # the inference-only C (no BLAS, no runtime), built for this batch, on the same weights
  g=$out/check/infer_$b
  build/mtlc emit-c specs/fashion_hard.mtl --infer --weights $out/check/params.safetensors \
    --batch $b -o $g >/dev/null
  gcc -std=c99 -O3 -march=native -I$g -o $g/classify examples/deploy/classify.c $g/fashion_hard.c -lm
  $g/classify --bench $steps >>$out/infer.json
  cores torch_env 1 $PY bench/torch_bench.py hard --infer --batch $b --steps $steps --reps $REPS >>$out/infer.json
  NODE_PATH=bench/node_modules node bench/ort_bench.js $out/check $b $steps $REPS >>$out/infer.json || ok=1
done

$PY bench/report.py $out >bench/RESULTS.md || ok=1
# data parallel over MPI against PyTorch DDP: its section of bench/RESULTS.md
bench/mpi.sh || ok=1
cat bench/RESULTS.md
exit $ok
