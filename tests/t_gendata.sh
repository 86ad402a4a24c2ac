#!/usr/bin/env bash
# mtlc gen-data scales (seeded, its rows and scales, its spec trains) and
# mtlc gen-data multifashion (tools/gendata.c), on a slice of Debian's
# Fashion-MNIST: a seed gives the same files twice and another seed other
# files; the images are [N, 36, 36] and every sample's two items are of
# different classes; the spec bench/mtl/multifashion.mtl reads the files;
# a missing source is an error naming the file, exit 1, nothing written.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] gendata/$1"; }
fail() { echo "[FAIL] gendata/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 10 | sed 's/^/    /'; }
# mtlc gen-data scales: seeded; 8000 + 2000 rows; every class present; the
# regression's variance (its MSE at a zero prediction) about 1,000 times
# log 4 (the classification's cross-entropy at the start); the spec trains
sc() { "$MTLC" gen-data scales "$@" >/dev/null 2>&1; }
if sc -o "$tmp/sa" && sc -o "$tmp/sb" && sc -o "$tmp/sc" --seed 2; then
  if cmp -s "$tmp/sa/train.csv" "$tmp/sb/train.csv" && ! cmp -s "$tmp/sa/train.csv" "$tmp/sc/train.csv"; then
    pass "scales: a seed gives the same files, another seed others"
  else
    fail "scales: a seed gives the same files, another seed others"
  fi
  st=$(awk -F, 'NR > 1 { n++; c[$17]++; s += $18; q += $18 * $18 }
    END { m = s / n; v = q / n - m * m; r = v / log(4); mc = n
          for (k = 0; k < 4; k++) if (c[k] < mc) mc = c[k]
          printf "%d %d %.0f", n, (mc > n / 10), r }' "$tmp/sa/train.csv")
  read -r n every ratio <<<"$st"
  if [ "$n" = 8000 ] && [ "$(($(wc -l <"$tmp/sa/test.csv") - 1))" = 2000 ] && [ "$every" = 1 ] &&
     [ "$ratio" -ge 500 ] && [ "$ratio" -le 2000 ]; then
    pass "scales: 8000 + 2000 rows, every class, the regression's loss ~1,000x ($ratio)"
  else
    fail "scales: 8000 + 2000 rows, every class, the regression's loss ~1,000x" "$st"
  fi
  if out=$("$MTLC" train bench/mtl/scales.mtl --epochs 1 --limit 500 \
      --data train.x="$tmp/sa/train.csv" --data train.cls="$tmp/sa/train.csv" --data train.reg="$tmp/sa/train.csv" \
      --data test.x="$tmp/sa/test.csv" --data test.cls="$tmp/sa/test.csv" --data test.reg="$tmp/sa/test.csv" 2>&1) &&
     grep -q "^epoch 1/1" <<<"$out"; then
    pass "scales: bench/mtl/scales.mtl trains on them"
  else
    fail "scales: bench/mtl/scales.mtl trains on them" "$out"
  fi
else
  fail "scales: generates the data" "$("$MTLC" gen-data scales -o "$tmp/sa" 2>&1)"
fi

# -o makes the folders that are missing, as mkdir -p; a file in the way is
# an error naming it
if sc -o "$tmp/new/deeper/sd" && cmp -s "$tmp/sa/train.csv" "$tmp/new/deeper/sd/train.csv"; then
  pass "scales: -o makes missing parent folders"
else
  fail "scales: -o makes missing parent folders" "$("$MTLC" gen-data scales -o "$tmp/new/deeper/sd" 2>&1)"
fi
touch "$tmp/afile"
out=$("$MTLC" gen-data scales -o "$tmp/afile/sub" 2>&1)
if [ $? = 1 ] && grep -q "afile/sub" <<<"$out"; then
  pass "scales: -o under a file: exit 1 naming the folder"
else
  fail "scales: -o under a file: exit 1 naming the folder" "$out"
fi

src=/usr/share/datasets/fashion-mnist
if [ ! -f $src/t10k-images-idx3-ubyte.gz ]; then
  echo "SKIP gendata/multifashion: no Fashion-MNIST in $src (apt-get install dataset-fashion-mnist)"
  exit 0
fi

gen() { "$MTLC" gen-data multifashion --limit 300 "$@" >/dev/null 2>&1; }
if gen -o "$tmp/a" && gen -o "$tmp/b" && gen -o "$tmp/c" --seed 2; then
  same=1; other=0
  for f in "$tmp"/a/*.gz; do
    cmp -s <(zcat "$f") <(zcat "$tmp/b/$(basename "$f")") || same=0
    cmp -s <(zcat "$f") <(zcat "$tmp/c/$(basename "$f")") || other=1
  done
  if [ $same = 1 ] && [ $other = 1 ]; then pass "a seed gives the same files, another seed others"
  else fail "a seed gives the same files, another seed others" "same=$same other=$other"; fi
  # header: magic 0x00000803, then N, 36, 36; labels 0x00000801, N
  head=$(zcat "$tmp/a/train-images-idx3-ubyte.gz" | head -c 16 | od -An -tx1 | tr -d ' \n')
  size=$(zcat "$tmp/a/train-images-idx3-ubyte.gz" | wc -c)
  l=$(zcat "$tmp/a/train-left-labels-idx1-ubyte.gz" | tail -c +9 | od -An -v -tu1)
  r=$(zcat "$tmp/a/train-right-labels-idx1-ubyte.gz" | tail -c +9 | od -An -v -tu1)
  clash=$(paste <(tr -s ' ' '\n' <<<"$l" | grep .) <(tr -s ' ' '\n' <<<"$r" | grep .) | awk '$1 == $2' | wc -l)
  n=$(tr -s ' ' '\n' <<<"$l" | grep -c .)
  if [ "$head" = 000008030000012c0000002400000024 ] && [ "$size" = $((16 + 300 * 1296)) ] &&
     [ "$n" = 300 ] && [ "$clash" = 0 ]; then
    pass "300 images of 36x36, the two items of other classes"
  else
    fail "300 images of 36x36, the two items of other classes" "header $head, $size bytes, $n labels, $clash same-class pairs"
  fi
  d=$tmp/a
  if out=$("$MTLC" train bench/mtl/multifashion.mtl --epochs 1 --limit 300 \
      --data train.image=$d/train-images-idx3-ubyte.gz --data train.left=$d/train-left-labels-idx1-ubyte.gz \
      --data train.right=$d/train-right-labels-idx1-ubyte.gz --data test.image=$d/t10k-images-idx3-ubyte.gz \
      --data test.left=$d/t10k-left-labels-idx1-ubyte.gz --data test.right=$d/t10k-right-labels-idx1-ubyte.gz 2>&1) &&
     grep -q "^epoch 1/1" <<<"$out"; then
    pass "bench/mtl/multifashion.mtl trains on them"
  else
    fail "bench/mtl/multifashion.mtl trains on them" "$out"
  fi
else
  fail "generates MultiFashion" "$("$MTLC" gen-data multifashion --limit 300 -o "$tmp/a" 2>&1)"
fi
out=$("$MTLC" gen-data multifashion -o "$tmp/none" --fashion "$tmp/nowhere" 2>&1); rc=$?
if [ $rc = 1 ] && grep -qF "$tmp/nowhere/train-images-idx3-ubyte.gz" <<<"$out" && [ -z "$(ls "$tmp/none")" ]; then
  pass "a missing source is an error naming it"
else
  fail "a missing source is an error naming it" "exit $rc: $out"
fi
