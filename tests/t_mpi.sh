#!/usr/bin/env bash
# Data-parallel training over MPI (mpirun --oversubscribe, on this machine):
#  - 2 ranks train to the parameters and optimizer state of 1 process with
#    the same global batch and data order, after 5 steps, within 1e-5
#    relative, for fashion_soft and fashion_hard (after 20, fashion_hard
#    within 1e-3: maxpool nets are chaotic, t_threads.sh says how much);
#    so do 3 ranks (uneven
#    shards, and a last batch of 1 sample that leaves two ranks empty),
#    and 3 ranks with RMSprop and clipping by the global gradient norm;
#    so do balance methods that weigh losses (uncertainty, famo, rlw on 3
#    ranks, dwa over 3 epochs with a 2-rank checkpoint resumed on 2) and
#    gradient methods, whose per-task gradients are summed over the ranks
#    before their Gramian (pcgrad, gradnorm, mgda(on=trunk) on 2 ranks;
#    mgda, nash_mtl on 3 with uneven and empty shards; upgrad, which one
#    process itself runs to only 1e-4 at 1 and 2 BLAS threads, to 1e-2);
#    batchnorm, its statistics the global batch's (SyncBatchNorm), 1 and 2
#    steps within 1e-5 (2 and 3 ranks, an empty shard, MGDA), 5 within 1e-4;
#    ranks and threads compose: 2 ranks x 2 threads (fashion_hard, mgda,
#    batchnorm) against 1 process on 1 thread, within 1e-5;
#  - early stopping and the best checkpoint (rank 0 decides) on 3 ranks
#    stop after 1 process's epoch, with its checkpoints;
#  - a control: 1 process at half the batch is far off, so the comparison
#    can fail;
#  - only rank 0 prints;
#  - MTL_DIST_STATS=1: rank 0's line of what the allreduce reduced and took,
#    its floats those of mtl_dist_step; no line without it;
#  - a 2-rank checkpoint resumes on 2 ranks (bit for bit) and on 1;
#  - a standalone trainer from emit-c --main built with -DMTL_MPI, for a
#    static, a gradient-balanced and a batchnorm spec;
#  - kill -9 of one rank: the job ends within seconds, no rank is left,
#    the last checkpoint loads;
#  - a global batch smaller than the number of ranks, and ranks that
#    disagree on the spec or the options, are clear errors;
#  - plain mtlc train does not load MPI; under mpirun without it, an error.
# Without mpirun (Debian's openmpi-bin) or build/libmtlc-mpi.so
# (libopenmpi-dev, make mpi) it prints SKIP lines.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] mpi/$1"; }
fail() { echo "[FAIL] mpi/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }

if ! command -v mpirun >/dev/null 2>&1; then
  echo "SKIP mpi: no mpirun (apt-get install openmpi-bin libopenmpi-dev, or tools/deps.sh --tests)"
  exit 0
fi
if [ ! -f build/libmtlc-mpi.so ]; then
  echo "SKIP mpi: no build/libmtlc-mpi.so (make mpi; it needs libopenmpi-dev)"
  exit 0
fi
if [ ! -x "$PY" ]; then
  echo "SKIP mpi: no $PY to compare checkpoints"
  exit 0
fi
# Open MPI refuses root without these; containers lack its single-copy path
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
unset MTL_DIST_STATS # asked for where a check wants its line
mpi() { timeout 300 mpirun --oversubscribe "$@"; }

spec=specs/fashion_soft.mtl
# 5 steps of batch 64: one epoch of 320 samples, one BLAS thread per rank
steps=(--limit 320 --epochs 1 --threads 1)

# same SPEC NP [ARGS...]: NP ranks against 1 process, their checkpoints
same() {
  local spec=$1 np=$2 n cmp; shift 2
  n="$(basename "${spec%.mtl}") on $np ranks equals 1 process${*:+ ($*)}"
  if ! out=$("$MTLC" train "$spec" "${steps[@]}" "$@" --save "$tmp/one.ckpt" 2>&1); then
    fail "$n" "1 process: $out"; return
  fi
  if ! out2=$(mpi -np "$np" "$MTLC" train "$spec" "${steps[@]}" "$@" --save "$tmp/many.ckpt" 2>&1); then
    fail "$n" "$np ranks: $out2"; return
  fi
  if cmp=$($PY tests/ckpt_compare.py "$tmp/one.ckpt" "$tmp/many.ckpt" "${rtol:-1e-5}" 2>&1); then
    pass "$n ($cmp)"
  else
    fail "$n" "$cmp"
  fi
  # only rank 0 prints its epoch line
  if [ "$(grep -c '^epoch 1/1' <<<"$out2")" = 1 ]; then pass "$n: one epoch line"
  else fail "$n: one epoch line" "$out2"; fi
}
same specs/fashion_soft.mtl 2
same specs/fashion_hard.mtl 2
# 20 steps: within 1e-3, a maxpool's flip or two (t_threads.sh)
steps=(--limit 1280 --epochs 1 --threads 1)
rtol=1e-3 same specs/fashion_hard.mtl 2
steps=(--limit 320 --epochs 1 --threads 1)
# 321 samples: shards of 22, 21 and 21, and a last batch of 1
same specs/fashion_soft.mtl 3 --limit 321
# balance methods that weigh losses: the balancer reads the global batch's
# losses on every rank; uncertainty's own parameters, FAMO's second look
# after the update, RLW's random stream (the same on every rank)
for m in uncertainty famo rlw; do
  { grep -v '^ *weight:' specs/fashion_hard.mtl; echo "balance: $m"; } >"$tmp/$m.mtl"
done
same "$tmp/uncertainty.mtl" 2
same "$tmp/famo.mtl" 2
same "$tmp/rlw.mtl" 3 --limit 321
# gradient methods: each rank's per-task gradients (of the shared
# parameters, or of the trunk's output summed over the batch for
# mgda(on=)), weighted by its share and summed before the Gramian, then
# train_end's halves around the gradients' sum. PCGrad's random order and
# GradNorm's own parameters too; 321 samples leave two of 3 ranks empty
# in the last batch.
for m in pcgrad gradnorm mgda nash_mtl upgrad "mgda(on=trunk)"; do
  { grep -v '^ *weight:' specs/fashion_hard.mtl; echo "balance: $m"; } >"$tmp/$m.mtl"
done
same "$tmp/pcgrad.mtl" 2
same "$tmp/gradnorm.mtl" 2
same "$tmp/mgda(on=trunk).mtl" 2
same "$tmp/mgda.mtl" 3 --limit 321
same "$tmp/nash_mtl.mtl" 3 --limit 321
# UPGrad's weights cancel much of the two tasks' conflicting conv
# gradients, so rounding is amplified: one process at 1 and at 2 BLAS
# threads already differs by 1e-4
rtol=1e-2 same "$tmp/upgrad.mtl" 2
# batchnorm as SyncBatchNorm: every rank normalizes by the global batch's
# mean and variance, and its backward's per-channel sums and the running
# update's count are the global batch's too, each summed over the ranks
# inside the step (mtl_sync); with each rank's own shard's statistics, 2
# ranks were 2e-2 off 1 process after one step. After convolutions and a
# dense layer; 65 samples on 3 ranks: a second step of 1 sample, two
# ranks empty, whose sums count for nothing; MGDA's per-task backward
# passes each sum their own.
bn() { # bn [dense]: batchnorm after fashion_hard's convolutions [and its dense layer]
  local d='s/^    dense(128) relu/    dense(128, bias=false) batchnorm relu/'
  [ -n "${1:-}" ] || d='s/^x//'
  sed -e "s/^model fashion_hard/model fashion_bn/" -e "$d" \
      -e "s/conv2d(\([0-9]*\), kernel=3, pad=1) relu/conv2d(\1, kernel=3, pad=1, bias=false) batchnorm relu/" \
      specs/fashion_hard.mtl
}
bn dense >"$tmp/fashion_bn.mtl"
if [ "$(grep -c batchnorm "$tmp/fashion_bn.mtl")" = 3 ]; then
  same "$tmp/fashion_bn.mtl" 2 --limit 64
  same "$tmp/fashion_bn.mtl" 3 --limit 65
  { grep -v '^ *weight:' "$tmp/fashion_bn.mtl"; echo "balance: mgda"; } >"$tmp/fashion_bn_mgda.mtl"
  same "$tmp/fashion_bn_mgda.mtl" 3 --limit 65
else
  fail "fashion_bn: the spec" "sed did not put 3 batchnorms into specs/fashion_hard.mtl"
fi
# 5 steps, batchnorm after the convolutions: the step amplifies rounding
# by 1/std, so that the ranks' other order of sums (a weighted sum of
# shard means for one mean) put them 2e-5 to 5e-5 off after 20 steps,
# where one process was itself 1e-5 off at 1 and 2 BLAS threads, and
# 1.8e-2 once a maxpool flipped (t_threads.sh)
bn >"$tmp/fashion_bn2.mtl"
rtol=1e-4 same "$tmp/fashion_bn2.mtl" 2
rtol=1e-4 same "$tmp/fashion_bn2.mtl" 3 --limit 321
# ranks and threads compose: each rank a team of 2 threads (mtl_team.c),
# worker w of rank r the job's rank 2r + w, its sums over the threads then
# over the ranks; 321 samples leave workers empty in the last step
teams() { # teams SPEC NP LIMIT: NP ranks x 2 threads against 1 process, 1 thread
  local spec=$1 np=$2 lim=$3 n cmp out
  n="$(basename "${spec%.mtl}") on $np ranks x 2 threads equals 1 process on 1 (--limit $lim)"
  if "$MTLC" train "$spec" --limit "$lim" --epochs 1 --threads 1 --save "$tmp/one.ckpt" >/dev/null 2>&1 &&
     out=$(mpi -np "$np" "$MTLC" train "$spec" --limit "$lim" --epochs 1 --threads 2 --save "$tmp/many.ckpt" 2>&1); then
    if cmp=$($PY tests/ckpt_compare.py "$tmp/one.ckpt" "$tmp/many.ckpt" 1e-5 2>&1); then pass "$n ($cmp)"
    else fail "$n" "$cmp"; fi
  else
    fail "$n" "${out:-the 1-process run failed}"
  fi
}
teams specs/fashion_hard.mtl 2 321
teams "$tmp/mgda.mtl" 2 321
teams "$tmp/fashion_bn.mtl" 2 65
# DWA's loss history (from epoch 3) and the balancer's state in a 2-rank
# checkpoint, resumed on 2 ranks: 1 process's 3 epochs
{ grep -v '^ *weight:' specs/fashion_hard.mtl; echo "balance: dwa"; } >"$tmp/dwa.mtl"
n="dwa: 2 ranks, 2 epochs, resumed on 2 ranks for a third, equal 1 process's 3 epochs"
if "$MTLC" train "$tmp/dwa.mtl" --limit 128 --threads 1 --epochs 3 --save "$tmp/d1.ckpt" >/dev/null 2>&1 &&
   mpi -np 2 "$MTLC" train "$tmp/dwa.mtl" --limit 128 --threads 1 --epochs 2 --save "$tmp/d2.ckpt" >/dev/null 2>&1 &&
   out=$(mpi -np 2 "$MTLC" train "$tmp/dwa.mtl" --limit 128 --threads 1 --epochs 3 --resume "$tmp/d2.ckpt" --save "$tmp/d2.ckpt" 2>&1); then
  if ! grep -q 'epoch 3/3 .*weights item 1\.0[0-9]* category 0\.9' <<<"$out"; then
    fail "$n" "epoch 3's weights are not DWA's from the history: $out"
  elif cmp=$($PY tests/ckpt_compare.py "$tmp/d1.ckpt" "$tmp/d2.ckpt" 1e-5 2>&1); then pass "$n ($cmp)"
  else fail "$n" "$cmp"; fi
else
  fail "$n" "a run failed: ${out:-}"
fi
# clipping by the global norm (small, so that it always acts): the norm is
# the summed gradients', so clipping is update_step's (clipped per rank, the
# weights would be several times off). SGD: RMSprop's first steps,
# lr * g / sqrt(0.01 g^2), turn a rounding of a gradient near 0 into a
# step of lr, so its ranks and 1 process agree to 1e-4 only.
sed 's/optimizer: sgd(lr=0.01, momentum=0.5)/optimizer: sgd(lr=0.01, momentum=0.5)\n    clip: norm(0.05)/' \
  specs/fashion_soft.mtl >"$tmp/fashion_clip.mtl"
if grep -q 'clip: norm' "$tmp/fashion_clip.mtl"; then same "$tmp/fashion_clip.mtl" 3
else fail "fashion_clip: the spec" "sed did not add clip to specs/fashion_soft.mtl"; fi

# MTL_DIST_STATS=1: rank 0's one line of the allreduce's share, its float
# count what mtl_dist_step reduces: the parameters in their 64-byte aligned
# layout (16 floats a tensor), the tasks' losses and regularizers' values,
# the running statistics; for fashion_hard (no statistics) and select
# (normalize(auto)'s, and a regularizer). Without the variable, no line.
# floats CKPT LOG: that count, from the checkpoint (SGD: its state is the
# tensors named .velocity) and the log's losses and regularizers
floats() {
  $PY - "$1" "$2" <<'PYEOF'
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", blob[:8])
head = json.loads(blob[8:8 + n])
head.pop("__metadata__", None)
k = 0
for name, t in head.items():
    if not name.endswith(".velocity"):
        numel = 1
        for d in t["shape"]:
            numel *= d
        k += (numel + 15) // 16 * 16
log = json.loads(open(sys.argv[2]).readline())
print(k + len(log["train_loss"]) + len(log.get("reg", {})))
PYEOF
}
sed 's/optimizer: rmsprop(lr=0.002, momentum=0.5)/optimizer: sgd(lr=0.05, momentum=0.5)/' \
  tests/workflow/select.mtl >"$tmp/select.mtl"
for s in specs/fashion_hard.mtl "$tmp/select.mtl"; do
  n="MTL_DIST_STATS=1: $(basename "${s%.mtl}") on 2 ranks says what it reduced per step"
  rm -f "$tmp/st.log"
  if out=$(mpi -np 2 -x MTL_DIST_STATS=1 "$MTLC" train "$s" --limit 320 --batch 64 --epochs 1 --threads 1 \
             --save "$tmp/st.ckpt" --log "$tmp/st.log" 2>&1) && want=$(floats "$tmp/st.ckpt" "$tmp/st.log"); then
    line=$(grep '^mtlc: data parallel: ' <<<"$out")
    got=$(sed -n 's/.* steps, \([0-9]*\) floats .*/\1/p' <<<"$line")
    if [ "$(grep -c '^mtlc: data parallel: ' <<<"$out")" = 1 ] &&
       grep -Eq '^mtlc: data parallel: 2 ranks, 5 steps, [0-9]+ floats \([0-9]+ bytes\) reduced per step, allreduce [0-9.]+ ms of [0-9.]+ ms per step \([0-9.]+%\)$' <<<"$line" &&
       [ "$got" = "$want" ]; then
      pass "$n ($line)"
    else
      fail "$n" "want one line with $want floats: $out"
    fi
  else
    fail "$n" "the run failed: $out ${want:-}"
  fi
done
n="no data-parallel line without MTL_DIST_STATS"
if out=$(mpi -np 2 "$MTLC" train specs/fashion_hard.mtl --limit 320 --epochs 1 --threads 1 2>&1); then
  if grep -q 'data parallel:' <<<"$out"; then fail "$n" "$out"; else pass "$n"; fi
else
  fail "$n" "the run failed: $out"
fi

# model selection (tests/workflow/select.mtl, with SGD for RMSprop: a valid
# split, early stopping on item.accuracy, normalize(auto), clipping) on 3
# ranks: rank 0 decides, every rank stops after the same epoch as 1
# process, and the last and the best checkpoints are 1 process's
n="early stopping and the best checkpoint on 3 ranks equal 1 process"
sel=("$tmp/select.mtl" --limit 600 --threads 1)
if out=$("$MTLC" train "${sel[@]}" --save "$tmp/s1.safetensors" 2>&1) &&
   out3=$(mpi -np 3 "$MTLC" train "${sel[@]}" --save "$tmp/s3.safetensors" 2>&1); then
  stop1=$(grep '^early stop' <<<"$out"); stop3=$(grep '^early stop' <<<"$out3")
  if [ -n "$stop1" ] && [ "$(grep -c '^early stop' <<<"$out3")" = 1 ] &&
     [ "${stop1%%(*}" = "${stop3%%(*}" ] &&
     [ "$(grep -c '^epoch ' <<<"$out")" = "$(grep -c '^epoch ' <<<"$out3")" ] &&
     c1=$($PY tests/ckpt_compare.py "$tmp/s1.safetensors" "$tmp/s3.safetensors" 1e-5 2>&1) &&
     c2=$($PY tests/ckpt_compare.py "$tmp/s1.best.safetensors" "$tmp/s3.best.safetensors" 1e-5 2>&1); then
    pass "$n (last: $c1; best: $c2)"
  else
    fail "$n" "1 process: $stop1
3 ranks: $out3
${c1:-} ${c2:-}"
  fi
else
  fail "$n" "a run failed: $out ${out3:-}"
fi

# a checkpoint of 2 ranks resumes on 2 ranks bit for bit, and on 1 process
# within 1e-5 of the 2-rank run
short=(--limit 640 --threads 1)
if mpi -np 2 "$MTLC" train $spec "${short[@]}" --epochs 2 --save "$tmp/r2.ckpt" >/dev/null 2>&1 &&
   mpi -np 2 "$MTLC" train $spec "${short[@]}" --epochs 1 --save "$tmp/r1.ckpt" >/dev/null 2>&1 &&
   cp "$tmp/r1.ckpt" "$tmp/r1b.ckpt" &&
   mpi -np 2 "$MTLC" train $spec "${short[@]}" --epochs 2 --resume "$tmp/r1.ckpt" --save "$tmp/r1.ckpt" >/dev/null 2>&1 &&
   "$MTLC" train $spec "${short[@]}" --epochs 2 --resume "$tmp/r1b.ckpt" --save "$tmp/r1b.ckpt" >/dev/null 2>&1; then
  if cmp -s "$tmp/r2.ckpt" "$tmp/r1.ckpt"; then pass "2-rank checkpoint resumes on 2 ranks bit for bit"
  else fail "2-rank checkpoint resumes on 2 ranks bit for bit" "$(cmp "$tmp/r2.ckpt" "$tmp/r1.ckpt" 2>&1)"; fi
  if cmp=$($PY tests/ckpt_compare.py "$tmp/r2.ckpt" "$tmp/r1b.ckpt" 1e-5 2>&1); then
    pass "2-rank checkpoint resumes on 1 process ($cmp)"
  else fail "2-rank checkpoint resumes on 1 process" "$cmp"; fi
else
  fail "2-rank checkpoint resumes" "a run failed"
fi

# a standalone trainer from emit-c --main, built with mpicc -DMTL_MPI
# standalone SPEC NAME: its 2 ranks against mtlc train's 1 process
standalone() {
  local spec=$1 name=$2 limit=${3:-320} d="$tmp/sa_$2"
  n="standalone trainer with -DMTL_MPI on 2 ranks equals 1 process ($name)"
  if "$MTLC" emit-c "$spec" -o "$d" --main >/dev/null 2>&1 &&
     out=$(mpicc -O2 -std=c11 -Wall -Wextra -Werror -DMTL_MPI -Iruntime -I"$d" "$d/main.c" \
             "$d"/fashion_*.c runtime/mtl_mpi.c build/libmtlrt.a \
             -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lz -lm -o "$d/train" 2>&1) &&
     "$MTLC" train "$spec" "${steps[@]}" --limit "$limit" --save "$tmp/one.ckpt" >/dev/null 2>&1 &&
     out=$(mpi -np 2 -x OPENBLAS_NUM_THREADS=1 "$d/train" --limit "$limit" --epochs 1 --save "$d.ckpt" 2>&1); then
    if cmp=$($PY tests/ckpt_compare.py "$tmp/one.ckpt" "$d.ckpt" 1e-5 2>&1); then pass "$n ($cmp)"
    else fail "$n" "$cmp"; fi
  else
    fail "$n" "$out"
  fi
}
if command -v mpicc >/dev/null 2>&1 && [ -f build/libmtlrt.a ]; then
  standalone $spec fashion_soft
  standalone "$tmp/pcgrad.mtl" pcgrad
  standalone "$tmp/fashion_bn.mtl" batchnorm 64
else
  echo "SKIP mpi/standalone trainer: no mpicc"
fi

# kill -9 of rank 1 mid-training: the job ends within seconds, no rank
# hangs, and the last checkpoint (after epoch 1) loads
n="kill -9 of a rank ends the job, the checkpoint loads"
mark="t_mpi_$$_$RANDOM"
# ranks N of this job: the processes whose environment has our mark
ranks_of() {
  for e in /proc/[0-9]*/environ; do
    tr '\0' '\n' 2>/dev/null <"$e" | grep -qx "MTL_TEST_JOB=$mark" || continue
    if [ -z "${1:-}" ] || tr '\0' '\n' 2>/dev/null <"$e" | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      p=${e#/proc/}; echo "${p%/environ}"
    fi
  done
}
mpirun --oversubscribe -np 2 -x MTL_TEST_JOB=$mark "$MTLC" train $spec --limit 2000 --epochs 100 \
  --threads 1 --save "$tmp/k.ckpt" >"$tmp/k.out" 2>&1 &
job=$!
for _ in $(seq 600); do [ -f "$tmp/k.ckpt" ] && break; sleep 0.2; done
victim=$(ranks_of 1 | head -n 1)
if [ ! -f "$tmp/k.ckpt" ] || [ -z "$victim" ]; then
  fail "$n" "no checkpoint or no rank 1 to kill: $(cat "$tmp/k.out")"
  kill $job 2>/dev/null; wait $job 2>/dev/null
else
  kill -9 "$victim"
  t0=$(date +%s)
  for _ in $(seq 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
  secs=$(( $(date +%s) - t0 ))
  if kill -0 $job 2>/dev/null; then
    fail "$n" "mpirun still runs 30 s after the kill"; kill $job 2>/dev/null
  fi
  wait $job; rc=$?
  left=$(ranks_of)
  if [ $rc -ne 0 ] && [ -z "$left" ] && [ $secs -le 10 ] &&
     out=$("$MTLC" eval $spec --load "$tmp/k.ckpt" --limit 100 2>&1); then
    pass "$n (mpirun exit $rc after ${secs} s)"
  else
    fail "$n" "exit $rc after ${secs} s, ranks left: ${left:-none}; eval: ${out:-}"
  fi
fi

# Ctrl-C (SIGINT) on one rank, rank 1: every rank stops at the same step,
# rank 0 reports it and the saved checkpoint, the job ends, the checkpoint
# loads
n="SIGINT to rank 1 stops every rank, rank 0 alone reports it, the checkpoint loads"
rm -f "$tmp/i.ckpt"
mpirun --oversubscribe -np 2 -x MTL_TEST_JOB=$mark "$MTLC" train $spec --limit 2000 --epochs 100 \
  --threads 1 --save "$tmp/i.ckpt" >"$tmp/i.out" 2>&1 &
job=$!
for _ in $(seq 600); do [ -f "$tmp/i.ckpt" ] && break; sleep 0.2; done
victim=$(ranks_of 1 | head -n 1)
if [ ! -f "$tmp/i.ckpt" ] || [ -z "$victim" ]; then
  fail "$n" "no checkpoint or no rank 1: $(cat "$tmp/i.out")"
  kill $job 2>/dev/null; wait $job 2>/dev/null
else
  kill -INT "$victim"
  for _ in $(seq 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
  if kill -0 $job 2>/dev/null; then
    fail "$n" "mpirun still runs 30 s after the SIGINT"; kill -9 $job 2>/dev/null
  fi
  wait $job; rc=$?
  left=$(ranks_of)
  if [ $rc -ne 0 ] && [ -z "$left" ] && [ "$(grep -c 'interrupted in epoch' "$tmp/i.out")" = 1 ] &&
     out=$("$MTLC" eval $spec --load "$tmp/i.ckpt" --limit 100 2>&1); then
    pass "$n (mpirun exit $rc)"
  else
    fail "$n" "exit $rc, ranks left: ${left:-none}; output: $(cat "$tmp/i.out"); then: ${out:-}"
  fi
fi

# the control: half the batch on 1 process is another trajectory
if "$MTLC" train $spec "${steps[@]}" --batch 32 --save "$tmp/half.ckpt" >/dev/null 2>&1 &&
   mpi -np 2 "$MTLC" train $spec "${steps[@]}" --save "$tmp/two.ckpt" >/dev/null 2>&1 &&
   ! cmp=$($PY tests/ckpt_compare.py "$tmp/half.ckpt" "$tmp/two.ckpt" 1e-5 2>&1); then
  pass "control: batch 32 on 1 process differs from 64 on 2 ranks ($cmp)"
else
  fail "control: batch 32 on 1 process differs from 64 on 2 ranks" "${cmp:-a run failed}"
fi

# expect NAME PATTERN CMD...: exit non-zero, PATTERN in the output, no hang
expect() {
  local n=$1 pat=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q -- "$pat" <<<"$out"; then pass "$n"
  else fail "$n" "exit $rc: $out"; fi
}
expect "a global batch smaller than the ranks" "the global batch 2 is smaller than the 3 ranks" \
  mpi -np 3 "$MTLC" train $spec --limit 100 --threads 1 --batch 2
sed 's/seed: 1/seed: 2/' $spec >"$tmp/seed2.mtl"
expect "ranks that disagree on the spec" "the ranks disagree on the spec or the training options" \
  mpi -np 1 "$MTLC" train $spec --limit 100 --threads 1 : -np 1 "$MTLC" train "$tmp/seed2.mtl" --limit 100 --threads 1
expect "ranks that disagree on the balance method" "the ranks disagree on the spec or the training options" \
  mpi -np 1 "$MTLC" train "$tmp/dwa.mtl" --limit 100 --threads 1 : -np 1 "$MTLC" train "$tmp/rlw.mtl" --limit 100 --threads 1
expect "ranks that disagree on the options" "rank 1's hash" \
  mpi -np 1 "$MTLC" train $spec --limit 100 --threads 1 : -np 1 "$MTLC" train $spec --limit 200 --threads 1
expect "under mpirun without the MPI library" "cannot load MPI from /nonexistent.so" \
  mpi -np 1 -x MTLC_MPI_LIB=/nonexistent.so "$MTLC" train $spec --limit 100 --threads 1

# plain mtlc train never loads MPI
if out=$(MTLC_MPI_LIB=/nonexistent.so "$MTLC" train $spec --limit 100 --epochs 1 --threads 1 2>&1); then
  pass "plain mtlc train needs no MPI"
else
  fail "plain mtlc train needs no MPI" "$out"
fi
