#!/bin/sh
# specs/data/tabular.sh: the data of specs/tabular.mtl, made up by
# tabular.c (deterministic: the same bytes on every machine). Writes
# DIR/tabular/{train,test}.csv, DIR the first argument, else $MTLC_DATA,
# else ~/.cache/mtlc (mtlc's data search path looks there after ./data).
# Rows: N_TRAIN and N_TEST, the second and third arguments (20000 and 5000).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-${MTLC_DATA:-$HOME/.cache/mtlc}}
mkdir -p "$dir/tabular"
gen=$(mktemp)
trap 'rm -f "$gen"' EXIT
${CC:-cc} -O2 -o "$gen" "$here/tabular.c" -lm
"$gen" "$dir/tabular" "${2:-20000}" "${3:-5000}"
