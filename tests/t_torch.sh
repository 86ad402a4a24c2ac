#!/usr/bin/env bash
# Layers against PyTorch, where /usr/bin/python3 has torch (.ci/run installs
# Debian's python3-torch; elsewhere a SKIP line says why it did not run):
#  - batchnorm against nn.BatchNorm2d, in training (the step's loss, the
#    scale and shift after an SGD step, the running statistics) and in
#    evaluation (the loss with the running statistics): tests/torch_batchnorm.py
#  - embedding, conv1d (stride, padding, no bias) and the sequence pools
#    against nn.Embedding, nn.Conv1d and max and mean over time: the losses
#    and every parameter after one SGD step from a checkpoint
#    (tests/torch_text.py)
#  - RMSprop and clip_grad_norm_ over three steps from a checkpoint:
#    tests/torch_optim.py
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
  echo "SKIP torch/text_layers: /usr/bin/python3 has no torch (apt-get install python3-torch)"
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

d=$tmp/text
mkdir -p "$d"
data=""
for split in train test; do
  for n in ids a b; do data="$data --data $split.$n=$d/$n.npy"; done
done
# shellcheck disable=SC2086
if out=$($PY tests/torch_text.py --write "$d" 2>&1 &&
         "$MTLC" train tests/torch/text_layers.mtl $data --save "$d/A.safetensors" 2>&1 &&
         "$MTLC" train tests/torch/text_layers.mtl $data --resume "$d/A.safetensors" --epochs 2 \
           --save "$d/B.safetensors" --log "$d/log.json" 2>&1 &&
         $PY tests/torch_text.py "$d" 2>&1); then
  echo "[PASS] torch/text_layers: embedding, conv1d and the sequence pools match PyTorch's"
else
  echo "[FAIL] torch/text_layers: embedding, conv1d and the sequence pools match PyTorch's"
  printf '%s\n' "$out" | tail -n 12 | sed 's/^/    /'
fi
# RMSprop and clip_grad_norm_: one step, a checkpoint, three resumed steps
d=$tmp/optim
mkdir -p "$d"
bind=(--data train.x="$d/x.npy" --data train.a="$d/a.npy" --data train.b="$d/b.npy")
if out=$($PY tests/torch_optim.py --write "$d" 2>&1 &&
         "$MTLC" train tests/torch/optim.mtl "${bind[@]}" --epochs 1 --save "$d/a.st" 2>&1 &&
         "$MTLC" train tests/torch/optim.mtl "${bind[@]}" --resume "$d/a.st" --save "$d/b.st" \
           --log "$d/log.json" 2>&1 &&
         $PY tests/torch_optim.py "$d" 2>&1); then
  echo "[PASS] torch/optim rmsprop and clip_grad_norm_ match PyTorch over three steps"
else
  echo "[FAIL] torch/optim rmsprop and clip_grad_norm_ match PyTorch over three steps"
  printf '%s\n' "$out" | tail -n 14 | sed 's/^/    /'
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
