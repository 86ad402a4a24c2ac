#!/usr/bin/env bash
# bench/resnet.sh: specs/fashion_resnet.mtl trained by mtlc, and the same
# net with the same recipe in PyTorch (bench/resnet_torch.py), one after the
# other on this machine, 10 epochs each on the full Fashion-MNIST; writes
# bench/RESNET.md with both runs' per-epoch test accuracy and time. A
# benchmark, not a test. THREADS (default: the cores) sets both; EPOCHS
# (default 10) and LIMIT (the first N samples of each split; default all)
# make a shorter run. Each run's CPU seconds (user + system, from
# /usr/bin/time) are reported beside its wall time, since on a busy machine
# only the CPU seconds compare.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p $out
PY=/usr/bin/python3
THREADS=${THREADS:-$(getconf _NPROCESSORS_ONLN)}
EPOCHS=${EPOCHS:-10}
LIMIT=${LIMIT:-0}
lim=(); [ "$LIMIT" -gt 0 ] && lim=(--limit "$LIMIT")
make -s build/mtlc
echo "resnet: mtlc, $THREADS threads"
s0=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o $out/resnet_mtlc.cpu build/mtlc train specs/fashion_resnet.mtl \
  --threads "$THREADS" --epochs "$EPOCHS" "${lim[@]}" --log $out/resnet_mtlc.jsonl | tee $out/resnet_mtlc.txt
s1=$(date +%s.%N)
echo "resnet: PyTorch, $THREADS threads"
env OMP_NUM_THREADS="$THREADS" /usr/bin/time -f "%U %S" -o $out/resnet_torch.cpu \
  $PY bench/resnet_torch.py --threads "$THREADS" --epochs "$EPOCHS" "${lim[@]}" | tee $out/resnet_torch.jsonl
s2=$(date +%s.%N)
$PY - "$out" "$s0" "$s1" "$s2" "$THREADS" "$LIMIT" >bench/RESNET.md <<'PY'
import json, sys
out, s0, s1, s2, threads, limit = sys.argv[1], *map(float, sys.argv[2:5]), sys.argv[5], int(sys.argv[6])
cpu = lambda f: sum(map(float, open(f"{out}/{f}").read().split()[-2:]))
cm, ct = cpu("resnet_mtlc.cpu"), cpu("resnet_torch.cpu")
m = [json.loads(l) for l in open(f"{out}/resnet_mtlc.jsonl")]
t = [json.loads(l) for l in open(f"{out}/resnet_torch.jsonl")]
print("# fashion_resnet: mtlc against PyTorch\n")
print("`bench/resnet.sh`: specs/fashion_resnet.mtl (a residual CNN with batchnorm shared by")
print("item and category) trained by `mtlc train`, then the same net with the same recipe")
print(f"in PyTorch 1.13 (bench/resnet_torch.py), one after the other, {threads} threads each,")
print("the first {} samples of each split.\n".format(limit) if limit else "full Fashion-MNIST (60,000 train, 10,000 test).\n")
print("| epoch | mtlc item | mtlc category | mtlc s | PyTorch item | PyTorch category | PyTorch s |")
print("|---|---|---|---|---|---|---|")
for a, b in zip(m, t):
    print(f"| {a['epoch']} | {a['test']['item']['accuracy']:.4f} | {a['test']['category']['accuracy']:.4f} "
          f"| {a['seconds']:.1f} | {b['test']['item']:.4f} | {b['test']['category']:.4f} | {b['seconds']:.1f} |")
tm, tt = sum(a["seconds"] for a in m), sum(b["seconds"] for b in t)
print(f"\nWhole runs (process start to end): mtlc {s1 - s0:.0f} s, PyTorch {s2 - s1:.0f} s; "
      f"epochs alone {tm:.0f} s against {tt:.0f} s, PyTorch / mtlc = {tt / tm:.2f}x.")
print(f"CPU seconds (user + system, whole process): mtlc {cm:.1f}, PyTorch {ct:.1f}, "
      f"PyTorch / mtlc = {ct / cm:.2f}x.")
PY
cat bench/RESNET.md
