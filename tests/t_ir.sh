#!/usr/bin/env bash
# Golden graph IR and kernel IR: `mtlc ir` and `mtlc ir --grad` of every
# spec in specs/ against tests/ir/NAME.ir and NAME.grad.ir, and `mtlc kir`
# against tests/kir/NAME.kir (and `mtlc kir --infer`, the inference-only
# program, against NAME.infer.kir). UPDATE=1 rewrites them.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for f in specs/*.mtl; do
  n=$(basename "${f%.mtl}")
  for mode in "" --grad; do
    want=tests/ir/$n${mode:+.grad}.ir
    if ! "$MTLC" ir $mode "$f" >"$tmp" 2>/dev/null; then
      echo "[FAIL] ir/$n$mode: mtlc ir failed"; continue
    fi
    [ "${UPDATE:-}" = 1 ] && cp "$tmp" "$want"
    if d=$(diff -u "$want" "$tmp" 2>&1); then echo "[PASS] ir/$n$mode"
    else echo "[FAIL] ir/$n$mode"; printf '%s\n' "$d" | head -n 20 | sed 's/^/    /'; fi
  done
done
for f in specs/*.mtl; do
  n=$(basename "${f%.mtl}")
  for mode in "" .infer; do
    want=tests/kir/$n$mode.kir
    if ! "$MTLC" kir "$f" ${mode:+--infer} >"$tmp" 2>/dev/null; then
      echo "[FAIL] kir/$n$mode: mtlc kir failed"; continue
    fi
    [ "${UPDATE:-}" = 1 ] && mkdir -p tests/kir && cp "$tmp" "$want"
    if d=$(diff -u "$want" "$tmp" 2>&1); then echo "[PASS] kir/$n$mode"
    else echo "[FAIL] kir/$n$mode"; printf '%s\n' "$d" | head -n 20 | sed 's/^/    /'; fi
  done
done
