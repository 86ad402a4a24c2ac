#!/usr/bin/env bash
# examples/: each program built on generated code is built and run.
#  - standalone: emit-c --main, a plain cc build, a 500-sample epoch, a
#    checkpoint, and an evaluation of it; no mtlc at run time.
#  - deploy: a short-trained checkpoint, emit-c --infer --weights, a plain
#    cc build of the classifier, and its make test (100 test images, the
#    classes mtlc predict gives).
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; make -s -C examples/standalone clean >/dev/null 2>&1; make -s -C examples/deploy clean >/dev/null 2>&1' EXIT
ex=examples/standalone
MTLC=$(cd "$(dirname "${MTLC:-build/mtlc}")" && pwd)/$(basename "${MTLC:-build/mtlc}")
if ! out=$(make -s -C $ex MTLC="$MTLC" 2>&1); then
  echo "[FAIL] examples/standalone builds"; printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
  exit 0
fi
echo "[PASS] examples/standalone builds"
if out=$(cd $ex && ./train --epochs 1 --limit 500 --save "$tmp/m.safetensors" 2>&1) &&
   grep -q "^epoch 1/1 .*test item acc" <<<"$out" &&
   out2=$(cd $ex && ./train --eval "$tmp/m.safetensors" --limit 500 2>&1) &&
   grep -q "item" <<<"$out2"; then
  echo "[PASS] examples/standalone trains, saves and evaluates"
else
  echo "[FAIL] examples/standalone trains, saves and evaluates"
  printf '%s\n%s\n' "$out" "${out2:-}" | head -n 20 | sed 's/^/    /'
fi

dep=examples/deploy
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  echo "SKIP examples/deploy: Fashion-MNIST is not installed"
elif out=$(make -s -C $dep MTLC="$MTLC" CKPT="$tmp/deploy.safetensors" 2>&1) &&
     out=$(make -s -C $dep test MTLC="$MTLC" CKPT="$tmp/deploy.safetensors" 2>&1) &&
     grep -q "classify agrees with mtlc predict on 100 images" <<<"$out"; then
  echo "[PASS] examples/deploy builds with cc and classifies as mtlc predict does"
else
  echo "[FAIL] examples/deploy builds with cc and classifies as mtlc predict does"
  printf '%s\n' "$out" | tail -n 20 | sed 's/^/    /'
fi
