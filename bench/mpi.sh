#!/usr/bin/env bash
# bench/mpi.sh (make bench-mpi; bench/run.sh runs it last): data-parallel
# training over MPI side by side with PyTorch, in one run on this machine;
# writes the "Data parallel over MPI" section of bench/RESULTS.md and
# leaves the rest of the file (bench/run.sh's tables) as it is.
#   runs:  fashion_hard at global batch 128, LIMIT samples (default 12800:
#          100 steps), 1 epoch, of
#            mtlc 1 rank x 2 threads        build/mtlc train --threads 2
#            mtlc 2 ranks x 1 thread        mpirun -np 2 ... --threads 1, with
#                                           MTL_DIST_STATS=1 (the allreduce's share)
#            PyTorch DDP, gloo, 2 x 1       bench/mpi_torch.py --procs 2
#            PyTorch 1 process x 2 threads  bench/mpi_torch.py --procs 1
#          and, for the scaling model's compute time against the batch,
#          mtlc 1 process x 1 thread at batch 128, 64, 16 and 2 (200 steps);
#          REPS (default 3) repetitions, interleaved; medians
#   time:  mtlc's from its --log, the epoch's "seconds" (no compile, no data
#          loading; the spec without its test split, so no evaluation);
#          PyTorch's over the timed steps after 2 warm-up steps
#   BLAS:  every run with OPENBLAS_CORETYPE as the environment sets it and,
#          when it is set, again without it
#   model: ring allreduce of the measured bytes per step on N machines at
#          10 Gbit/s (BANDWIDTH_GBIT) with an assumed latency (LATENCY_US,
#          default 50), against the measured compute per step
# A benchmark, not a test: it exits non-zero only when a run fails.
# `bench/mpi.sh report` writes the section again from bench/out/mpi/, no runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
out=bench/out/mpi
LIMIT=${LIMIT:-12800}
REPS=${REPS:-3}
LATENCY_US=${LATENCY_US:-50}
BANDWIDTH_GBIT=${BANDWIDTH_GBIT:-10}
BATCH=128
results=$out/results.jsonl

# the measurements, into bench/out/mpi/ (results.jsonl, the runs' logs, meta.txt)
measure() {
  rm -rf $out && mkdir -p $out
  : >$results

  if ! command -v mpirun >/dev/null 2>&1 || ! make -s build/mtlc mpi >/dev/null 2>&1 ||
     [ ! -f build/libmtlc-mpi.so ]; then
    echo "bench/mpi.sh: no mpirun or no build/libmtlc-mpi.so (sh tools/deps.sh --mpi && make mpi)"
    exit 1
  fi
  $PY -c 'import torch.distributed' 2>/dev/null ||
    { echo "bench/mpi.sh: /usr/bin/python3 has no torch (apt-get install python3-torch)"; exit 1; }
  # Open MPI refuses root without these; containers lack its single-copy path
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export OMPI_MCA_btl_vader_single_copy_mechanism=none

  # fashion_hard without its test split: the epoch's time is training alone
  spec=$out/fashion_hard.mtl
  awk '/^data test \{/ { skip = 1 } !skip { print } skip && /^\}/ { skip = 0 }' \
    specs/fashion_hard.mtl >$spec
  grep -q '^data train' $spec && ! grep -q '^data test' $spec

  # the settings: as the environment has OPENBLAS_CORETYPE, then without it
  coretypes=("${OPENBLAS_CORETYPE:-}")
  [ -n "${OPENBLAS_CORETYPE:-}" ] && coretypes+=("")
  blas() { # CORETYPE CMD...: CMD with OPENBLAS_CORETYPE=CORETYPE, or without it
    if [ -n "$1" ]; then env OPENBLAS_CORETYPE="$1" "${@:2}"; else env -u OPENBLAS_CORETYPE "${@:2}"; fi
  }
  # PyTorch's environment as bench/run.sh sets it (and OMP_NUM_THREADS per run)
  torch_env=(OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432)
  note() { # RUN CORETYPE REP LOG [ERR] [BATCH SAMPLES]: an mtlc run's line in the results
    echo "{\"run\": \"$1\", \"coretype\": \"$2\", \"rep\": $3, \"log\": \"$4\", \"err\": \"${5:-}\", \"batch\": ${6:-$BATCH}, \"samples\": ${7:-$LIMIT}}" >>$results
  }
  must() { # OUT CMD...: CMD, its output in OUT; on a failure that output, and stop
    "${@:2}" >"$1" 2>&1 || { echo "bench/mpi.sh: failed: ${*:2}"; tail -n 20 "$1"; exit 1; }
  }
  train=(--epochs 1 --limit $LIMIT --batch $BATCH)
  load0=$(cut -d' ' -f1-3 /proc/loadavg)

  for rep in $(seq 1 $REPS); do
    for ct in "${coretypes[@]}"; do
      tag=${ct:-unset}
      echo "bench/mpi.sh: repetition $rep of $REPS, OPENBLAS_CORETYPE=$tag"
      f=$out/mtlc_1x2_${tag}_$rep
      must $f.out blas "$ct" env OPENBLAS_NUM_THREADS=2 build/mtlc train $spec "${train[@]}" \
        --threads 2 --log $f.log
      note mtlc_1x2 "$ct" $rep $f.log
      f=$out/mtlc_2x1_${tag}_$rep
      must $f.err blas "$ct" mpirun --oversubscribe -np 2 -x MTL_DIST_STATS=1 \
        -x OPENBLAS_NUM_THREADS=1 ${ct:+-x OPENBLAS_CORETYPE} build/mtlc train $spec \
        "${train[@]}" --threads 1 --log $f.log
      note mtlc_2x1 "$ct" $rep $f.log $f.err
      must $out/torch.out blas "$ct" env "${torch_env[@]}" OMP_NUM_THREADS=1 \
        $PY bench/mpi_torch.py --procs 2 --threads 1 --batch $BATCH --samples $LIMIT \
        --run torch_ddp_2x1 --coretype "$ct" --rep $rep
      grep '^{' $out/torch.out >>$results
      must $out/torch.out blas "$ct" env "${torch_env[@]}" OMP_NUM_THREADS=2 \
        $PY bench/mpi_torch.py --procs 1 --threads 2 --batch $BATCH --samples $LIMIT \
        --run torch_1x2 --coretype "$ct" --rep $rep
      grep '^{' $out/torch.out >>$results
      [ "$ct" = "${coretypes[0]}" ] || continue
      # the compute of one rank against its share of the batch, for the model
      for b in 128 64 16 2; do
        f=$out/mtlc_1x1_b${b}_${tag}_$rep
        must $f.out blas "$ct" env OPENBLAS_NUM_THREADS=1 build/mtlc train $spec --epochs 1 \
          --batch $b --limit $((200 * b)) --threads 1 --log $f.log
        note mtlc_1x1 "$ct" $rep $f.log "" $b $((200 * b))
      done
    done
  done
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '%s\n' "$REPS" "$LIMIT" "${OPENBLAS_CORETYPE:-}" "$load0" "$load1" >$out/meta.txt
}

[ "${1:-}" = report ] || measure
[ -s $results ] && [ -f $out/meta.txt ] || { echo "bench/mpi.sh: no results in $out"; exit 1; }
mapfile -t meta <$out/meta.txt # REPS, LIMIT, OPENBLAS_CORETYPE, the load averages

# ---- the report: medians, the communication share, the scaling model --------------------
$PY - "$results" bench/RESULTS.md "$LATENCY_US" "$BANDWIDTH_GBIT" "${meta[@]}" <<'PYEOF'
import json, math, os, re, subprocess, sys

results, md, lat_us, gbit, reps, limit, ct0, load0, load1 = sys.argv[1:]
lat, bw, reps, limit = float(lat_us) * 1e-6, float(gbit) * 1e9 / 8, int(reps), int(limit)
rows = [json.loads(l) for l in open(results) if l.strip()]
STATS = re.compile(r"data parallel: (\d+) ranks, (\d+) steps, (\d+) floats \((\d+) bytes\) reduced "
                   r"per step, allreduce ([0-9.]+) ms of ([0-9.]+) ms per step")
for r in rows:
    if "log" in r:  # mtlc: the epoch's seconds from its log
        r["seconds"] = json.loads(open(r["log"]).readline())["seconds"]
        r["steps"] = -(-r["samples"] // r["batch"])
        r["samples_per_s"] = r["samples"] / r["seconds"]
        m = STATS.search(open(r["err"]).read()) if r["err"] else None
        if m:
            r["ranks"], r["floats"], r["bytes"] = int(m[1]), int(m[3]), int(m[4])
            r["allreduce_ms"], r["step_ms"] = float(m[5]), float(m[6])

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2

def pick(run, ct, **kw):
    return [r for r in rows if r["run"] == run and r["coretype"] == ct and
            all(r.get(k) == v for k, v in kw.items())]

def med(run, ct, key="samples_per_s", **kw):
    return median([r[key] for r in pick(run, ct, **kw)])

def version(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
cts = list(dict.fromkeys(r["coretype"] for r in rows))
runs = [("mtlc_1x2", "mtlc, 1 rank x 2 threads"), ("mtlc_2x1", "mtlc, 2 ranks x 1 thread (mpirun)"),
        ("torch_ddp_2x1", "PyTorch DDP, gloo, 2 processes x 1 thread"),
        ("torch_1x2", "PyTorch, 1 process x 2 threads")]
L = []
p = L.append
p("## Data parallel over MPI\n")
p("Written by `bench/mpi.sh` (`make bench-mpi`, and the last stage of `make bench`), from a run of")
p("its own (`bench/mpi.sh` alone leaves the tables above from theirs), on the machine below:")
p("fashion_hard at global batch %d, %d samples (%d steps), 1 epoch, medians of %d"
  % (128, limit, limit // 128, reps))
p("repetitions (min-max), the configurations interleaved. mtlc's time is the epoch's `seconds` of")
p("`--log` (no compile, no data loading; the spec without its test split, so no evaluation);")
p("PyTorch's is the timed steps after 2 warm-up steps (DDP builds its buckets at the first")
p("backward), random data in memory, each process `torch.set_num_threads(1)` (DDP) or 2. Both")
p("train fashion_hard's net with SGD lr 0.01 momentum 0.5, each rank 64 samples a step.\n")
p("- machine: %s, %d cores, shared with other work: load average %s before, %s after"
  % (cpu, os.cpu_count(), load0, load1))
if float(load0.split()[0]) > os.cpu_count() / 2 or float(load1.split()[0]) > os.cpu_count() / 2:
    p("  (the runs had less than their cores: every figure is lower than on an idle machine, and")
    p("  the spread between repetitions shows the noise)")
p("- %s; %s; PyTorch %s; OPENBLAS_CORETYPE in the environment: %s"
  % (version("build/mtlc --version"), version("mpirun --version"),
     version("/usr/bin/python3 -c 'import torch; print(torch.__version__)'"), ct0 or "unset"))
p("- ranks under `mpirun --oversubscribe -np 2` (Open MPI binds 2 ranks to a core each), shared")
p("  memory between them (the vader BTL, no single-copy path in this container)\n")
p("### Throughput (samples/s)\n")
p("| configuration | OPENBLAS_CORETYPE | samples/s | / mtlc 1 x 2 |")
p("|---|---|---|---|")
for ct in cts:
    base = med("mtlc_1x2", ct)
    for run, name in runs:
        xs = [r["samples_per_s"] for r in pick(run, ct)]
        p("| %s | %s | %.0f (%.0f-%.0f) | %.2fx |" % (name, ct or "unset", median(xs), min(xs),
                                                     max(xs), median(xs) / base))
p("")
p("### The communication share of a 2-rank step (`MTL_DIST_STATS=1`, rank 0)\n")
p("| OPENBLAS_CORETYPE | floats (bytes) reduced per step | allreduce ms per step | step ms | share |")
p("|---|---|---|---|---|")
for ct in cts:
    st = pick("mtlc_2x1", ct)
    ar, step = med("mtlc_2x1", ct, "allreduce_ms"), med("mtlc_2x1", ct, "step_ms")
    p("| %s | %d (%d) | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %.1f%% |" % (
        ct or "unset", st[0]["floats"], st[0]["bytes"], ar, min(r["allreduce_ms"] for r in st),
        max(r["allreduce_ms"] for r in st), step, min(r["step_ms"] for r in st),
        max(r["step_ms"] for r in st), 100 * ar / step))
p("\nThe allreduce time includes waiting for the other rank's `grad_step` (the ranks' skew); the")
p("floats are the gradients in the parameters' 64-byte aligned layout, then the 2 tasks' losses")
p("(fashion_hard has no running statistics). mtlc does not overlap the allreduce with the")
p("backward pass; DDP does (gloo's threads reduce buckets while autograd runs).\n")

# the model, from the first setting's rows
ct = cts[0]
st = pick("mtlc_2x1", ct)
S = st[0]["bytes"]
c64 = med("mtlc_2x1", ct, "step_ms") - med("mtlc_2x1", ct, "allreduce_ms")
t1 = {b: 1e3 * med("mtlc_1x1", ct, "seconds", batch=b) / 200 for b in (128, 64, 16, 2)}
comp = {b: c64 * t1[b] / t1[64] for b in t1}  # anchored on the 2-rank compute, shaped by t1
def comm(n):  # ms: the ring over the gradients, 2 small allreduces (losses, Ctrl-C flag)
    ring = 2 * (n - 1) / n * S / bw + 2 * (n - 1) * lat
    return 1e3 * (ring + 2 * math.ceil(math.log2(n)) * lat)
p("### A model of N machines on a %g Gbit/s network\n" % float(gbit))
p("One rank of 1 thread per machine, the allreduce not overlapped with compute (as mtlc runs).")
p("Per step: compute(b) + allreduce(N), b the rank's share of the batch.\n")
p("- allreduce size S = %d bytes per step (measured, above)" % S)
p("- allreduce(N) = 2 (N-1)/N S / B + 2 (N-1) a for the gradients (a ring), plus the 2 small")
p("  allreduces of a step (the losses, the Ctrl-C flag) at ceil(log2 N) a each (recursive")
p("  doubling); B = %g Gbit/s taken at line rate, a = %g us **assumed** (a typical TCP small-message"
  % (float(gbit), float(lat_us)))
p("  latency on 10 GbE; not measured here)")
p("- compute(64) = %.3f ms: the 2-rank step minus its allreduce (measured, median, %s)"
  % (c64, "OPENBLAS_CORETYPE=" + (ct or "unset")))
p("- compute(b) for other shares: compute(64) times t1(b) / t1(64), t1 the measured step time of")
p("  1 process x 1 thread at batch b (200 steps): " + ", ".join(
    "t1(%d) = %.3f ms" % (b, t1[b]) for b in (128, 64, 16, 2)))
p("  (not proportional to b: a step also updates every parameter, whatever b)\n")
p("| scaling | N | per rank | compute ms | allreduce ms | step ms | samples/s | speedup | efficiency |")
p("|---|---|---|---|---|---|---|---|---|")
one = 128 / comp[128]  # 1 machine, batch 128, no communication: samples per ms
for n in (2, 8, 64):
    b = 128 // n
    step = comp[b] + comm(n)
    rate = 128 / step
    p("| strong (global 128) | %d | %d | %.3f | %.3f | %.3f | %.0f | %.2fx | %.0f%% |" % (
        n, b, comp[b], comm(n), step, 1e3 * rate, rate / one, 100 * rate / one / n))
for n in (2, 8, 64):
    step = comp[64] + comm(n)
    rate = 64 * n / step
    p("| weak (64 a rank) | %d | 64 | %.3f | %.3f | %.3f | %.0f | %.2fx | %.0f%% |" % (
        n, comp[64], comm(n), step, 1e3 * rate, rate / (64 / comp[64]), 100 * comp[64] / step))
if t1[128] > 2 * t1[64]:  # strong scaling on 2 machines above 100%
    p("\nAbove 100%%: in this run t1(128) = %.3f ms is more than twice t1(64) = %.3f ms (the shared"
      % (t1[128], t1[64]))
    p("cores' noise, or a batch of 128 that leaves the cache), not a gain of data parallelism.")
p("\nSpeedup against 1 machine without communication: batch 128 (strong, %.0f samples/s) or 64"
  % (1e3 * one))
p("(weak, %.0f samples/s), both 1 thread. At 64 machines of the strong case each rank has 2"
  % (1e3 * 64 / comp[64]))
p("samples a step: what is left of its compute is mostly the work of a step whatever its batch")
p("(the update of every parameter), and the allreduce, the same size at any N, dominates.")
section = "\n".join(L) + "\n"

text = open(md).read() if os.path.exists(md) else "# bench/RESULTS.md\n\n"
at = text.find("## Data parallel over MPI")
if at >= 0:
    nxt = re.search(r"^## ", text[at + 3:], re.M)
    text = text[:at] + section + (text[at + 3 + nxt.start():] if nxt else "")
else:
    text = text.rstrip("\n") + "\n\n" + section
open(md, "w").write(text)
print(section)
PYEOF
