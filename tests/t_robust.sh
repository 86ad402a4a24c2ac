#!/usr/bin/env bash
# tests/t_robust.sh: the robustness test (tests/robust.c). Prefixes of every
# spec in specs/, and seeded mutations of each, through `mtlc check`: each
# run must exit 0 or 1, with no signal, within a second. Then every input in
# tests/robust-regress/ (inputs that once crashed mtlc or tripped a
# sanitizer), whole and with 50 mutations each. One [PASS]/[FAIL] line per
# file; failing inputs are saved as build/robust-fail-*.mtl.
#   ROBUST_STRIDE=K  prefixes every K bytes (default 1: every prefix)
#   ROBUST_N=N       mutations per spec (default 1000)
#   ROBUST_SEED=S    the seed (default 1)
# The defaults are the issue's full run, about 9,000 runs of mtlc check at
# 2-3 ms each (mtlc loads libLLVM only for the commands that use it).
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
mkdir -p build
if [ ! -x build/robust ] || [ tests/robust.c -nt build/robust ]; then
  if ! out=$(cc -std=c11 -O2 -o build/robust tests/robust.c 2>&1); then
    echo "[FAIL] robust/build"
    printf '%s\n' "$out" | head -n 20 | sed 's/^/    /'
    exit 0
  fi
fi
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
[ "$jobs" -gt 8 ] && jobs=8
seed=${ROBUST_SEED:-1}
build/robust -j "$jobs" -s "$seed" -n "${ROBUST_N:-1000}" -P "${ROBUST_STRIDE:-1}" \
  "$MTLC" specs/*.mtl
regress=(tests/robust-regress/*.mtl)
if [ -e "${regress[0]}" ]; then
  build/robust -j "$jobs" -s "$seed" -n 50 -P 0 -p robust/regress/ \
    "$MTLC" "${regress[@]}"
fi
exit 0
