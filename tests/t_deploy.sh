#!/usr/bin/env bash
# Ahead-of-time deployment: the inference-only form (emit-c --infer,
# emit-llvm --infer, mtlc predict).
#  - for every spec in specs/, a short-trained checkpoint: mtlc check-infer
#    compares the inference-only C with eval's forward pass on the whole
#    Fashion-MNIST test set (the same classes, logits within 1e-5); also at
#    batch 3 and for one task alone; tests/grad/'s specs on random inputs;
#  - the C compiles with gcc and clang-14 as -std=c99 -Wall -Wextra -Werror
#    -pedantic, with weights embedded, in a blob, or none; the object needs
#    nothing but libm and memcpy/memset/memcmp;
#  - nothing is allocated during NAME_predict (malloc wrapped and counted,
#    and a self-test that the count sees one); valgrind memcheck and
#    ASan/UBSan are clean;
#  - a wrong checkpoint (another spec's, truncated, wrong shapes, another
#    model's name) is a clear error, exit 1, nothing written;
#  - emit-llvm --infer --obj gives the C's classes and logits;
#  - mtlc predict reads IDX, .npy, CSV, PGM and PNG (gray and RGB, every
#    row filter) and agrees with itself;
#  - cross targets where installed: aarch64 under qemu equals the host
#    within 1e-5; a Cortex-M4 object, whose size is reported.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] deploy/$1"; }
fail() { echo "[FAIL] deploy/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/    /'; }
D=/usr/share/datasets/fashion-mnist
if [ ! -f $D/t10k-images-idx3-ubyte.gz ]; then
  echo "SKIP deploy: Fashion-MNIST is not in $D (tools/deps.sh installs it)"
  exit 0
fi
gzip -dc $D/t10k-images-idx3-ubyte.gz >"$tmp/t10k.idx"
# the MNIST specs run on Fashion-MNIST's files: the same shapes
mnist="--data train.image=$D/train-images-idx3-ubyte.gz --data train.digit=$D/train-labels-idx1-ubyte.gz"
mnist_test="--data test.image=$D/t10k-images-idx3-ubyte.gz --data test.digit=$D/t10k-labels-idx1-ubyte.gz"

# the specs' other data: tabular's made here (deterministic, small),
# cmudict's from npm (sh specs/data/cmudict.sh; tools/deps.sh --tests runs
# it) in the user's data folder, if it is there
home_data=${MTLC_DATA:-$HOME/.cache/mtlc}
mkdir -p "$tmp/data"
if ! out=$(sh specs/data/tabular.sh "$tmp/data" 2000 500 2>&1); then
  fail "tabular: its data (specs/data/tabular.sh)" "$out"
fi
[ -s "$home_data/cmudict/train_words.txt" ] && ln -s "$home_data/cmudict" "$tmp/data/cmudict"
export MTLC_DATA=$tmp/data

# 1. a checkpoint per spec, then check-infer on the whole test set
for f in specs/*.mtl; do
  n=$(basename "${f%.mtl}")
  if [ "$n" = cmudict ] && [ ! -s "$tmp/data/cmudict/train_words.txt" ]; then
    echo "SKIP deploy/cmudict: its data is not in $home_data/cmudict (sh specs/data/cmudict.sh fetches it with npm; tools/deps.sh --tests runs it)"
    continue
  fi
  data=""; tdata=""
  case $n in mnist_*) data="$mnist $mnist_test"; tdata="$mnist_test" ;; esac
  limit=1000; [ "$n" = fashion_resnet ] && limit=256
  if ! out=$("$MTLC" train "$f" --epochs 1 --limit $limit $data --save "$tmp/$n.ckpt" 2>&1); then
    fail "$n: a checkpoint to check with" "$out"; continue
  fi
  # shellcheck disable=SC2086
  want="on [0-9]+ test samples"; case $n in fashion_*|mnist_*) want="on 10000 test samples" ;; esac
  if out=$("$MTLC" check-infer "$f" --load "$tmp/$n.ckpt" $tdata 2>&1) && grep -qE "$want" <<<"$out"; then
    pass "$n: the inference-only C equals eval on the whole test set"
  else
    fail "$n: the inference-only C equals eval on the whole test set" "$out"
  fi
done
spec=specs/fashion_hard.mtl
ck=$tmp/fashion_hard.ckpt
if out=$("$MTLC" check-infer $spec --load "$ck" --batch 3 2>&1) && grep -q "on 9999 test samples" <<<"$out"; then
  pass "fashion_hard at batch 3 equals eval"
else fail "fashion_hard at batch 3 equals eval" "$out"; fi
if out=$("$MTLC" check-infer $spec --load "$ck" --task category 2>&1) && ! grep -q item_ <<<"$out" &&
   "$MTLC" emit-c $spec --infer --task category -o "$tmp/cat" 2>&1 && "$MTLC" emit-c $spec --infer -o "$tmp/both" &&
   ! grep -q "item" "$tmp/cat/fashion_hard.h" &&
   [ "$(grep -c '^  [a-z_0-9]*(' "$tmp/cat/fashion_hard.c")" -lt "$(grep -c '^  [a-z_0-9]*(' "$tmp/both/fashion_hard.c")" ]; then
  pass "--task category: only its head, and it equals eval"
else fail "--task category: only its head, and it equals eval" "$out"; fi

# the inference program: every batchnorm of fashion_resnet folded into its
# convolution (no running statistic left as a weight), all_layers' dropout
# gone (the training program has it)
r=$("$MTLC" kir specs/fashion_resnet.mtl --infer 2>&1)
d=$("$MTLC" kir tests/grad/all_layers.mtl --infer 2>&1); t=$("$MTLC" kir tests/grad/all_layers.mtl 2>&1)
if [ "$(grep -c '= fold weight(' <<<"$r")" = 6 ] && [ "$(grep -c '= fold bias(' <<<"$r")" = 6 ] &&
   ! grep -q 'running_' <<<"$(sed -n '/^weights/,$p' <<<"$r" | grep -v '= fold ')" &&
   grep -q dropout <<<"$t" && ! grep -qi dropout <<<"$d"; then
  pass "inference: fashion_resnet's six batchnorms folded into their convolutions; dropout gone"
else fail "inference: fashion_resnet's six batchnorms folded into their convolutions; dropout gone" "$(sed -n '/^weights/,$p' <<<"$r")"; fi

# the specs of tests/grad/ (every layer, binary and real tasks, batchnorm
# that does not fold, shared outputs): their initial parameters on random
# inputs, at batch 2
for f in tests/grad/*.mtl; do
  n=$(basename "${f%.mtl}")
  mkdir -p "$tmp/g_$n"
  if "$MTLC" bench "$f" --dump "$tmp/g_$n" --steps 1 --reps 1 >/dev/null 2>&1 &&
     out=$("$MTLC" check-infer "$f" --load "$tmp/g_$n/params.safetensors" --batch 2 2>&1) &&
     grep -q "on 256 random samples" <<<"$out"; then
    pass "$n: the inference-only C equals eval on random inputs at batch 2"
  else fail "$n: the inference-only C equals eval on random inputs at batch 2" "$out"; fi
done

# 2. C99, pedantic, on gcc and clang-14; the object needs only libm and the string functions
strict="-std=c99 -Wall -Wextra -Werror -pedantic"
ok=1; why=""
mkdir -p "$tmp/c99"
for f in specs/*.mtl; do
  n=$(basename "${f%.mtl}")
  "$MTLC" emit-c "$f" --infer -o "$tmp/c99/$n" 2>"$tmp/err" || { ok=0; why="$why $n: $(cat "$tmp/err")"; continue; }
  for cc in gcc clang-14; do
    command -v $cc >/dev/null || continue
    $cc $strict -O1 -c -o "$tmp/c99/$n/$cc.o" "$tmp/c99/$n/$n.c" 2>"$tmp/err" || { ok=0; why="$why $n ($cc): $(head -5 "$tmp/err")"; }
  done
  extra=$(nm -u "$tmp/c99/$n/gcc.o" | awk '{print $2}' | grep -vxE '(expf|logf|log1pf|tanhf|erff|sqrtf|memcpy|memset|memcmp)' || true)
  [ -z "$extra" ] || { ok=0; why="$why $n needs: $extra;"; }
done
if [ $ok = 1 ]; then pass "every spec's inference-only C is C99 for gcc and clang-14; it needs only libm and memcpy/memset/memcmp"
else fail "every spec's inference-only C is C99 for gcc and clang-14; it needs only libm and memcpy/memset/memcmp" "$why"; fi
if "$MTLC" emit-c $spec --infer --weights "$ck" -o "$tmp/emb" 2>"$tmp/err" &&
   grep -q "^static const float fashion_hard_w\[" "$tmp/emb/fashion_hard.c" &&
   { ! command -v clang-14 >/dev/null || clang-14 $strict -fsyntax-only "$tmp/emb/fashion_hard.c" 2>"$tmp/err"; }; then
  pass "weights embedded as static const arrays, C99 for clang-14"
else fail "weights embedded as static const arrays, C99 for clang-14" "$(cat "$tmp/err")"; fi

# 3. no allocation in predict; the blob's checks; valgrind, ASan and UBSan
b=$tmp/blob
"$MTLC" emit-c $spec --infer --weights "$ck" --weights-blob -o "$b" 2>/dev/null
wrap="-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free"
if gcc $strict -O2 -I"$b" -o "$b/noalloc" tests/deploy/noalloc.c "$b/fashion_hard.c" -lm $wrap 2>"$tmp/err" &&
   gcc $strict -O2 -DNOALLOC_SELFTEST -I"$b" -o "$b/noalloc_self" tests/deploy/noalloc.c "$b/fashion_hard.c" -lm $wrap 2>>"$tmp/err" &&
   out=$("$b/noalloc" "$b/fashion_hard.bin" "$tmp/t10k.idx" 20 2>&1) && ! "$b/noalloc_self" "$b/fashion_hard.bin" "$tmp/t10k.idx" 2 >/dev/null 2>&1; then
  pass "fashion_hard_predict allocates nothing (wrapped malloc, which sees a planted one); a damaged blob is refused"
else fail "fashion_hard_predict allocates nothing (wrapped malloc, which sees a planted one); a damaged blob is refused" "$(cat "$tmp/err") $(tail -1 <<<"$out")"; fi
classes=$(grep -v allocations <<<"$out")
if command -v valgrind >/dev/null; then
  if vout=$(valgrind -q --error-exitcode=9 "$b/noalloc" "$b/fashion_hard.bin" "$tmp/t10k.idx" 3 2>&1); then
    pass "valgrind memcheck: no error in predict"
  else fail "valgrind memcheck: no error in predict" "$vout"; fi
else echo "SKIP deploy/valgrind: not installed"; fi
if gcc -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -I"$b" -o "$b/asan" \
     tests/deploy/noalloc.c "$b/fashion_hard.c" -lm $wrap 2>"$tmp/err" &&
   aout=$("$b/asan" "$b/fashion_hard.bin" "$tmp/t10k.idx" 20 2>&1) && [ "$(grep -v allocations <<<"$aout")" = "$classes" ]; then
  pass "ASan and UBSan: clean, the same classes"
else fail "ASan and UBSan: clean, the same classes" "$(cat "$tmp/err") ${aout:-}"; fi

# 4. wrong checkpoints: a clear error, exit 1, nothing written
"$MTLC" bench specs/fashion_soft.mtl --dump "$tmp" --steps 1 --reps 1 >/dev/null 2>&1 && mv "$tmp/params.safetensors" "$tmp/soft.ckpt"
sed 's/dense(128) relu/dense(64) relu/' $spec >"$tmp/narrow.mtl"
"$MTLC" bench "$tmp/narrow.mtl" --dump "$tmp" --steps 1 --reps 1 >/dev/null 2>&1 && mv "$tmp/params.safetensors" "$tmp/narrow.ckpt"
sed 's/^model fashion_hard/model other_hard/' $spec >"$tmp/other.mtl"
"$MTLC" bench "$tmp/other.mtl" --dump "$tmp" --steps 1 --reps 1 >/dev/null 2>&1 && mv "$tmp/params.safetensors" "$tmp/other.ckpt"
head -c 5000 "$ck" >"$tmp/cut.ckpt"
for c in "soft.ckpt:network differs from model fashion_hard" "cut.ckpt:truncated" \
         "narrow.ckpt:shape \[128\], the model's is \[64\]|shape \[64, 3136\], the model's is \[128, 3136\]" \
         "other.ckpt:a checkpoint of model other_hard"; do
  file=${c%%:*}; want=${c#*:}
  out=$("$MTLC" emit-c $spec --infer --weights "$tmp/$file" -o "$tmp/bad_$file" 2>&1); rc=$?
  out2=$("$MTLC" emit-llvm $spec --infer --weights "$tmp/$file" --obj -o "$tmp/bad2_$file.o" 2>&1); rc2=$?
  if [ $rc = 1 ] && [ $rc2 = 1 ] && grep -qE "$want" <<<"$out" && grep -qE "$want" <<<"$out2" &&
     [ ! -e "$tmp/bad_$file" ] && [ ! -e "$tmp/bad2_$file.o" ] && [ ! -e "$tmp/fashion_hard.h" ]; then
    pass "a wrong checkpoint ($file): a clear error, nothing written"
  else fail "a wrong checkpoint ($file): a clear error, nothing written" "exit $rc/$rc2: $out / $out2"; fi
done

# a model whose NAME.h would hide a C header: refused, nothing written
sed 's/^model fashion_hard/model math/' $spec >"$tmp/math.mtl"
out=$("$MTLC" emit-c "$tmp/math.mtl" --infer -o "$tmp/math" 2>&1); rc=$?
mkdir -p "$tmp/md" && "$MTLC" bench "$tmp/math.mtl" --dump "$tmp/md" --steps 1 --reps 1 >/dev/null 2>&1
out2=$("$MTLC" emit-llvm "$tmp/math.mtl" --infer --weights "$tmp/md/params.safetensors" --obj -o "$tmp/math.o" 2>&1); rc2=$?
if [ $rc = 1 ] && grep -q "would hide <math.h>" <<<"$out" && [ ! -e "$tmp/math" ] &&
   [ $rc2 = 1 ] && grep -q "would hide <math.h>" <<<"$out2" && [ ! -e "$tmp/math.o" ] && [ ! -e "$tmp/math.h" ]; then
  pass "model math: refused, since its math.h would hide <math.h>; nothing written"
else fail "model math: refused, since its math.h would hide <math.h>; nothing written" "exit $rc/$rc2: $out / $out2"; fi

# 5. through LLVM: the same classes and logits as the C
ex=examples/deploy
mkdir -p "$tmp/llvm"
logits() { "$1" --logits --idx "$tmp/t10k.idx" 50 | sed 's/.*logits //'; }
close() { # FILE1 FILE2: every row within 1e-5 of the row's largest value (or of 1)
  paste -d' ' "$1" "$2" | awk '{ n = NF / 2; m = 1; for (i = 1; i <= n; i++) { a = $(i + n); if (a < 0) a = -a; if (a > m) m = a }
    for (i = 1; i <= n; i++) { d = $i - $(i + n); if (d < 0) d = -d; if (d > 1e-5 * m) bad = 1 } } END { exit bad || NR == 0 }'
}
if gcc $strict -O2 -I"$tmp/emb" -o "$tmp/classify_c" $ex/classify.c "$tmp/emb/fashion_hard.c" -lm 2>"$tmp/err" &&
   "$MTLC" emit-llvm $spec --infer --weights "$ck" --obj -o "$tmp/llvm/fashion_hard.o" 2>>"$tmp/err" &&
   gcc $strict -O2 -I"$tmp/llvm" -o "$tmp/classify_l" $ex/classify.c "$tmp/llvm/fashion_hard.o" -lm 2>>"$tmp/err" &&
   logits "$tmp/classify_c" >"$tmp/c.txt" && logits "$tmp/classify_l" >"$tmp/l.txt" &&
   "$tmp/classify_c" --idx "$tmp/t10k.idx" 50 | cut -d' ' -f2-4,7-9 >"$tmp/cc.txt" &&
   "$tmp/classify_l" --idx "$tmp/t10k.idx" 50 | cut -d' ' -f2-4,7-9 >"$tmp/lc.txt" &&
   cmp -s "$tmp/cc.txt" "$tmp/lc.txt" && close "$tmp/l.txt" "$tmp/c.txt"; then
  pass "emit-llvm --infer --obj: the C's classes, logits within 1e-5"
else fail "emit-llvm --infer --obj: the C's classes, logits within 1e-5" "$(cat "$tmp/err")"; fi

# 6. mtlc predict: IDX, .npy, CSV, PGM, PNG give the same predictions
if command -v python3 >/dev/null; then
  python3 - "$tmp" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
raw = open(d + "/t10k.idx", "rb").read()[16:16 + 784 * 3]
open(d + "/x.pgm", "wb").write(b"P5\n# a comment\n28 28\n255\n" + raw[:784])
def png(path, pix, w, h, rgb):  # 8-bit gray or RGB, row y filtered with type y % 5
    bpp = 3 if rgb else 1
    if rgb: pix = bytes(v for p in pix for v in (p, p, p))
    n, rows = w * bpp, b""
    for y in range(h):
        r, up = pix[y * n:(y + 1) * n], pix[(y - 1) * n:y * n] if y else bytes(n)
        out = []
        for x in range(n):
            a, b, c = r[x - bpp] if x >= bpp else 0, up[x], up[x - bpp] if x >= bpp else 0
            q = a + b - c
            paeth = a if abs(q - a) <= abs(q - b) and abs(q - a) <= abs(q - c) else b if abs(q - b) <= abs(q - c) else c
            out.append((r[x] - [0, a, b, (a + b) // 2, paeth][y % 5]) & 255)
        rows += bytes([y % 5] + out)
    ch = lambda t, b: struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + ch(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2 if rgb else 0, 0, 0, 0))
                           + ch(b"IDAT", zlib.compress(rows)) + ch(b"IEND", b""))
png(d + "/y.png", raw[784:1568], 28, 28, False)
png(d + "/z.png", raw[1568:], 28, 28, True)
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), }"
hdr += " " * (63 - len(hdr)) + "\n"
f4 = struct.pack("<%df" % len(raw), *[b / 255 for b in raw])
open(d + "/x.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + f4)
open(d + "/three.idx", "wb").write(struct.pack(">IIII", 0x803, 3, 28, 28) + raw)
open(d + "/x.csv", "w").write("\n".join(",".join(str(b / 255) for b in raw[i * 784:(i + 1) * 784]) for i in range(3)) + "\n")
PY
  cls() { "$MTLC" predict $spec --load "$ck" "$@" 2>&1 | awk 'NR > 1 { print $3, $4, $5, $6 }'; } # classes, probabilities
  a=$(cls "$tmp/x.pgm" "$tmp/y.png" "$tmp/z.png"); idx=$(cls "$tmp/three.idx")
  npy=$(cls "$tmp/x.npy"); csv=$(cls "$tmp/x.csv")
  json=$("$MTLC" predict $spec --load "$ck" "$tmp/x.pgm" --json 2>&1)
  if [ -n "$a" ] && [ "$a" = "$idx" ] && [ "$a" = "$npy" ] && [ "$a" = "$csv" ] &&
     [ "$(head -3 <<<"$classes")" = "$(awk '{ print $1, $3 }' <<<"$a")" ] && grep -q '"item": {"class": ' <<<"$json" &&
     python3 -c 'import json, sys; json.loads(sys.stdin.read())' <<<"$json"; then
    pass "predict: PGM, PNG, IDX, .npy and CSV give the inference-only C's classes; --json is JSON"
  else fail "predict: PGM, PNG, IDX, .npy and CSV give the inference-only C's classes; --json is JSON" "pgm/png: $a
idx: $idx
npy: $npy
csv: $csv
c: $(head -3 <<<"$classes")"; fi
  out=$("$MTLC" predict specs/fashion_resnet.mtl --load "$ck" "$tmp/x.pgm" 2>&1); rc=$?
  out2=$(printf 'P5\n27 28\n255\n' >"$tmp/bad.pgm"; "$MTLC" predict $spec --load "$ck" "$tmp/bad.pgm" 2>&1); rc2=$?
  if [ $rc = 1 ] && grep -q "fashion_hard.ckpt: tensor" <<<"$out" && [ $rc2 = 1 ] && grep -q "bad.pgm" <<<"$out2"; then
    pass "predict: a wrong checkpoint or image is a clear error"
  else fail "predict: a wrong checkpoint or image is a clear error" "$out / $out2"; fi
else
  echo "SKIP deploy/predict: no python3 to write the test images"
fi

# 7. cross targets
if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; then
  if aarch64-linux-gnu-gcc $strict -O2 -static -I"$tmp/emb" -o "$tmp/classify_a64" $ex/classify.c \
       "$tmp/emb/fashion_hard.c" -lm 2>"$tmp/err" &&
     qemu-aarch64 "$tmp/classify_a64" --logits --idx "$tmp/t10k.idx" 50 | sed 's/.*logits //' >"$tmp/a.txt" &&
     close "$tmp/a.txt" "$tmp/c.txt"; then
    pass "aarch64-linux-gnu-gcc, under qemu-aarch64: logits within 1e-5 of the host's"
  else fail "aarch64-linux-gnu-gcc, under qemu-aarch64: logits within 1e-5 of the host's" "$(cat "$tmp/err")"; fi
  mkdir -p "$tmp/la"
  if "$MTLC" emit-llvm $spec --infer --weights "$ck" --obj --target aarch64-linux-gnu -o "$tmp/la/fashion_hard.o" 2>"$tmp/err" &&
     aarch64-linux-gnu-gcc $strict -O2 -static -I"$tmp/la" -o "$tmp/la/classify" $ex/classify.c \
       "$tmp/la/fashion_hard.o" -lm 2>>"$tmp/err" &&
     qemu-aarch64 "$tmp/la/classify" --logits --idx "$tmp/t10k.idx" 50 | sed 's/.*logits //' >"$tmp/la.txt" &&
     close "$tmp/la.txt" "$tmp/c.txt"; then
    pass "emit-llvm --infer --target aarch64-linux-gnu, under qemu-aarch64: logits within 1e-5 of the host's"
  else fail "emit-llvm --infer --target aarch64-linux-gnu, under qemu-aarch64: logits within 1e-5 of the host's" "$(cat "$tmp/err")"; fi
else echo "SKIP deploy/aarch64: aarch64-linux-gnu-gcc or qemu-aarch64 missing (tools/deps.sh --cross)"; fi
if command -v arm-none-eabi-gcc >/dev/null; then
  m4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
  if (cd "$tmp/emb" && arm-none-eabi-gcc $m4 $strict -O2 -fstack-usage -c -o m4.o fashion_hard.c) 2>"$tmp/err"; then
    read -r text data bss <<<"$(arm-none-eabi-size "$tmp/emb/m4.o" | awk 'NR == 2 { print $1, $2, $3 }')"
    stack=$(awk -F'\t' '{ n = $2 + 0; if ($1 ~ /forward/ || $1 ~ /predict/) top += n; else if (n > k) k = n } END { print top + k }' "$tmp/emb/m4.su")
    ws=$(sed -n 's/^#define fashion_hard_WORKSPACE_BYTES //p' "$tmp/emb/fashion_hard.h")
    echo "    Cortex-M4 object, weights embedded: flash (text+rodata) $text bytes, data $data, bss $bss;" \
         "RAM: workspace $ws + stack $stack bytes"
    pass "arm-none-eabi-gcc -mcpu=cortex-m4 -mfloat-abi=hard: an object, sized"
  else fail "arm-none-eabi-gcc -mcpu=cortex-m4 -mfloat-abi=hard: an object, sized" "$(cat "$tmp/err")"; fi
else echo "SKIP deploy/cortex-m4: arm-none-eabi-gcc missing (tools/deps.sh --cross)"; fi
