#!/usr/bin/env bash
# bench/arch.sh (make bench-arch): the sharing architectures side by side
# with PyTorch, in one run on this machine; writes the "Architectures"
# section of bench/MTL.md and leaves the rest of the file (the balancing
# table of bench/mtl.sh) as it is.
#   data:  MultiFashion in data/multifashion and the unbalanced-scales CSVs
#          in data/scales, both made by the balancing benchmark's generator
#          (mtlc gen-data multifashion|scales) when absent
#   archs: single-task, hard, soft, MMoE, CGC, cross-stitch (bench/arch/),
#          at about equal parameter counts; the same nets in PyTorch
#          (bench/arch_torch.py, from tests/torch_sharing.py's modules)
#   each:  3 seeds of the spec's recipe (test accuracy or MSE at the end),
#          and training throughput on one thread (mtlc bench, and the
#          PyTorch step on the same batch size)
# A benchmark, not a test. SEEDS="1 2 3", EPOCHS (default: the specs'),
# LIMIT (the first N samples of each split, both frameworks; default all),
# ARCHS and DATASETS narrow it (SEEDS=" ": throughput only); KEEP=1 adds
# to the results of an earlier run (one data set at a time with its own
# EPOCHS and LIMIT).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
out=bench/out/arch
mkdir -p $out
SEEDS=${SEEDS:-1 2 3}
ARCHS=${ARCHS:-single hard soft mmoe cgc stitch}
DATASETS=${DATASETS:-multifashion scales}
results=$out/results.jsonl
[ "${KEEP:-}" = 1 ] || : >$results
$PY -c 'import torch' 2>/dev/null || { echo "bench/arch.sh: /usr/bin/python3 has no torch (apt-get install python3-torch)"; exit 1; }
make -s build/mtlc
one() { env OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$@"; }

# the data: the balancing benchmark's, seeded, made once
gen() { # DATASET FILE
  [ -f data/$1/$2 ] && return
  build/mtlc gen-data $1 -o data/$1 || {
    echo "bench/arch.sh: no data/$1/$2, and 'mtlc gen-data $1' (the balancing benchmark's generator) failed"
    exit 1
  }
}
gen multifashion t10k-right-labels-idx1-ubyte.gz
gen scales test.csv

for ds in $DATASETS; do
  short=$([ $ds = multifashion ] && echo multifashion || echo scales)
  for arch in $ARCHS; do
    spec=bench/arch/${short}_$arch.mtl
    params=$(build/mtlc summary $spec 2>/dev/null | awk '/^  whole model/ { gsub(",", "", $3); print $3 }')
    for s in $SEEDS; do
      echo "bench/arch.sh: $ds $arch seed $s"
      sed "s/seed: 1 }/seed: $s }/" $spec >$out/${short}_${arch}_$s.mtl
      one build/mtlc train $out/${short}_${arch}_$s.mtl --threads 1 ${EPOCHS:+--epochs $EPOCHS} \
        ${LIMIT:+--limit $LIMIT} --log $out/${short}_${arch}_$s.log >/dev/null
      echo "{\"dataset\": \"$ds\", \"arch\": \"$arch\", \"seed\": $s, \"framework\": \"mtlc\", \"params\": $params, \"epochs\": ${EPOCHS:-0}, \"limit\": ${LIMIT:-0}, \"log\": \"$out/${short}_${arch}_$s.log\"}" >>$results
      one $PY bench/arch_torch.py train $ds $arch --seed $s --data data/$ds ${EPOCHS:+--epochs $EPOCHS} \
      ${LIMIT:+--limit $LIMIT} >>$results
    done
    echo "bench/arch.sh: $ds $arch throughput"
    one build/mtlc bench $spec --threads 1 --steps 20 --reps 5 |
      sed "s/^{/{\"dataset\": \"$ds\", \"arch\": \"$arch\", \"framework\": \"mtlc\", /" >>$results
    one $PY bench/arch_torch.py speed $ds $arch --steps 20 --reps 5 >>$results
  done
done
$PY bench/arch_torch.py report $results bench/MTL.md
echo "bench/arch.sh: wrote the architecture section of bench/MTL.md"
