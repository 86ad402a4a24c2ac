#!/usr/bin/env bash
# examples/: each program built on generated code is built and run.
#  - standalone: emit-c --main, a plain cc build, a 500-sample epoch, a
#    checkpoint, and an evaluation of it; no mtlc at run time.
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; make -s -C examples/standalone clean >/dev/null 2>&1' EXIT
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
