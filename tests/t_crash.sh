#!/usr/bin/env bash
# Crash consistency of checkpoints. CRASH_KILLS times (default 20; the
# issue's full run is `CRASH_KILLS=100 bash tests/t_crash.sh`, some 6
# minutes) a training run that saves every epoch is started, resuming from
# the checkpoint the last one left, and killed with SIGKILL at a random
# moment (CRASH_SEED, default 1) within 2.5 s after the time the first run
# took to load, compile, train and save one epoch, or (every other run)
# within 0.5 s after the run's own first save, so that on a busy machine
# too the kills land in the epochs and their saves: specs/fashion_soft.mtl
# on 64 samples in batches of 32, so an epoch is 2 steps and a 1.6 MB save.
#  - every run must still be running when it is killed: one that exits
#    first could not resume from the checkpoint (each resume loads its
#    parameters, optimizer state and metadata, all checked);
#  - after each kill at most one temporary file is left (the killed
#    save's: the next save removes it before it makes its own);
#  - at the end a clean run resumes, trains one more epoch, evaluates the
#    checkpoint, and no temporary file is left.
# The report line says how many kills caught a save between creating its
# temporary and renaming it, and how many runs saved before their kill.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kills=${CRASH_KILLS:-20}
seed=${CRASH_SEED:-1}
spec=specs/fashion_soft.mtl
ck=$tmp/soft.ckpt
args=(--limit 64 --batch 32 --epochs 100000 --save "$ck")
name="kill -9 during training: $kills kills, every checkpoint resumes, no temporary left"
temps() { find "$tmp" -maxdepth 1 -name 'soft.ckpt.tmp*' | wc -l; }
ok=1 why="" in_save=0 saves=0
t0=$(date +%s.%N)
"$MTLC" train $spec "${args[@]}" --epochs 1 >/dev/null 2>&1 || { ok=0; why="the first run failed"; }
start=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
for ((i = 1; ok && i <= kills; i++)); do
  before=$(stat -c %i "$ck")
  "$MTLC" train $spec "${args[@]}" --resume "$ck" >"$tmp/out" 2>&1 &
  pid=$!
  # odd runs: at a random moment within 2.5 s after the measured start-up;
  # even runs: within 0.5 s after the run's own first save (the checkpoint
  # replaced), so that on a machine too busy for the start-up's measure
  # half the kills still land among the epochs and their saves
  if ((i % 2 == 0)); then
    deadline=$((SECONDS + 300))
    while [ "$(stat -c %i "$ck")" = "$before" ] && kill -0 $pid 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.01
    done
  fi
  sleep "$(awk -v s="$seed" -v i="$i" -v t="$start" 'BEGIN { srand(s * 1000 + i); printf "%.3f", i % 2 ? t + rand() * 2.5 : rand() * 0.5 }')"
  if ! kill -9 $pid 2>/dev/null; then
    wait $pid
    ok=0 why="run $i exited before the kill (status $?): $(cat "$tmp/out")"
    break
  fi
  wait $pid 2>/dev/null
  n=$(temps)
  [ -n "$(find "$tmp" -maxdepth 1 -name "soft.ckpt.tmp.$pid.*")" ] && in_save=$((in_save + 1))
  [ "$(stat -c %i "$ck")" != "$before" ] && saves=$((saves + 1))
  if [ "$n" -gt 1 ]; then ok=0 why="after kill $i: $n temporary files: $(ls "$tmp")"; fi
done
# the checkpoint's epoch, from its header's __metadata__
epoch=$(head -c 65536 "$ck" | grep -ao '"epoch":"[0-9]*"' | tr -dc 0-9)
if [ $ok = 1 ] && ! out=$("$MTLC" train $spec "${args[@]}" --resume "$ck" --epochs $((epoch + 1)) 2>&1 &&
                          "$MTLC" eval $spec --load "$ck" --limit 64 2>&1); then
  ok=0 why="the clean run after the kills: $out"
fi
if [ $ok = 1 ] && [ "$(temps)" != 0 ]; then ok=0 why="temporary files left: $(ls "$tmp")"; fi
if [ $ok = 1 ]; then
  echo "[PASS] crash/$name ($in_save kills left a save's temporary, $saves runs saved, epoch $((epoch + 1)); start-up ${start} s)"
else
  echo "[FAIL] crash/$name"
  printf '%s\n' "$why" | head -n 15 | sed 's/^/    /'
fi
