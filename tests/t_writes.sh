#!/usr/bin/env bash
# Outputs appear whole or not at all (issue 17): emit-c, emit-llvm (and
# their --infer forms), the checkpoint and the log all write through
# runtime/mtl_write.c.
#  - emit-c and emit-llvm write exclusive temporaries beside their outputs:
#    a symbolic link planted at the old temporary names (.NAME.h.tmp,
#    PATH.tmp) or at the output itself is never followed; the stale
#    temporaries of an mtlc that died are removed, a live process's are
#    left alone; nothing else is left.
#  - on a full disk (a small tmpfs: needs a user that can mount one; else
#    SKIP lines, and t_train.sh's /dev/full cases still run) emit-c,
#    emit-llvm --obj, a checkpoint save and --log exit 1 naming the file
#    and the cause, and leave the old files as they were and no temporary.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
mnt=$tmp/full
trap 'mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$tmp"' EXIT
pass() { echo "[PASS] writes/$1"; }
fail() { echo "[FAIL] writes/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }
temps() { find "$1" -name '*.tmp*' ! -name "$2" 2>/dev/null | wc -l; } # DIR KEEP: temporaries but KEEP
soft=specs/fashion_soft.mtl
fast=(--limit 200 --batch 32)

# 1. links and stale temporaries
d=$tmp/c
mkdir -p "$d"
printf 'precious\n' >"$tmp/victim"
for f in .fashion_soft.h.tmp .fashion_soft.c.tmp .main.c.tmp fashion_soft.h; do ln -s "$tmp/victim" "$d/$f"; done
sleep 0 & dead=$!
wait $dead
printf 'stale\n' >"$d/fashion_soft.c.tmp.$dead.abc123"
printf 'live\n' >"$d/fashion_soft.c.tmp.$$.xyz789"
out=$("$MTLC" emit-c $soft -o "$d" --main 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/victim")" = precious ] && [ -f "$d/fashion_soft.h" ] &&
   [ ! -L "$d/fashion_soft.h" ] && grep -q fashion_soft_forward "$d/fashion_soft.h"; then
  pass "emit-c follows no planted link"
else
  fail "emit-c follows no planted link" "exit $rc: $out; victim: $(cat "$tmp/victim"); $(ls -la "$d")"
fi
if [ ! -e "$d/fashion_soft.c.tmp.$dead.abc123" ] && [ -e "$d/fashion_soft.c.tmp.$$.xyz789" ] &&
   [ "$(find "$d" -name '*.tmp.*' | wc -l)" = 1 ]; then
  pass "emit-c removes a dead mtlc's temporary, keeps a live one's, leaves none of its own"
else
  fail "emit-c removes a dead mtlc's temporary, keeps a live one's, leaves none of its own" "$(ls -la "$d")"
fi
ln -s "$tmp/victim" "$d/m.o.tmp"
out=$("$MTLC" emit-llvm $soft --obj -o "$d/m.o" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/victim")" = precious ] && [ -f "$d/m.o" ] && [ ! -L "$d/m.o" ] &&
   [ "$(head -c 4 "$d/m.o" | od -An -c | tr -d ' ')" = 177ELF ] && [ "$(find "$d" -name 'm.o.tmp.*' | wc -l)" = 0 ]; then
  pass "emit-llvm writes its object itself, following no planted link"
else
  fail "emit-llvm writes its object itself, following no planted link" "exit $rc: $out; victim: $(cat "$tmp/victim"); $(ls -la "$d")"
fi
# the inference-only form (emit-c --infer, emit-llvm --infer) goes through the same writer
"$MTLC" train $soft "${fast[@]}" --epochs 1 --save "$tmp/w.ckpt" >/dev/null 2>&1
di=$tmp/infer
mkdir -p "$di"
for f in fashion_soft.h .fashion_soft.c.tmp fashion_soft.bin; do ln -s "$tmp/victim" "$di/$f"; done
out=$("$MTLC" emit-c $soft --infer --weights "$tmp/w.ckpt" --weights-blob -o "$di" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/victim")" = precious ] && [ ! -L "$di/fashion_soft.h" ] &&
   grep -q fashion_soft_predict "$di/fashion_soft.h" && [ -s "$di/fashion_soft.bin" ] && [ ! -L "$di/fashion_soft.bin" ] &&
   [ "$(find "$di" -name '*.tmp.*' | wc -l)" = 0 ]; then
  pass "emit-c --infer follows no planted link and leaves no temporary"
else
  fail "emit-c --infer follows no planted link and leaves no temporary" "exit $rc: $out; victim: $(cat "$tmp/victim"); $(ls -la "$di")"
fi
rm -f "$di/fashion_soft.h"
ln -s "$tmp/victim" "$di/fashion_soft.h"
ln -s "$tmp/victim" "$di/i.o.tmp"
out=$("$MTLC" emit-llvm $soft --infer --weights "$tmp/w.ckpt" --obj -o "$di/i.o" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(cat "$tmp/victim")" = precious ] && [ ! -L "$di/fashion_soft.h" ] &&
   grep -q fashion_soft_predict "$di/fashion_soft.h" &&
   [ "$(head -c 4 "$di/i.o" | od -An -c | tr -d ' ')" = 177ELF ] && [ "$(find "$di" -name '*.tmp.*' | wc -l)" = 0 ]; then
  pass "emit-llvm --infer writes its object and header itself, following no planted link"
else
  fail "emit-llvm --infer writes its object and header itself, following no planted link" "exit $rc: $out; victim: $(cat "$tmp/victim"); $(ls -la "$di")"
fi

# 2. a full disk
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=16k tmpfs "$mnt" 2>/dev/null; then
  for n in emit-c emit-llvm "emit-c --infer" checkpoint log; do
    echo "SKIP writes/$n on a full disk: cannot mount a tmpfs here (needs root)"
  done
  exit 0
fi
bad() { # name expected-substring command...: exit 1, the substring, no crash
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out" && ! grep -q "Sanitizer\|Segmentation\|core dumped" <<<"$out"; then
    return 0
  fi
  fail "$name" "exit $rc, want 1 and '$want' in: $out"
  return 1
}
# 16 KiB: NAME.h fits, NAME.c (24 KB) does not; the old header stays
printf 'old\n' >"$mnt/fashion_soft.h"
bad "emit-c on a full disk" "$mnt/fashion_soft.c: cannot write: No space left on device" \
  "$MTLC" emit-c $soft -o "$mnt" &&
  if [ "$(cat "$mnt/fashion_soft.h")" = old ] && [ ! -e "$mnt/fashion_soft.c" ] && [ "$(temps "$mnt" x)" = 0 ]; then
    pass "emit-c on a full disk fails, naming the file, and changes nothing"
  else
    fail "emit-c on a full disk fails, naming the file, and changes nothing" "$(ls -la "$mnt")"
  fi
bad "emit-llvm on a full disk" "$mnt/m.o: cannot write: No space left on device" \
  "$MTLC" emit-llvm $soft --obj -o "$mnt/m.o" &&
  if [ "$(cat "$mnt/fashion_soft.h")" = old ] && [ ! -e "$mnt/m.o" ] && [ "$(temps "$mnt" x)" = 0 ]; then
    pass "emit-llvm on a full disk fails, naming the file, and changes nothing"
  else
    fail "emit-llvm on a full disk fails, naming the file, and changes nothing" "$(ls -la "$mnt")"
  fi
# the embedded weights (megabytes of C) cannot fit: the old header stays
bad "emit-c --infer on a full disk" "$mnt/fashion_soft.c: cannot write: No space left on device" \
  "$MTLC" emit-c $soft --infer --weights "$tmp/w.ckpt" -o "$mnt" &&
  if [ "$(cat "$mnt/fashion_soft.h")" = old ] && [ ! -e "$mnt/fashion_soft.c" ] && [ "$(temps "$mnt" x)" = 0 ]; then
    pass "emit-c --infer on a full disk fails, naming the file, and changes nothing"
  else
    fail "emit-c --infer on a full disk fails, naming the file, and changes nothing" "$(ls -la "$mnt")"
  fi
umount "$mnt"
# 2,400 KiB: one checkpoint (1.6 MB) and the log fit, a second beside it does not:
# epoch 2's save fails, epoch 1's checkpoint and both log lines stay
mount -t tmpfs -o size=2400k tmpfs "$mnt"
"$MTLC" train $soft "${fast[@]}" --epochs 1 --save "$tmp/one.ckpt" >/dev/null 2>&1
bad "a save on a full disk" "$mnt/s.ckpt: cannot write: No space left on device" \
  "$MTLC" train $soft "${fast[@]}" --epochs 2 --save "$mnt/s.ckpt" --log "$mnt/log" &&
  if cmp -s "$mnt/s.ckpt" "$tmp/one.ckpt" && [ "$(grep -c '^{"epoch"' "$mnt/log")" = 2 ] &&
     [ "$(temps "$mnt" x)" = 0 ] && "$MTLC" eval $soft --load "$mnt/s.ckpt" --limit 100 >/dev/null 2>&1; then
    pass "a save on a full disk fails, naming the file; the last good checkpoint and the log stay"
  else
    fail "a save on a full disk fails, naming the file; the last good checkpoint and the log stay" \
      "$(ls -la "$mnt"; cmp "$mnt/s.ckpt" "$tmp/one.ckpt" 2>&1; cat "$mnt/log")"
  fi
# the disk filled to the last byte: the log's first line cannot be written
rm -f "$mnt/log"
dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
bad "--log on a full disk" "$mnt/log: cannot write the log: No space left on device" \
  "$MTLC" train $soft "${fast[@]}" --epochs 1 --log "$mnt/log" &&
  pass "--log on a full disk fails, naming the log"
