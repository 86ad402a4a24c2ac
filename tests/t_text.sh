#!/usr/bin/env bash
# Text and tabular inputs end to end, on data made here:
#  - tests/text/words.mtl (a words binding: vocabulary, lower-casing,
#    unknown words) and tests/text/chars.mtl (a chars binding, two tasks on
#    one trunk) learn, through the JIT and the C back end;
#  - specs/tabular.mtl learns on a small slice of the data its generator
#    (specs/data/tabular.sh) makes, found through $MTLC_DATA;
#  - load errors name the file and the row: an id outside the embedding's
#    vocabulary in a CSV column and in an int64 .npy, a non-integer id, a
#    vocabulary bigger than the embedding (the check finds it), a missing
#    vocabulary file;
#    .npy int32 and int64 ids load.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] text/$1"; }
fail() { echo "[FAIL] text/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }
# the last epoch's JSON line: a task's test metric
metric() { sed -n '$p' "$1" | sed -n "s/.*\"$2\": {[^}]*\"$3\": \([-0-9.e+]*\).*/\1/p"; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

# ---- data: reviews of words, and words of letters --------------------------------
mkdir -p "$tmp/w" "$tmp/c"
printf 'good\nbad\nfilm\nplot\nnot\nthe\nwas\n' >"$tmp/w/vocab.txt"   # ids 2..8
awk 'BEGIN {
  split("the film was good|the plot was bad|not good|Good FILM|the film was not good|" \
        "bad plot|GOOD plot meh|meh|the film|was good the plot|not bad|good good", r, "|");
  for (i = 0; i < 240; i++) {
    s = r[i % 12 + 1]; printf "%s%s\r\n", s, (i % 5 == 0 ? " indeed" : "") > "'"$tmp/w/reviews.txt"'";
    l = tolower(s); print ((l ~ /good/ && l !~ /not/) ? 1 : 0) > "'"$tmp/w/labels.csv"'";
  } }'
awk 'BEGIN {
  split("a e i o u b c d f g k l m n p r s t", ch, " ");
  for (i = 0; i < 400; i++) {
    n = 1 + (i * 7) % 10; w = "";
    for (j = 0; j < n; j++) w = w ch[(i * 13 + j * 5 + j * j) % 18 + 1];
    print w > "'"$tmp/c/words.txt"'";
    print (w ~ /^[aeiou]/ ? 1 : 0) "," (n > 8 ? 7 : n - 1) > "'"$tmp/c/labels.csv"'";
  } }'
cp tests/text/words.mtl "$tmp/w/" && cp tests/text/chars.mtl "$tmp/c/"

# ---- learning -------------------------------------------------------------------------
learns() { # name spec-dir spec backend task:metric:min...
  local name=$1 d=$2 spec=$3 backend=$4 ok=1 why=""; shift 4
  if ! out=$("$MTLC" train "$d/$spec" --backend "$backend" --log "$d/$backend.log" 2>&1); then
    fail "$name" "$out"; return
  fi
  for want in "$@"; do
    IFS=: read -r task m min <<<"$want"
    local v; v=$(metric "$d/$backend.log" "$task" "$m")
    if [ "$m" = mse ]; then lt "$v" "$min" || { ok=0; why="$why $task $m $v >= $min;"; }
    else lt "$min" "$v" || { ok=0; why="$why $task $m $v <= $min;"; }; fi
  done
  if [ $ok = 1 ]; then pass "$name"; else fail "$name" "$why"; fi
}
for be in jit c; do
  learns "words binding learns ($be)" "$tmp/w" words.mtl $be pos:accuracy:0.95
  learns "chars binding learns two tasks ($be)" "$tmp/c" chars.mtl $be vowel:accuracy:0.9 \
    length:accuracy:0.6
done

# tabular: 2,000 train and 500 test rows; churn is about balanced, spend's
# variance about 2.2 (its noise 0.09)
if out=$(sh specs/data/tabular.sh "$tmp/data" 2000 500 2>&1) &&
   out=$(MTLC_DATA="$tmp/data" "$MTLC" train specs/tabular.mtl --log "$tmp/tab.log" 2>&1); then
  churn=$(metric "$tmp/tab.log" churn accuracy); spend=$(metric "$tmp/tab.log" spend mse)
  if lt 0.68 "$churn" && lt "$spend" 0.5; then pass "tabular learns on a small slice (churn $churn, spend mse $spend)"
  else fail "tabular learns on a small slice" "churn accuracy $churn (want > 0.68), spend mse $spend (want < 0.5)"; fi
else
  fail "tabular learns on a small slice" "$out"
fi
if a=$(sh specs/data/tabular.sh "$tmp/again" 2000 500 2>&1) && cmp -s "$tmp/data/tabular/train.csv" "$tmp/again/tabular/train.csv"; then
  pass "the tabular generator is deterministic"
else
  fail "the tabular generator is deterministic" "$a"
fi

# ---- load errors ------------------------------------------------------------------------
# npy FILE DESCR(<i4|<i8) ROWS COLS VALUES...: small non-negative integers
npy() {
  local f=$1 descr=$2 rows=$3 cols=$4 size=${2#<i}; shift 4
  local h="{'descr': '$descr', 'fortran_order': False, 'shape': ($rows, $cols), }"
  local len=$(( (10 + ${#h} + 1 + 63) / 64 * 64 - 10 ))
  { printf '\223NUMPY\001\000'; printf "\\$(printf %03o $((len % 256)))\\$(printf %03o $((len / 256)))"
    printf '%s%*s\n' "$h" $((len - ${#h} - 1)) ""
    for v in "$@"; do printf "\\$(printf %03o "$v")"; head -c $((size - 1)) /dev/zero; done; } >"$f"
}
printf '1\n0\n' >"$tmp/t.csv"
npy "$tmp/t.npy" '<i4' 2 1 1 0
printf '0,1,2\n3,5,4\n' >"$tmp/ids_big.csv"
printf '0,1,2\n3,1.5,4\n' >"$tmp/ids_frac.csv"
npy "$tmp/ids32.npy" '<i4' 2 3 0 1 2 3 4 4
npy "$tmp/ids64.npy" '<i8' 2 3 0 1 2 3 4 4
npy "$tmp/ids64_big.npy" '<i8' 2 3 0 1 2 3 7 4
ids() { # file [csv-columns]
  local f=$1
  "$MTLC" train tests/text/ids.mtl --epochs 1 --data train.cat="$f" --data train.t="$tmp/t.npy" \
    --data test.cat="$f" --data test.t="$tmp/t.npy" 2>&1
}
bad() { # name expected-substring command...
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out"; then pass "$name"
  else fail "$name" "exit $rc, want 1 and '$want' in: $out"; fi
}
for f in ids32 ids64; do
  if out=$(ids "$tmp/$f.npy"); then pass ".npy ${f#ids}-bit ids load"; else fail ".npy ${f#ids}-bit ids load" "$out"; fi
done
bad "an id outside the vocabulary in an int64 .npy names the file and row" \
  "ids64_big.npy: row 2: id 7 is outside [0, 5)" ids "$tmp/ids64_big.npy"
cp tests/text/ids.mtl "$tmp/ids_csv.mtl"
sed -i 's|^task|data train { cat: "ids_big.csv", csv(columns=[0, 1, 2])  t: "t.csv", csv(column=0) }\ntask|' "$tmp/ids_csv.mtl"
bad "an id outside the vocabulary in a CSV column names the file and row" \
  "ids_big.csv: row 2: id 5 is outside [0, 5), the vocabulary of the embedding that input cat feeds" \
  "$MTLC" train "$tmp/ids_csv.mtl" --epochs 1
sed -i 's|ids_big.csv|ids_frac.csv|' "$tmp/ids_csv.mtl"
bad "a non-integer id in a CSV column is an error" "ids_frac.csv: sample 1: id 1.5 is not an integer" \
  "$MTLC" train "$tmp/ids_csv.mtl" --epochs 1
printf 'good\nbad\nfilm\nplot\nnot\nthe\nwas\nmeh\n' >"$tmp/w/vocab8.txt"
sed 's|vocab="vocab.txt"|vocab="vocab8.txt"|' tests/text/words.mtl >"$tmp/w/words8.mtl"
bad "a vocabulary bigger than the embedding is an error" \
  "vocab8.txt: 8 words give ids up to 9, but input 'review' feeds an embedding of 9 ids" \
  "$MTLC" train "$tmp/w/words8.mtl" --epochs 1
sed 's|vocab="vocab.txt"|vocab="none.txt"|' tests/text/words.mtl >"$tmp/w/words0.mtl"
bad "a missing vocabulary file is an error naming it" "none.txt: cannot open" \
  "$MTLC" train "$tmp/w/words0.mtl" --epochs 1
