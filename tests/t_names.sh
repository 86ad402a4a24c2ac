#!/usr/bin/env bash
# No spec name may change what code runs. A model's code defines NAME_init,
# NAME_train_step, NAME_eval_step, NAME_forward and NAME_info; a model named
# pthread_mutex defines pthread_mutex_init, libc's name. This group takes
# every symbol that mtlc's process has (its own, libc's, libm's, OpenBLAS's
# and the rest `ldd` lists) which one of those names could equal, and for
# each such model name:
#  - trains a tiny tabular model with both back ends and checks the log is
#    the same model's under a plain name, number for number;
#  - for the names mtlc itself defines, runs check-codegen;
#  - emit-c refuses, naming the symbol, and writes nothing, where a program
#    linking the model would bind to it: a default-version symbol of a
#    library, or one of the runtime's (mtl_*).
# Then the names the generated code chooses itself: a task named like an
# entry point under `model lookup`, models named like headers' guards
# (mtl_model, mtl_kernel, _math) and `model main` with --main.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] names/$1"; }
fail() { echo "[FAIL] names/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }

awk 'BEGIN { srand(7); for (i = 0; i < 48; i++) { a = rand(); b = rand(); c = rand(); d = rand();
       printf "%.3f,%.3f,%.3f,%.3f,%d\n", a, b, c, d, int(3 * a) } }' >"$tmp/data.csv"
# spec NAME [TASKS]: a small model named NAME
spec() {
  cat <<EOF
model $1
input features: f32[4]
task species { label: class(3)  net: features -> dense(8) relu dense(3) }
${2:-}
train { optimizer: sgd(lr=0.1)  batch: 16  epochs: 1 }
data train { features: "$tmp/data.csv", csv(columns=[0, 1, 2, 3])
             species: "$tmp/data.csv", csv(column=4) }
data test  { features: "$tmp/data.csv", csv(columns=[0, 1, 2, 3])
             species: "$tmp/data.csv", csv(column=4) }
EOF
}
# the log without its times
run() { rm -f "$tmp/l"; "$MTLC" train "$@" --log "$tmp/l" >/dev/null 2>&1 && sed 's/, "seconds": [^,}]*//' "$tmp/l"; }

spec plain >"$tmp/plain.mtl"
want_c=$(run "$tmp/plain.mtl" --backend c)
want_j=$(run "$tmp/plain.mtl" --backend jit)
if [ -z "$want_c" ] || [ "$want_c" != "$want_j" ]; then
  fail "the plain model trains the same with both back ends" "c: $want_c
jit: $want_j"
fi

# the model names whose entry points are symbols of this process
libs=$(ldd "$MTLC" | awk '/=>/ && $3 ~ /^\// { print $3 }')
entry='s/^([A-Za-z_][A-Za-z0-9_]*)_(init|train_step|eval_step|forward|info)$/\1/p'
all=$( (nm -D --defined-only "$MTLC"; for l in $libs; do nm -D --defined-only "$l"; done) 2>/dev/null |
       awk '{ print $NF }')
syms=$(printf '%s\n' "$all" | sed 's/@.*//' | sort -u)
names=$(printf '%s\n' "$syms" | sed -n -E "$entry" | sort -u)
ours=$(nm -D --defined-only "$MTLC" | awk '{ print $NF }' | sed -n -E "$entry")
# what a linker would bind: a library's default versions, the runtime's own
linked=$( (for l in $libs; do nm -D --defined-only "$l"; done; nm -D --defined-only "$MTLC" | grep ' mtl_') 2>/dev/null |
          awk '{ print $NF }' | grep -v '[^@]@[^@]' | sed 's/@.*//' | sed -n -E "$entry" | sort -u)
n=$(printf '%s\n' $names | grep -c .)
for want in pthread_mutex_init pthread_cond_init sem_init mtx_init gotoblas_init malloc_info interp_forward; do
  printf '%s\n' "$syms" | grep -qx "$want" || fail "the symbol list has $want" "$(printf '%s\n' "$syms" | wc -l) symbols"
done
if [ "$n" -lt 20 ]; then fail "at least 20 colliding model names from the process's symbols" "found $n"; fi

bad_train=""; bad_emit=""
for name in $names; do
  spec "$name" >"$tmp/$name.mtl"
  for be in c jit; do
    got=$(run "$tmp/$name.mtl" --backend $be)
    [ "$got" = "$want_c" ] || bad_train="$bad_train
model $name, --backend $be: $got"
  done
  rm -rf "$tmp/out"
  printf '%s\n' $linked | grep -qx "$name" || continue
  if "$MTLC" emit-c "$tmp/$name.mtl" -o "$tmp/out" 2>"$tmp/err"; then
    bad_emit="$bad_emit
model $name: emit-c exit 0"
  elif ! grep -q "would export ${name}_" "$tmp/err" || [ -e "$tmp/out/$name.c" ] || [ -e "$tmp/out/$name.h" ]; then
    bad_emit="$bad_emit
model $name: $(cat "$tmp/err"); $(ls "$tmp/out" 2>/dev/null)"
  fi
done
if [ -z "$bad_train" ]; then pass "$n models named after this process's symbols train as the plain one (c, jit)"
else fail "$n models named after this process's symbols train as the plain one (c, jit)" "$bad_train"; fi
nl=$(printf '%s\n' $linked | grep -c .)
if [ "$nl" -lt 15 ] || [ -n "$bad_emit" ]; then
  fail "emit-c refuses the $nl names a linker would bind, naming the symbol, writing nothing" "$bad_emit"
else pass "emit-c refuses the $nl names a linker would bind, naming the symbol, writing nothing"; fi

bad=""
for name in $ours; do
  "$MTLC" check-codegen "$tmp/$name.mtl" >"$tmp/cg" 2>&1 || bad="$bad
model $name: $(tail -n 3 "$tmp/cg")"
done
if [ -z "$bad" ]; then pass "check-codegen passes for models named after mtlc's own functions ($(echo $ours))"
else fail "check-codegen passes for models named after mtlc's own functions" "$bad"; fi

# names the generated code chooses: tables named like the entry points,
# header guards, main.c; each compiles with -Wall -Werror, links with the
# runtime and trains as the plain model does
blas="-I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas"
standalone() { # NAME SPEC-FILE
  local d=$tmp/sa_$1
  "$MTLC" emit-c "$2" -o "$d" --main 2>"$tmp/err" &&
    cc -std=c11 -Wall -Wextra -Werror -O1 -Iruntime -I"$d" -o "$d/train" "$d/main.c" "$d/$1.c" \
       build/libmtlrt.a $blas -lz -lm 2>>"$tmp/err" &&
    "$d/train" --log "$d/log" >/dev/null 2>>"$tmp/err" && sed 's/, "seconds": [^,}]*//' "$d/log"
}
tasks='task init    { label: binary = lookup(species, [0, 0, 1])  net: features -> dense(1) }
task forward { label: binary = lookup(species, [0, 1, 1])  net: features -> dense(1) }'
spec lookup "$tasks" >"$tmp/lookup.mtl"
spec lookups "$tasks" >"$tmp/lookups.mtl"
want=$(run "$tmp/lookups.mtl" --backend c)
if got=$(standalone lookup "$tmp/lookup.mtl") && [ -n "$want" ] && [ "$got" = "$want" ]; then
  pass "tasks init and forward under model lookup: a standalone trainer as the in-process one"
else fail "tasks init and forward under model lookup: a standalone trainer as the in-process one" "$(cat "$tmp/err")
got:  $got
want: $want"; fi
bad=""
for name in _math MTL_H MTL_MODEL_H plain_H; do
  spec "$name" >"$tmp/$name.mtl"
  got=$(standalone "$name" "$tmp/$name.mtl") && [ "$got" = "$want_c" ] ||
    bad="$bad
model $name: $(head -c 600 "$tmp/err") $got"
done
if [ -z "$bad" ]; then pass "models named like header guards build and train standalone"
else fail "models named like header guards build and train standalone" "$bad"; fi
# a model named like a header trains in process; emit-c refuses it, since
# NAME.h would hide that header from a program compiled with -I on its folder
bad=""
for name in mtl mtl_kernel mtl_model math string stdint; do
  spec "$name" >"$tmp/$name.mtl"
  got=$(run "$tmp/$name.mtl" --backend c)
  [ "$got" = "$want_c" ] || bad="$bad
model $name, --backend c: $got"
  rm -rf "$tmp/out"
  if "$MTLC" emit-c "$tmp/$name.mtl" -o "$tmp/out" 2>"$tmp/err" || ! grep -q "would hide <$name.h>" "$tmp/err" ||
     [ -e "$tmp/out/$name.h" ]; then
    bad="$bad
model $name, emit-c: $(cat "$tmp/err")"
  fi
done
if [ -z "$bad" ]; then pass "models named like headers train in process; emit-c refuses them"
else fail "models named like headers train in process; emit-c refuses them" "$bad"; fi

spec main >"$tmp/main.mtl"
if "$MTLC" emit-c "$tmp/main.mtl" -o "$tmp/m" --main 2>"$tmp/err"; then
  fail "model main with --main is refused" "exit 0"
elif grep -q "model named 'main'" "$tmp/err" && [ ! -e "$tmp/m/main.c" ]; then
  pass "model main with --main is refused, nothing written"
else fail "model main with --main is refused, nothing written" "$(cat "$tmp/err"; ls "$tmp/m" 2>/dev/null)"; fi
if "$MTLC" emit-c "$tmp/main.mtl" -o "$tmp/m2" 2>"$tmp/err" && [ -s "$tmp/m2/main.c" ]; then
  pass "model main without --main emits main.c"
else fail "model main without --main emits main.c" "$(cat "$tmp/err")"; fi
