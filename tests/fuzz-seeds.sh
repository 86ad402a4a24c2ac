#!/usr/bin/env bash
# tests/fuzz-seeds.sh DIR: the seed corpora of the runtime's fuzz harnesses
# (tests/fuzz_NAME.c), made by the tests themselves: build/test_runtime
# --keep runs the runtime's unit tests in a fresh folder and keeps every
# file they wrote, good and broken (each reproducer of issue 17's findings
# among them: bomb.gz, junk.gz, v2.npy, v3.npy, zero-huge.idx, nan.npy,
# bom.csv, nf.csv, ckpt-*.st, ...). They are sorted into DIR/NAME/ by the
# reader each is for:
#   idx    *.idx, *.gz (but rows.gz, a CSV)      npy    *.npy
#   csv    *.csv and rows.gz, each behind the harness's first byte (columns)
#   ckpt   *.st, *.safetensors                   json   their headers
#   split  the unit test's train and test files, joined at "SPLT"
set -eu
cd "$(dirname "$0")/.."
out=$(realpath -m "$1")
files=$(mktemp -d)
trap 'rm -rf "$files"' EXIT
rm -rf "$out"
mkdir -p "$out"/{idx,npy,csv,ckpt,json,split}
if ! build/test_runtime --keep "$files/t" >/dev/null 2>&1 || [ ! -d "$files/t" ]; then
  echo "fuzz-seeds: build/test_runtime --keep failed (is it built from this tree?)" >&2
  exit 1
fi
cd "$files/t"
for f in *; do
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  [ "$(stat -c %s "$f")" -le 1048576 ] || continue # larger seeds only slow the fuzzer
  case $f in
    rows.gz | *.csv)
      printf '\003' | cat - "$f" >"$out/csv/$f.inputs" # columns 0-3, f32
      printf '\200' | cat - "$f" >"$out/csv/$f.label" ;; # column 0, i32
    *.idx | *.gz) cp "$f" "$out/idx/" ;;
    *.npy) cp "$f" "$out/npy/" ;;
    *.st | *.safetensors)
      cp "$f" "$out/ckpt/"
      n=$(od -An -t u8 -N 8 "$f" | tr -d ' ')
      [ -n "$n" ] && [ "$n" -le 1048576 ] && tail -c +9 "$f" | head -c "$n" >"$out/json/$f.json" ;;
  esac
done
join() { # OUT FILE... : a first byte (no --limit), then the files split at SPLT
  local o=$1 first=1
  shift
  printf '\000' >"$o"
  for f in "$@"; do
    [ $first = 1 ] || printf 'SPLT' >>"$o"
    cat "$f" >>"$o"
    first=0
  done
}
join "$out/split/train" train_x.gz train_cls.idx train_pos.npy train_reg.npy
join "$out/split/test" test_x.csv test_cls.npy test_pos.csv test_reg.npy
join "$out/split/counts" train_x.gz cls49.idx train_pos.npy train_reg.npy
join "$out/split/range" train_x.gz cls3.idx pos2.npy train_reg.npy
