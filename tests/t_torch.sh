#!/usr/bin/env bash
# Layers against PyTorch, where /usr/bin/python3 has torch (.ci/run installs
# Debian's python3-torch; elsewhere a SKIP line says why it did not run):
#  - batchnorm against nn.BatchNorm2d, in training (the step's loss, the
#    scale and shift after an SGD step, the running statistics) and in
#    evaluation (the loss with the running statistics): tests/torch_batchnorm.py
#  - the sharing architectures (MMoE, CGC, stacked experts blocks,
#    cross-stitch: tests/torch/*.mtl) against PyTorch modules written from
#    their papers (tests/torch_sharing.py), loaded by name from mtlc's
#    checkpoint after one full-batch step: the same evaluation losses, and
#    after 3 more steps the same training losses and parameters
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
PY=/usr/bin/python3
if ! $PY -c 'import torch' 2>/dev/null; then
  echo "SKIP torch/batchnorm: /usr/bin/python3 has no torch (apt-get install python3-torch)"
  echo "SKIP torch/sharing: /usr/bin/python3 has no torch (apt-get install python3-torch)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d=$tmp/bn
mkdir -p "$d"
if out=$($PY tests/torch_batchnorm.py --write "$d" 2>&1 &&
         "$MTLC" train tests/torch/batchnorm.mtl --data train.x="$d/x.npy" --data train.t="$d/y.npy" \
           --data test.x="$d/x.npy" --data test.t="$d/y.npy" --save "$d/ckpt.safetensors" \
           --log "$d/log.json" 2>&1 &&
         $PY tests/torch_batchnorm.py "$d" 2>&1); then
  echo "[PASS] torch/batchnorm matches BatchNorm2d in training and evaluation"
else
  echo "[FAIL] torch/batchnorm matches BatchNorm2d in training and evaluation"
  printf '%s\n' "$out" | tail -n 12 | sed 's/^/    /'
fi

for n in mmoe cgc stacked stitch; do
  d=$tmp/$n
  mkdir -p "$d"
  spec=tests/torch/$n.mtl
  data=(--data train.x="$d/x.npy" --data test.x="$d/x.npy")
  for t in a b c; do
    if grep -q "^task $t " $spec; then
      data+=(--data train.$t="$d/$t.npy" --data test.$t="$d/$t.npy")
    fi
  done
  if out=$($PY tests/torch_sharing.py --write "$d" $n 2>&1 &&
           "$MTLC" train $spec "${data[@]}" --save "$d/ck1.safetensors" --log "$d/log1.json" 2>&1 &&
           "$MTLC" train $spec "${data[@]}" --epochs 4 --resume "$d/ck1.safetensors" \
             --save "$d/ck4.safetensors" --log "$d/log4.json" 2>&1 &&
           $PY tests/torch_sharing.py "$d" $n 2>&1); then
    echo "[PASS] torch/$n matches PyTorch: outputs, and parameters after 3 steps"
  else
    echo "[FAIL] torch/$n matches PyTorch: outputs, and parameters after 3 steps"
    printf '%s\n' "$out" | tail -n 14 | sed 's/^/    /'
  fi
done
