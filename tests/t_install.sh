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

if command -v man >/dev/null && out=$(MANWIDTH=100 man -l "$p/share/man/man1/mtlc.1" 2>&1) &&
   grep -q "^COMMANDS" <<<"$out" && grep -q "^       train SPEC" <<<"$out" &&
   grep -q "^       plot LOG -o FILE" <<<"$out" && grep -q "^EXIT STATUS" <<<"$out"; then
  pass "the man page mtlc(1) lists every command from the help"
else
  fail "the man page mtlc(1) lists every command from the help" "${out:-no man}"
fi
