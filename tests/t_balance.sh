#!/usr/bin/env bash
# tests/t_balance.sh: every balancing method (runtime/mtl_balance.def) on
# the hard-sharing specs of tests/balance/ (two tasks; three tasks, one
# head with a layer of its own), the balance line set to each in turn:
#  - check-grad: the combined gradients and each task's own (per-task
#    gradients of the shared parameters; with mgda(on=) of the block's
#    output) against central differences;
#  - check-codegen, both back ends, against the interpreter (the Gramian
#    the first phase leaves, the gradients, one update);
#  - resume is bit for bit (checkpoint bytes and the log's last epoch);
#  - the PyTorch reference written from LibMTL's definitions
#    (tests/balance_ref.py) loads mtlc's checkpoint after one full-batch
#    step, takes 4 more and ends with mtlc's parameters within 1e-5
#    relative, where /usr/bin/python3 has torch and scipy (else SKIP);
#  - the log holds every step's weights and the epoch's means; a loss that
#    is not finite stops training with an error naming the task and step;
#  - golden summaries and graph IR of balanced specs (tests/balance/*.out).
# UPDATE=1 rewrites the golden files.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] balance/$1"; }
fail() { echo "[FAIL] balance/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 12 | sed 's/^/    /'; }
methods=(static uncertainty dwa rlw gls famo gradnorm mgda "mgda(on=trunk)" pcgrad cagrad imtl
         aligned_mtl nash_mtl upgrad)
key() { case $1 in mgda\(*) echo mgda_ub ;; *) echo "$1" ;; esac; }
# with METHOD SPEC: the spec with its balance line set
with() { sed "s/^balance: static/balance: $1/" "tests/balance/$2.mtl" >"$tmp/$2.$(key "$1").mtl"
         echo "$tmp/$2.$(key "$1").mtl"; }

# 1. gradients and both back ends
for spec in hard2 hard3; do
  for m in "${methods[@]}"; do
    f=$(with "$m" $spec)
    if out=$("$MTLC" check-grad "$f" --samples 0 --batch 3 2>&1); then
      pass "$spec $m: per-task and combined gradients against central differences"
    else
      fail "$spec $m: per-task and combined gradients against central differences" \
        "$(grep -E 'FAIL|error' <<<"$out")"
    fi
    [ $spec = hard3 ] || continue
    for be in c jit; do
      if out=$("$MTLC" check-codegen "$f" --backend $be --batch 5 --seed 2 2>&1); then
        pass "$spec $m: the $be back end agrees with the interpreter"
      else
        fail "$spec $m: the $be back end agrees with the interpreter" "$(grep -E 'FAIL|error' <<<"$out")"
      fi
    done
  done
done

# 2. data for the training checks, 32 samples (tests/balance_ref.py writes them)
if ! $PY -c 'import numpy' 2>/dev/null; then
  echo "SKIP balance/training: /usr/bin/python3 has no numpy to write the data (apt-get install python3-numpy)"
  exit 0
fi
binds() { # DIR: --data options for the train split
  local t
  echo "--data train.x=$1/x.npy"
  for t in a b c; do [ -f "$1/$t.npy" ] && echo "--data train.$t=$1/$t.npy"; done
}
for spec in hard2 hard3; do $PY tests/balance_ref.py --write "$tmp/data-$spec" $spec; done

# 3. resume, bit for bit
for m in "${methods[@]}"; do
  f=$(with "$m" hard3)
  D=$(binds "$tmp/data-hard3")
  a=$tmp/r-$(key "$m")
  # shellcheck disable=SC2086
  if "$MTLC" train "$f" $D --batch 8 --epochs 3 --save $a.full --log $a.full.log >/dev/null 2>&1 &&
     "$MTLC" train "$f" $D --batch 8 --epochs 2 --save $a.half >/dev/null 2>&1 &&
     "$MTLC" train "$f" $D --batch 8 --epochs 3 --resume $a.half --save $a.half --log $a.half.log >/dev/null 2>&1; then
    x=$(tail -n 1 $a.full.log | sed 's/, "seconds": .*//'); y=$(tail -n 1 $a.half.log | sed 's/, "seconds": .*//')
    if [ -n "$x" ] && [ "$x" = "$y" ] && cmp -s $a.full $a.half; then
      pass "hard3 $m: resume is bit for bit"
    else
      fail "hard3 $m: resume is bit for bit" "3 epochs:    $x
2+1 epochs:  $y
$(cmp $a.full $a.half 2>&1)"
    fi
  else
    fail "hard3 $m: resume is bit for bit" "a training run failed"
  fi
done

# 4. the log: each step's weights, the epoch's means; the epoch line too
f=$(with pcgrad hard3)
D=$(binds "$tmp/data-hard3")
# shellcheck disable=SC2086
out=$("$MTLC" train "$f" $D --batch 8 --epochs 2 --log "$tmp/w.log" 2>&1)
steps=$(grep -c '^{"step": [0-9]*, "epoch": [12], "weights": {"a": [-0-9.e]*, "b": [-0-9.e]*, "c": [-0-9.e]*}}$' "$tmp/w.log")
epochs=$(grep -c '"weights": {"a": .*"train_loss"\|"train_loss": .*"weights": {"a"' "$tmp/w.log")
if [ "$steps" = 8 ] && [ "$epochs" = 2 ] && [ "$(grep -c '  weights a [0-9.]* b [0-9.]* c [0-9.]*' <<<"$out")" = 2 ]; then
  pass "the log holds every step's weights and each epoch's means; so does the epoch line"
else
  fail "the log holds every step's weights and each epoch's means; so does the epoch line" \
    "$steps step lines, $epochs epoch lines with weights; output: $out"
fi
# a loss that is not finite: an error naming the task and the step
if $PY -c 'import numpy as np; y = np.load("'"$tmp"'/data-hard3/c.npy"); y[5] = 1e38; np.save("'"$tmp"'/inf.npy", y)' 2>/dev/null; then
  for m in dwa mgda; do
    f=$(with $m hard3)
    # shellcheck disable=SC2086
    out=$("$MTLC" train "$f" $D --data train.c="$tmp/inf.npy" --batch 8 --epochs 1 --save "$tmp/nan.ckpt" 2>&1); rc=$?
    if [ $rc = 1 ] && grep -q "task c: the training loss is +inf at step [0-9]* (epoch 1" <<<"$out" && [ ! -e "$tmp/nan.ckpt" ]; then
      pass "$m: an infinite loss stops training, naming the task and the step"
    else
      fail "$m: an infinite loss stops training, naming the task and the step" "exit $rc: $out"
    fi
  done
fi

# 5. against the PyTorch reference
if ! $PY -c 'import torch, scipy' 2>/dev/null; then
  echo "SKIP balance/torch: /usr/bin/python3 lacks torch or scipy (apt-get install python3-torch python3-scipy)"
else
  for spec in hard2 hard3; do
    d=$tmp/data-$spec
    D=$(binds "$d")
    for m in "${methods[@]}"; do
      [ "$m" = static ] && continue
      k=$(key "$m"); mkdir -p "$d/$k"
      f=$(with "$m" $spec)
      # shellcheck disable=SC2086
      "$MTLC" train "$f" $D --batch 32 --epochs 1 --save "$d/$k/ck1" --log "$d/$k/log.json" >/dev/null 2>&1
      # shellcheck disable=SC2086
      "$MTLC" train "$f" $D --batch 32 --epochs 5 --resume "$d/$k/ck1" --save "$d/$k/ck5" \
        --log "$d/$k/log.json" >/dev/null 2>&1
    done
    ms=(); for m in "${methods[@]}"; do [ "$m" = static ] || ms+=("$m"); done
    $PY tests/balance_ref.py --check "$d" $spec ck1 ck5 4 "${ms[@]}" >"$tmp/ref.out" 2>&1
    while IFS= read -r line; do
      case $line in
        *" ok") pass "torch: $line" ;;
        *FAIL) fail "torch: $line" ;;
      esac
    done <"$tmp/ref.out"
    n=$(grep -c ' ok$\| FAIL$' "$tmp/ref.out")
    [ "$n" = ${#ms[@]} ] || fail "torch: $spec: the reference checked $n of ${#ms[@]} methods" "$(tail -n 12 "$tmp/ref.out")"
  done
fi

# 6. golden summaries and graph IR of balanced specs
golden() { # NAME WANT GOT
  if [ "${UPDATE:-}" = 1 ]; then cp "$3" "$2"; fi
  if d=$(diff -u "$2" "$3" 2>&1); then pass "$1"; else fail "$1" "$d"; fi
}
for m in uncertainty pcgrad "mgda(on=trunk)"; do
  f=$(with "$m" hard2); k=$(key "$m")
  sed "s|$tmp/||" <("$MTLC" summary "$f" 2>&1) >"$tmp/s.out"
  golden "hard2 $m: summary" "tests/balance/hard2.$k.summary" "$tmp/s.out"
  sed "s|$tmp/||" <("$MTLC" ir "$f" --grad 2>&1) >"$tmp/i.out"
  golden "hard2 $m: ir --grad" "tests/balance/hard2.$k.grad.ir" "$tmp/i.out"
done
# static written out is the default: one task, and weights, check clean
sed 's/^balance: mgda/balance: static/' tests/diag/balance_one_task.mtl >"$tmp/one.mtl"
sed 's/^balance: [a-z_]*/balance: static/' tests/diag/balance_weight.mtl >"$tmp/weight.mtl"
for f in one weight; do
  what=$([ $f = one ] && echo "one task" || echo "a task's weight")
  out=$("$MTLC" check "$tmp/$f.mtl" 2>&1); rc=$?
  if [ $rc = 0 ] && [ -z "$out" ] && grep -q '^balance: static' "$tmp/$f.mtl"; then
    pass "balance: static written out, with $what, checks clean"
  else
    fail "balance: static written out, with $what, checks clean" "exit $rc: $out"
  fi
done
# the spec of the benchmark checks clean
for f in bench/mtl/*.mtl; do
  out=$("$MTLC" check "$f" 2>&1); rc=$?
  out=$(grep -v "warning: data file\|^ \+[0-9]* |\|^ \+|" <<<"$out")
  if [ $rc = 0 ] && [ -z "$out" ]; then
    pass "$(basename "$f") checks clean"
  else
    fail "$(basename "$f") checks clean" "$out"
  fi
done
