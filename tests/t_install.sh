#!/usr/bin/env bash
# make install DESTDIR=...: the files it installs; the installed mtlc,
# moved away from where it was installed, finds its own headers and LLVM
# back end (not the source tree's); examples/standalone, copied out of the
# tree, builds against the installed files only (pkg-config, the shared
# runtime) and trains; the man page reads.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
B=$(dirname "$MTLC")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] install/$1"; }
fail() { echo "[FAIL] install/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }

d=$tmp/dest
if ! out=$(make -s B="$B" install DESTDIR="$d" PREFIX=/opt/mtlc 2>&1); then
  fail "make install DESTDIR=... PREFIX=..." "$out"
  exit 0
fi
p=$d/opt/mtlc
missing=""
for f in bin/mtlc lib/libmtlrt.a lib/libmtlrt.so lib/libmtlrt.so.0 lib/mtlc/libmtlc-llvm.so \
         include/mtlc/mtl.h include/mtlc/mtl_model.h include/mtlc/mtl_kernel.h \
         include/mtlc/mtl_dist.h include/mtlc/mtl_balance.h include/mtlc/mtl_balance.def \
         include/mtlc/mtl_mpi.c \
         lib/pkgconfig/mtlrt.pc share/man/man1/mtlc.1; do
  [ -e "$p/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ] && grep -q "^prefix=/opt/mtlc$" "$p/lib/pkgconfig/mtlrt.pc"; then
  pass "make install DESTDIR=... PREFIX=/opt/mtlc: mtlc, libmtlrt.a and .so, headers, mtlrt.pc, mtlc.1"
else
  fail "make install DESTDIR=... PREFIX=/opt/mtlc: mtlc, libmtlrt.a and .so, headers, mtlrt.pc, mtlc.1" "missing:$missing"
fi

# the installed tree moved elsewhere still works: nothing is found by a
# compiled-in path
mv "$p" "$tmp/moved"
p=$tmp/moved
cp specs/fashion_soft.mtl "$tmp/soft.mtl"
if out=$("$p/bin/mtlc" train "$tmp/soft.mtl" --limit 200 --epochs 1 --backend c -v 2>&1) &&
   grep -q -- "-I'$p/bin/../include/mtlc'" <<<"$out" && grep -q "^epoch 1/1" <<<"$out" &&
   out2=$("$p/bin/mtlc" train "$tmp/soft.mtl" --limit 200 --epochs 1 2>&1) && grep -q "^epoch 1/1" <<<"$out2"; then
  pass "the installed mtlc finds its runtime headers and LLVM back end beside itself"
else
  fail "the installed mtlc finds its runtime headers and LLVM back end beside itself" "$out ${out2:-}"
fi

# examples/standalone outside the tree, against the installed files only
ex=$tmp/example
cp -r examples/standalone "$ex"
cp specs/fashion_hard.mtl "$ex/"
rm -rf "$ex/gen" "$ex/train"
pc=(env PKG_CONFIG_PATH="$p/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR=)
sed -i "s|^prefix=.*|prefix=$p|" "$p/lib/pkgconfig/mtlrt.pc" # where it was moved to
if rt=$("${pc[@]}" pkg-config --cflags --libs --static mtlrt) &&
   out=$(make -s -C "$ex" TOP=/nonexistent MTLC="$p/bin/mtlc" SPEC=fashion_hard.mtl \
         RUNTIME="$rt -Wl,-rpath,$p/lib" 2>&1) &&
   ! grep -q "$PWD" <<<"$rt" && ldd "$ex/train" | grep -q "$p/lib/libmtlrt.so.0" &&
   out=$(cd "$ex" && ./train --epochs 1 --limit 300 --save m.safetensors 2>&1) &&
   grep -q "^epoch 1/1 .*test item acc" <<<"$out"; then
  pass "examples/standalone builds against the installed files only and trains"
else
  fail "examples/standalone builds against the installed files only and trains" "pkg-config: ${rt:-} $out"
fi

# the data-parallel form of the same trainer, from the installed files
# only: mtl_dist.h, mtl_balance.h and mtl_mpi.c beside the headers
if command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1; then
  n="a -DMTL_MPI standalone trainer builds against the installed files only and trains on 2 ranks"
  if out=$(mpicc -std=c11 -O2 -DMTL_MPI -I"$ex/gen" -o "$ex/train-mpi" "$ex/gen/main.c" \
             "$ex/gen/fashion_hard.c" "$p/include/mtlc/mtl_mpi.c" $rt -Wl,-rpath,"$p/lib" 2>&1) &&
     out=$(cd "$ex" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
             OMPI_MCA_btl_vader_single_copy_mechanism=none timeout 300 \
             mpirun --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1 ./train-mpi --epochs 1 --limit 300 2>&1) &&
     [ "$(grep -c "^epoch 1/1 .*test item acc" <<<"$out")" = 1 ]; then
    pass "$n"
  else
    fail "$n" "$out"
  fi
else
  echo "SKIP install/MPI standalone trainer: no mpicc or mpirun (tools/deps.sh --mpi)"
fi

if command -v man >/dev/null && out=$(MANWIDTH=100 man -l "$p/share/man/man1/mtlc.1" 2>&1) &&
   grep -q "^COMMANDS" <<<"$out" && grep -q "^       train SPEC" <<<"$out" &&
   grep -q "^       plot LOG -o FILE" <<<"$out" && grep -q "^EXIT STATUS" <<<"$out"; then
  pass "the man page mtlc(1) lists every command from the help"
else
  fail "the man page mtlc(1) lists every command from the help" "${out:-no man}"
fi
