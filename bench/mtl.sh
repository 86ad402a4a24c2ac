#!/usr/bin/env bash
# bench/mtl.sh (make bench-mtl): does balancing pay off, and what does it
# cost? Every balancing method on MultiFashion (Lin et al. 2019) and on the
# unbalanced-scales data, against single-task baselines, and each method's
# time per step against static's and against the PyTorch reference of the
# same method (tests/balance_ref.py, LibMTL's definitions) on the same net,
# measured in the same run. Writes bench/MTL.md. A benchmark, not a test.
#
# It runs in stages, each resumable (a result already in bench/out/mtl/ is
# kept), so the long part can be spread over several sessions:
#   bench/mtl.sh data       MultiFashion (60,000 + 10,000) and the scales CSVs
#   bench/mtl.sh time       time per step, batch 256, one thread: mtlc's repetitions
#                           alternating with static's, then PyTorch's
#   bench/mtl.sh accuracy   every method x 3 seeds on both data sets, and the
#                           single-task baselines
#   bench/mtl.sh report     bench/MTL.md from what bench/out/mtl/ holds
#   bench/mtl.sh            all four
# Two `bench/mtl.sh accuracy` at once (one a core) share the runs between
# them; the timing stage wants the machine to itself.
# Knobs: EPOCHS (MultiFashion, default 10), SCALES_EPOCHS (default 20),
# SEEDS (default "1 2 3"), METHODS (default every one), STEPS and REPS of
# the timing (default 20 and 5), LIMIT (train and test on the first N
# samples), BATCH (the training runs' batch; default the spec's 256).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/mtl
mkdir -p "$out"
PY=/usr/bin/python3
MTLC=build/mtlc
EPOCHS=${EPOCHS:-10}
SCALES_EPOCHS=${SCALES_EPOCHS:-20}
SEEDS=${SEEDS:-1 2 3}
STEPS=${STEPS:-20}
REPS=${REPS:-5}
LIMIT=${LIMIT:-0}
BATCH=${BATCH:-0}
all_methods="static uncertainty dwa rlw gls famo gradnorm mgda mgda(on=trunk) pcgrad cagrad imtl aligned_mtl nash_mtl upgrad"
METHODS=${METHODS:-$all_methods}
key() { case $1 in mgda\(*) echo mgda_ub ;; *) echo "$1" ;; esac; }

# spec DATASET METHOD [TASK]: the benchmark's spec with the method, or with
# one task alone (a single-task baseline)
spec() {
  local f=$out/spec-$1-$(key "$2")${3:+-$3}.mtl
  # written aside and renamed: another run may be reading the same spec
  sed "s/^train {/balance: $2\ntrain {/" bench/mtl/$1.mtl >"$f.$$"
  if [ -n "${3:-}" ]; then # keep task $3 and its data bindings only
    local other
    other=$(sed -n 's/^task \([a-z]*\) .*/\1/p' bench/mtl/$1.mtl | grep -vx "$3")
    for t in $other; do sed -i "/^task $t /d; /^ *$t: /d" "$f.$$"; done
  fi
  mv "$f.$$" "$f"
  echo "$f"
}

stage_data() {
  make -s build/mtlc
  [ -f data/multifashion/t10k-right-labels-idx1-ubyte.gz ] ||
    $MTLC gen-data multifashion -o data/multifashion --seed 1
  [ -f data/scales/test.csv ] || $MTLC gen-data scales -o data/scales --seed 1
}

# time per step at batch 256, one thread, mtlc (JIT) then PyTorch, per method
stage_time() {
  make -s build/mtlc
  for m in $METHODS; do
    local k; k=$(key "$m")
    [ -s "$out/time-$k.json" ] && continue
    echo "bench-mtl: timing $m"
    echo "$m: before: $(cat /proc/loadavg)" >>"$out/time-load.txt"
    local f; f=$(spec multifashion "$m")
    # mtlc's repetitions alternate with mtlc's static, so that a slow spell
    # of the machine (other tenants) falls on both and "x static" compares
    # neighbours; PyTorch's run in one process after them, as its steady
    # state (single repetitions in fresh processes were bimodal: mgda 1,600
    # to 4,600 samples/s, where 5 in one process gave 4,800-4,900)
    local r a=() c=() b s; s=$(spec multifashion static)
    for ((r = 0; r < REPS; r++)); do
      a+=("$(OPENBLAS_NUM_THREADS=1 $MTLC bench "$f" --batch 256 --threads 1 --steps "$STEPS" --reps 1)")
      c+=("$(OPENBLAS_NUM_THREADS=1 $MTLC bench "$s" --batch 256 --threads 1 --steps "$STEPS" --reps 1)")
    done
    b=$(OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $PY bench/mtl_torch.py --time "$m" --batch 256 \
          --steps "$STEPS" --reps "$REPS")
    $PY - "$m" "$out/time-$k.json" "${a[@]}" "${c[@]}" "$b" <<'PY'
import json, statistics, sys
m, path, runs = sys.argv[1], sys.argv[2], [json.loads(x) for x in sys.argv[3:]]
n = (len(runs) - 1) // 2
def merge(rs):
    d = dict(rs[0])
    d["samples_per_s"] = [x for r in rs for x in r["samples_per_s"]]
    d["median"] = statistics.median(d["samples_per_s"])
    d["min"], d["max"] = min(d["samples_per_s"]), max(d["samples_per_s"])
    return d
with open(path + ".tmp", "w") as f:
    json.dump({"method": m, "mtlc": merge(runs[:n]), "static_mtlc": merge(runs[n:2 * n]),
               "torch": runs[2 * n], "interleaved": True}, f)
PY
    mv "$out/time-$k.json.tmp" "$out/time-$k.json"
    echo "$m: after:  $(cat /proc/loadavg)" >>"$out/time-load.txt"
  done
}

# final test metrics of one run: the log's last epoch line
result() { # LOG
  tail -n 1 "$1"
}

train_run() { # NAME SPEC EPOCHS SEED
  local name=$1 f=$2 e=$3 seed=$4
  [ -s "$out/acc-$name-s$seed.json" ] && return
  # a run another `bench/mtl.sh accuracy` has taken is left to it (a lock
  # left by a killed run: remove bench/out/mtl/lock-*)
  mkdir "$out/lock-$name-s$seed" 2>/dev/null || { echo "bench-mtl: $name, seed $seed: taken by another run"; return; }
  echo "bench-mtl: training $name, seed $seed"
  local g=$out/spec-seed-$$.mtl lim=()
  sed "s/seed: [0-9]*/seed: $seed/" "$f" >"$g"
  [ "$LIMIT" != 0 ] && lim=(--limit "$LIMIT")
  [ "$BATCH" != 0 ] && lim+=(--batch "$BATCH")
  $MTLC train "$g" --epochs "$e" --threads 1 --log "$out/log-$name-s$seed.json" "${lim[@]}" >/dev/null
  result "$out/log-$name-s$seed.json" >"$out/acc-$name-s$seed.json.tmp"
  mv "$out/acc-$name-s$seed.json.tmp" "$out/acc-$name-s$seed.json"
  rmdir "$out/lock-$name-s$seed"
}

stage_accuracy() {
  make -s build/mtlc
  for seed in $SEEDS; do
    for t in left right; do train_run "multifashion-only-$t" "$(spec multifashion static $t)" "$EPOCHS" "$seed"; done
    for t in cls reg; do train_run "scales-only-$t" "$(spec scales static $t)" "$SCALES_EPOCHS" "$seed"; done
    for m in $METHODS; do
      k=$(key "$m")
      train_run "multifashion-$k" "$(spec multifashion "$m")" "$EPOCHS" "$seed"
      train_run "scales-$k" "$(spec scales "$m")" "$SCALES_EPOCHS" "$seed"
    done
  done
}

stage_report() {
  # the balancing part is rewritten; bench/arch.sh's architecture section
  # (between its <!-- architectures --> markers) is kept after it
  $PY bench/mtl_report.py "$out" "$EPOCHS" "$SCALES_EPOCHS" "$LIMIT" "$STEPS" "$REPS" "$BATCH" >bench/MTL.md.tmp
  if [ -f bench/MTL.md ] && grep -q '^<!-- architectures (bench/arch.sh) -->' bench/MTL.md; then
    { echo; sed -n '/^<!-- architectures (bench\/arch.sh) -->/,/^<!-- end of architectures -->/p' bench/MTL.md; } >>bench/MTL.md.tmp
  fi
  mv bench/MTL.md.tmp bench/MTL.md
  echo "bench-mtl: wrote bench/MTL.md"
}

case "${1:-all}" in
  data) stage_data ;;
  time) stage_time ;;
  accuracy) stage_accuracy ;;
  report) stage_report ;;
  all) stage_data; stage_time; stage_accuracy; stage_report ;;
  *) echo "usage: bench/mtl.sh [data|time|accuracy|report]" >&2; exit 2 ;;
esac
