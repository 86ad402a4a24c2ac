#!/usr/bin/env bash
# bench/cmudict.sh: specs/cmudict.mtl trained by mtlc, and the same net with
# the same recipe in PyTorch (bench/cmudict_torch.py), on one thread each,
# one after the other: the multi-task model, then each task alone with the
# same trunk (the spec without the other tasks, made here with sed). Writes
# bench/CMUDICT.md: per-task test accuracy after the last epoch and the
# seconds per epoch (training and the test pass) of every run. A benchmark,
# not a test. Needs the data: sh specs/data/cmudict.sh. EPOCHS (default:
# the spec's 10) sets every run; TASKS_ALONE=0 skips the single-task runs;
# RUNS="last_vowel" redoes only the runs named.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/cmudict
mkdir -p $out
PY=/usr/bin/python3
EPOCHS=${EPOCHS:-10}
TASKS="syllables stress last_vowel"
data=${MTLC_DATA:-$HOME/.cache/mtlc}/cmudict
[ -s "$data/train_words.txt" ] || sh specs/data/cmudict.sh
MTLC=${MTLC:-build/mtlc}
[ "$MTLC" != build/mtlc ] || make -s build/mtlc
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

# each run's CPU seconds (user + system, start to end) too: on a busy
# machine they stay what the work costs, where wall seconds do not
cpu() { /usr/bin/time -f "%U %S" -o "$1" "${@:2}"; }
run() { # name spec tasks
  echo "cmudict: mtlc, $1"
  cpu "$out/$1_mtlc.cpu" "$MTLC" train "$2" --threads 1 --epochs "$EPOCHS" \
    --log "$out/$1_mtlc.jsonl" | tail -n 1
  echo "cmudict: PyTorch, $1"
  cpu "$out/$1_torch.cpu" $PY bench/cmudict_torch.py --threads 1 --epochs "$EPOCHS" --tasks "$3" \
    >"$out/$1_torch.jsonl"
  tail -n 1 "$out/$1_torch.jsonl"
}
# RUNS (default: all of them) names the runs to redo, "all" and task names;
# the table then takes the others from the last run's files in $out
RUNS=${RUNS:-all $TASKS}
wanted() { [[ " $RUNS " == *" $1 "* ]]; }
if wanted all; then run all specs/cmudict.mtl "${TASKS// /,}"; fi
if [ "${TASKS_ALONE:-1}" = 1 ]; then
  for t in $TASKS; do
    wanted "$t" || continue
    others=$(echo $TASKS | tr ' ' '\n' | grep -vx "$t" | paste -sd'|')
    grep -vE "^(task |    )($others)[ :]" specs/cmudict.mtl >"$out/$t.mtl"
    run "$t" "$out/$t.mtl" "$t"
  done
fi

$PY - "$out" "$EPOCHS" "${TASKS_ALONE:-1}" $TASKS >bench/CMUDICT.md <<'PY'
import json, os, sys
out, epochs, alone, tasks = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
def lines(p):
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
def acc(rec, t, mtlc):
    v = rec["test"][t]
    return v["accuracy"] if mtlc else v
print("# cmudict: mtlc against PyTorch, multi-task and each task alone\n")
print("`bench/cmudict.sh`: specs/cmudict.mtl (a char embedding and a conv1d trunk shared by")
print("three tasks derived from the Carnegie Mellon Pronouncing Dictionary) trained by")
print("`mtlc train --threads 1`, then the same net with the same recipe in PyTorch 1.13")
print(f"(bench/cmudict_torch.py, one thread), {epochs} epochs each; then each task alone with")
print("the same trunk. Test accuracy after the last epoch (24,571 test words); seconds per")
print("epoch are the median over the epochs, training (99,303 words) and the test pass;")
print("CPU seconds are the whole process's (user + system, start to end, so PyTorch's import")
print("and mtlc's compilation included) over the epochs.\n")
print("| run | task | mtlc accuracy | PyTorch accuracy | difference (points) | mtlc s/epoch | PyTorch s/epoch | mtlc CPU s/epoch | PyTorch CPU s/epoch | PyTorch / mtlc (CPU) |")
print("|---|---|---|---|---|---|---|---|---|---|")
runs = [("all", tasks)] + ([(t, [t]) for t in tasks] if alone else [])
for name, ts in runs:
    m, p = lines(f"{out}/{name}_mtlc.jsonl"), lines(f"{out}/{name}_torch.jsonl")
    if not m or not p:
        continue
    med = lambda r: sorted(x["seconds"] for x in r)[len(r) // 2]
    sm, sp = med(m), med(p)
    cpu = lambda f: sum(map(float, open(f).read().split()[:2])) / len(m)
    cm, cp = cpu(f"{out}/{name}_mtlc.cpu"), cpu(f"{out}/{name}_torch.cpu")
    for i, t in enumerate(ts):
        a, b = acc(m[-1], t, True), acc(p[-1], t, False)
        label = "multi-task" if name == "all" else "alone"
        print(f"| {label} | {t} | {100 * a:.2f}% | {100 * b:.2f}% | {100 * (a - b):+.2f} | "
              + (f"{sm:.2f} | {sp:.2f} | {cm:.2f} | {cp:.2f} | {cp / cm:.2f}x |" if i == 0
                 else "| | | | | |"))
PY
cat bench/CMUDICT.md
