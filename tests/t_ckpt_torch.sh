#!/usr/bin/env bash
# A checkpoint written by the runtime reads in PyTorch (header by json, data
# by torch.frombuffer): tests/ckpt_torch_check.py. Where /usr/bin/python3
# has no torch it prints a SKIP line saying so; .ci/run installs Debian's
# python3-torch, so CI runs it.
set -u
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "SKIP ckpt/torch-reads-checkpoint: /usr/bin/python3 has no torch (apt-get install python3-torch)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if out=$(build/test_runtime --write-ckpt "$tmp/model.safetensors" 2>&1 &&
         /usr/bin/python3 tests/ckpt_torch_check.py "$tmp/model.safetensors" 2>&1); then
  echo "[PASS] ckpt/torch-reads-checkpoint"
else
  echo "[FAIL] ckpt/torch-reads-checkpoint"
  printf '%s\n' "$out" | tail -n 10 | sed 's/^/    /'
fi
