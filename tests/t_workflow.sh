#!/usr/bin/env bash
# What a Keras or PyTorch user does around training (issue 16), end to end:
#  - a valid split: its metrics each epoch; the best epoch by a watched
#    value kept in CKPT.best beside the last, early stopping; the best
#    checkpoint is the epoch the log names and evaluates to its valid line;
#  - --data valid.x=/nonexistent, unknown splits and names: errors;
#  - a checkpoint of a spec whose optimizer changed: eval loads it, resume
#    starts the new optimizer fresh with a note; a changed network is
#    refused naming its tensors, and only them;
#  - normalize(auto) per column: the statistics in the checkpoint against
#    a hand computation; CSV bindings on the command line with columns
#    and a delimiter, a real[2] label, the hint for a ;-separated file;
#  - uint8 .npy images and IDX images read alike;
#  - [C, H, W] images normalized per channel, auto and given, against numpy;
#  - the regularizer's value in the epoch line and the log, against the
#    checkpoint's parameters;
#  - Ctrl-C: exit 130, what was saved and where;
#  - mtlc plot and mtlc graph: rendered, their content read back;
#  - per-command --help; the generated header under a C++ compiler; the
#    generated trainer's --help.
set -u
cd "$(dirname "$0")/.."
MTLC=${MTLC:-build/mtlc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "[PASS] workflow/$1"; }
fail() { echo "[FAIL] workflow/$1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 15 | sed 's/^/    /'; }
rtlib=$(dirname "$MTLC")/libmtlrt.a
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
fm=/usr/share/datasets/fashion-mnist

# 1. the valid split, the best checkpoint, early stopping
spec=tests/workflow/select.mtl
if out=$("$MTLC" train $spec --limit 600 --save "$tmp/m.safetensors" --log "$tmp/sel.log" 2>&1); then
  lines=$(wc -l <"$tmp/sel.log")
  if [ "$lines" -ge 3 ] && [ "$lines" -lt 40 ] && grep -q "^early stop: valid item.accuracy has not improved for 2 epochs" <<<"$out" &&
     [ "$(grep -c '"valid": {"item": {"loss": ' "$tmp/sel.log")" = "$lines" ] &&
     [ "$(grep -c '^epoch .* valid item acc .*, category acc ' <<<"$out")" = "$lines" ]; then
    pass "valid metrics each epoch; early stopping after 2 epochs without improvement"
  else
    fail "valid metrics each epoch; early stopping after 2 epochs without improvement" "$out"
  fi
  # the best checkpoint is the epoch the log says, and evaluates to its line
  if res=$($PY - "$tmp/sel.log" "$tmp/m.best.safetensors" "$tmp/m.safetensors" <<'EOF'
import json, sys
sys.path.insert(0, "tests")
from safetensors_read import metadata as meta
log = [json.loads(l) for l in open(sys.argv[1])]
best, last = log[-1]["best_epoch"], len(log)
accs = [l["valid"]["item"]["accuracy"] for l in log]
assert accs.index(max(accs)) + 1 == best, (accs, best)
assert [l["epoch"] for l in log if l["best"]][-1] == best
assert last - best == 2, (last, best)
assert int(meta(sys.argv[2])["epoch"]) == best and int(meta(sys.argv[3])["epoch"]) == last
# cosine(warmup=20) over 40 epochs of 19 steps: the rate of each epoch's last step
import math
for l in log:
    e = l["epoch"]
    want = 0.002 * (1 + math.cos(math.pi * (e - 1) / 40)) / 2 * min(1, e * 19 / 20)
    assert abs(l["lr"] - want) <= 1e-6 * want, (e, l["lr"], want)
l = log[best - 1]["valid"]
print(best, "%.4f" % l["item"]["accuracy"], "%.4f" % l["category"]["accuracy"])
EOF
  ) && read -r best acc cacc <<<"$res" &&
     ev=$("$MTLC" eval $spec --load "$tmp/m.best.safetensors" --split valid --limit 600 2>&1) &&
     grep -q "^item      acc $acc " <<<"$ev" && grep -q "^category  acc $cacc " <<<"$ev"; then
    pass "the best checkpoint is the epoch the log names ($best), and evaluates to its valid line"
  else
    fail "the best checkpoint is the epoch the log names, and evaluates to its valid line" "$res
${ev:-}"
  fi
else
  fail "training with a valid split" "$out"
fi

# 1b. step(every=1, gamma=0.5, warmup=30) at 10 steps an epoch: the warmup
#    multiplies the step schedule's rate by t/30 until step 30
sed -e 's/^model select/model steps/' -e 's/cosine(warmup=20)/step(every=1, gamma=0.5, warmup=30)/' \
    -e '/early_stop/d' $spec >"$tmp/steps.mtl"
if out=$("$MTLC" train "$tmp/steps.mtl" --limit 320 --epochs 4 --log "$tmp/steps.log" 2>&1) &&
   res=$($PY - "$tmp/steps.log" <<'EOF'
import json, sys
got = [json.loads(l)["lr"] for l in open(sys.argv[1])]
want = [0.002 * 10 / 30, 0.002 * 0.5 * 20 / 30, 0.002 * 0.25, 0.002 * 0.125]
assert len(got) == 4 and all(abs(g - w) <= 1e-6 * w for g, w in zip(got, want)), (got, want)
print("ok")
EOF
   ) && [ "$res" = ok ]; then
  pass "step(every=1, gamma=0.5, warmup=30): each epoch's rate as the formula says"
else
  fail "step(every=1, gamma=0.5, warmup=30): each epoch's rate as the formula says" "$out ${res:-}"
fi

# 2. data errors: a missing valid file, an unknown split, name or derived label
bad() { # name expected-substring command...
  local name=$1 want=$2; shift 2
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 1 ] && grep -qF -- "$want" <<<"$out"; then pass "$name"; else fail "$name" "exit $rc, want 1 and '$want' in: $out"; fi
}
bad "a missing valid file is an error naming it" "/nonexistent" \
  "$MTLC" train $spec --limit 100 --epochs 1 --data valid.image=/nonexistent
bad "--data with an unknown split lists the splits" "no split 'validation'; the splits are train, test and valid" \
  "$MTLC" train $spec --limit 100 --epochs 1 --data validation.image=$fm/t10k-images-idx3-ubyte.gz
bad "--data with an unknown name lists what can be bound" "no input or label 'images'; --data binds image, item" \
  "$MTLC" train $spec --limit 100 --epochs 1 --data train.images=$fm/t10k-images-idx3-ubyte.gz
bad "--best without a valid split is an error" "--best item.accuracy watches the valid split, which is not bound" \
  "$MTLC" train specs/fashion_soft.mtl --limit 50 --epochs 1 --best item.accuracy
bad "--data of a derived label says so" "derived from task item" \
  "$MTLC" eval $spec --load "$tmp/m.safetensors" --data test.category=$fm/t10k-labels-idx1-ubyte.gz

# 3. another optimizer: eval and resume; another network: its tensors named
sgd=$tmp/opt.mtl
sed -e 's/^model select/model opt/' -e 's/rmsprop(lr=0.002, momentum=0.5)/sgd(lr=0.01, momentum=0.9)/' \
    -e '/early_stop/d' $spec >"$sgd"
sed 's/sgd(lr=0.01, momentum=0.9)/adam(lr=0.001)/' "$sgd" >"$tmp/adam.mtl"
sed 's/dense(32) relu }/dense(32) relu dense(32) relu }/' "$tmp/adam.mtl" >"$tmp/deeper.mtl"
if "$MTLC" train "$sgd" --limit 300 --epochs 1 --save "$tmp/sgd.st" >/dev/null 2>&1 &&
   a=$("$MTLC" eval "$sgd" --load "$tmp/sgd.st" --limit 300 --split valid 2>&1) &&
   b=$("$MTLC" eval "$tmp/adam.mtl" --load "$tmp/sgd.st" --limit 300 --split valid 2>&1) && [ "$a" = "$b" ]; then
  pass "eval of a checkpoint whose spec changed only its optimizer"
else
  fail "eval of a checkpoint whose spec changed only its optimizer" "${a:-} / ${b:-}"
fi
if out=$("$MTLC" train "$tmp/adam.mtl" --limit 300 --epochs 2 --resume "$tmp/sgd.st" --save "$tmp/adam.st" 2>&1) &&
   grep -q "note: $tmp/sgd.st holds no adam state (it was saved with sgd); it starts fresh at step 10" <<<"$out" &&
   grep -q "^epoch 2/2" <<<"$out" && ! grep -q "^epoch 1/2" <<<"$out"; then
  pass "resume with another optimizer starts its state fresh, with a note"
else
  fail "resume with another optimizer starts its state fresh, with a note" "$out"
fi
out=$("$MTLC" eval "$tmp/deeper.mtl" --load "$tmp/sgd.st" --limit 10 2>&1); rc=$?
if [ $rc = 1 ] && grep -q "the network differs from model opt's: tensor tower.item.dense2.weight is missing" <<<"$out" &&
   ! grep -q "velocity\|\.m\b" <<<"$out"; then
  pass "a changed network is refused, naming its tensors and not the optimizer's"
else
  fail "a changed network is refused, naming its tensors and not the optimizer's" "exit $rc: $out"
fi

# 4. CSV: normalize(auto) per column against a hand computation; bindings
#    on the command line with columns and a delimiter; the ;-hint
cp tests/workflow/auto.mtl "$tmp/auto.mtl"
awk 'BEGIN { srand(3); print "a;b;c;y1;y2"; for (i = 0; i < 40; i++)
  printf "%.3f;%.3f;%.3f;%.3f;%.3f\n", rand() * 10, 100 + rand(), -rand() * 1000, rand(), rand() }' >"$tmp/cols.csv"
if "$MTLC" train "$tmp/auto.mtl" --save "$tmp/auto.st" >/dev/null 2>&1 &&
   res=$($PY - "$tmp/cols.csv" "$tmp/auto.st" <<'EOF'
import math, struct, sys
sys.path.insert(0, "tests")
from safetensors_read import tensors
f32 = lambda v: struct.unpack("f", struct.pack("f", float(v)))[0]  # the data are float
rows = [[f32(v) for v in l.split(";")] for l in open(sys.argv[1]).read().split("\n")[1:] if l]
t = tensors(sys.argv[2]).__getitem__
for c in range(3):
    col = [r[c] for r in rows]
    mean = sum(col) / len(col)
    std = math.sqrt(sum((v - mean) ** 2 for v in col) / len(col))
    got_m, got_s = t("x.normalize.mean")[c], t("x.normalize.std")[c]
    assert abs(got_m - mean) <= 1e-6 * abs(mean) and abs(got_s - std) <= 1e-6 * std, (c, got_m, mean, got_s, std)
print("ok")
EOF
   ) && [ "$res" = ok ]; then
  pass "normalize(auto): each column's mean and std, against a hand computation"
else
  fail "normalize(auto): each column's mean and std, against a hand computation" "${res:-training failed}"
fi
awk 'BEGIN { srand(4); for (i = 0; i < 40; i++) printf "%.3f;%.3f;%.3f;%.3f;%.3f\n", rand(), rand(), rand(), rand(), rand() }' >"$tmp/small.csv"
tr ';' ',' <"$tmp/small.csv" >"$tmp/comma.csv"
csv=(--data "train.x=$tmp/small.csv:columns=0-2:delimiter=;" --data "train.y=$tmp/small.csv:columns=3,4:delimiter=;"
     --data "test.x=$tmp/comma.csv:columns=0-2" --data "test.y=$tmp/comma.csv:columns=3-4")
if out=$("$MTLC" train tests/workflow/columns.mtl "${csv[@]}" --log "$tmp/col.log" 2>&1) &&
   grep -q '"test": {"y": {"loss": [0-9.e-]*, "mse": ' "$tmp/col.log"; then
  pass "CSV bindings on the command line: columns, a delimiter, a real[2] label"
else
  fail "CSV bindings on the command line: columns, a delimiter, a real[2] label" "$out"
fi
bad "a ;-separated file read with commas gets a hint" "looks semicolon-separated" \
  "$MTLC" train tests/workflow/columns.mtl --data "train.x=$tmp/cols.csv:columns=0-2" \
  --data "train.y=$tmp/cols.csv:columns=3-4"

# 5. uint8 .npy images are scaled to [0, 1] as IDX images are
if $PY -c 'import numpy' 2>/dev/null; then
  $PY - "$fm/t10k-images-idx3-ubyte.gz" "$fm/t10k-labels-idx1-ubyte.gz" "$tmp" <<'EOF'
import gzip, sys
import numpy as np
raw, lab = gzip.open(sys.argv[1]).read(), gzip.open(sys.argv[2]).read()
np.save(sys.argv[3] + "/img.npy", np.frombuffer(raw[16:16 + 500 * 784], dtype=np.uint8).reshape(500, 28, 28))
np.save(sys.argv[3] + "/lab.npy", np.frombuffer(lab[8:8 + 500], dtype=np.uint8).astype(np.int64))
EOF
  a=$("$MTLC" eval $spec --load "$tmp/m.safetensors" --split valid --limit 500 2>&1)
  b=$("$MTLC" eval $spec --load "$tmp/m.safetensors" --split valid --data valid.image="$tmp/img.npy" \
      --data valid.item="$tmp/lab.npy" 2>&1)
  if [ -n "$a" ] && [ "$a" = "$b" ]; then pass "uint8 .npy images read as IDX images are"
  else fail "uint8 .npy images read as IDX images are" "IDX: $a
npy: $b"; fi
else
  echo "SKIP workflow/uint8 .npy images: no numpy for $PY"
fi

# 5b. images normalized per channel ([C, H, W]: channel c is the first
#    dimension): normalize(auto)'s statistics against numpy's over axes
#    (0, 2, 3); normalize(mean=[...], std=[...]) evaluates as the same data
#    normalized by numpy does
if $PY -c 'import numpy' 2>/dev/null; then
  $PY - "$tmp" <<'EOF'
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.random((64, 3, 4, 4), dtype=np.float32)
x *= np.array([1, 10, 100], dtype=np.float32)[None, :, None, None]
x += np.array([0, -5, 30], dtype=np.float32)[None, :, None, None]
np.save(d + "/chw.npy", x)
np.save(d + "/chw_y.npy", (x[:, 1].mean(axis=(1, 2)) > 0).astype(np.int64))
m = np.array([0.5, 0.25, 80], dtype=np.float32)[None, :, None, None]
s = np.array([0.3, 3, 30], dtype=np.float32)[None, :, None, None]
np.save(d + "/chw_norm.npy", ((x - m) / s).astype(np.float32))
EOF
  chw() { # NAME NORMALIZE: a spec over $tmp/chw.npy
    printf '%s\n' "model $1" "input image: f32[3, 4, 4]" \
      "data train { image: \"chw.npy\"$2  y: \"chw_y.npy\" }" \
      "data test  { image: \"chw.npy\"$2  y: \"chw_y.npy\" }" \
      "task y { label: class(2)  net: image -> flatten dense(2) }" \
      "train { optimizer: sgd(lr=0.1)  batch: 8  epochs: 2  seed: 3 }" >"$tmp/$1.mtl"
  }
  chw chw_auto ", normalize(auto)"
  if "$MTLC" train "$tmp/chw_auto.mtl" --save "$tmp/chw_auto.st" >/dev/null 2>&1 &&
     res=$($PY - "$tmp/chw.npy" "$tmp/chw_auto.st" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, "tests")
from safetensors_read import tensors
x = np.load(sys.argv[1]).astype(np.float64)
t = tensors(sys.argv[2])
mean, std = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
got_m, got_s = np.array(t["image.normalize.mean"]), np.array(t["image.normalize.std"])
assert got_m.shape == (3,) and np.allclose(got_m, mean, rtol=1e-6, atol=1e-6), (got_m, mean)
assert np.allclose(got_s, std, rtol=1e-6), (got_s, std)
print("ok")
EOF
     ) && [ "$res" = ok ]; then
    pass "normalize(auto) on [C, H, W] images: one mean and std per channel, as numpy computes them"
  else
    fail "normalize(auto) on [C, H, W] images: one mean and std per channel, as numpy computes them" "${res:-training failed}"
  fi
  chw chw_given ", normalize(mean=[0.5, 0.25, 80], std=[0.3, 3, 30])"
  chw chw_pre ""
  sed -i 's/chw\.npy/chw_norm.npy/g' "$tmp/chw_pre.mtl"
  if "$MTLC" train "$tmp/chw_given.mtl" --save "$tmp/chw_given.st" >/dev/null 2>&1 &&
     a=$("$MTLC" eval "$tmp/chw_given.mtl" --load "$tmp/chw_given.st" 2>&1) &&
     b=$("$MTLC" eval "$tmp/chw_pre.mtl" --load "$tmp/chw_given.st" 2>&1) && [ -n "$a" ] && [ "$a" = "$b" ] &&
     c=$("$MTLC" eval "$tmp/chw_auto.mtl" --load "$tmp/chw_auto.st" 2>&1) && [ "$a" != "$c" ]; then
    pass "normalize(mean=[...], std=[...]) per image channel: as the data normalized by numpy"
  else
    fail "normalize(mean=[...], std=[...]) per image channel: as the data normalized by numpy" "given: ${a:-}
numpy: ${b:-}"
  fi
else
  echo "SKIP workflow/per-channel normalize: no numpy for $PY"
fi

# 6. the regularizer's value: lr so small the parameters stay put, so each
#    step's l2_distance is the initial one, computed from the checkpoint
sed -e 's/rmsprop(lr=0.002, momentum=0.5)/sgd(lr=1e-30)/' -e '/early_stop/d' -e '/clip/d' \
    -e 's/cosine(warmup=20)/constant/' $spec >"$tmp/still.mtl"
if out=$("$MTLC" train "$tmp/still.mtl" --limit 64 --epochs 1 --save "$tmp/still.st" --log "$tmp/still.log" 2>&1) &&
   grep -q "^epoch 1/1 .* reg l2_distance(tower) [0-9.]* " <<<"$out" &&
   res=$($PY - "$tmp/still.log" "$tmp/still.st" <<'EOF'
import json, sys
sys.path.insert(0, "tests")
from safetensors_read import tensors
got = json.loads(open(sys.argv[1]).readline())["reg"]["l2_distance(tower)"]
t = tensors(sys.argv[2]).__getitem__
sq = sum((x - y) ** 2 for w in ("weight", "bias")
         for x, y in zip(t("tower.item.dense1." + w), t("tower.category.dense1." + w)))
want = 0.001 * 2 * sq  # ordered pairs: item-category and category-item
assert abs(got - want) <= 1e-4 * want, (got, want)
print("ok", got, want)
EOF
   ); then
  pass "the epoch line and the log carry the regularizer's value ($res)"
else
  fail "the epoch line and the log carry the regularizer's value" "$out ${res:-}"
fi

# 7. Ctrl-C: exit 130, what was saved and where, the checkpoint good
"$MTLC" train "$sgd" --limit 2000 --epochs 1000 --save "$tmp/int.st" >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for i in $(seq 1 600); do [ -s "$tmp/int.st" ] && break; sleep 0.1; done
sleep 0.3
kill -INT $pid
wait $pid; rc=$?
if [ $rc = 130 ] && grep -q "^mtlc: interrupted in epoch [0-9]*, after step [0-9]* of 63" "$tmp/int.err" &&
   grep -q "^mtlc: $tmp/int.st holds epoch [0-9]*.*; --resume $tmp/int.st continues from it" "$tmp/int.err" &&
   "$MTLC" eval "$sgd" --load "$tmp/int.st" --split valid --limit 100 >/dev/null 2>&1; then
  pass "Ctrl-C exits 130 and says what was saved where"
else
  fail "Ctrl-C exits 130 and says what was saved where" "exit $rc: $(cat "$tmp/int.err")"
fi

# 8. mtlc plot: SVG and PNG; each curve's values and points against the log
if "$MTLC" plot "$tmp/sel.log" -o "$tmp/curves.svg" 2>"$tmp/plot.err" &&
   res=$($PY - "$tmp/sel.log" "$tmp/curves.svg" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
log = [json.loads(l) for l in open(sys.argv[1])]
svg = ET.parse(sys.argv[2]).getroot()
ns = "{http://www.w3.org/2000/svg}"
panels = {(g.get("data-group"), g.get("data-title")): g for g in svg.iter(ns + "g") if g.get("class") == "panel"}
want = {("item", "loss"): {"train": [l["train_loss"]["item"] for l in log],
                           "valid": [l["valid"]["item"]["loss"] for l in log]},
        ("item", "accuracy"): {"valid": [l["valid"]["item"]["accuracy"] for l in log]},
        ("category", "loss"): {"train": [l["train_loss"]["category"] for l in log]},
        ("category", "accuracy"): {"valid": [l["valid"]["category"]["accuracy"] for l in log]},
        ("", "regularizers"): {"l2_distance(tower)": [l["reg"]["l2_distance(tower)"] for l in log]},
        ("", "learning rate"): {"lr": [l["lr"] for l in log]}}
for key, series in want.items():
    g = panels[key]
    y0, h = float(g.get("data-y0")), float(g.get("data-h"))
    ylo, yhi = float(g.get("data-ylo")), float(g.get("data-yhi"))
    lines = {p.get("data-name"): p for p in g.iter(ns + "polyline")}
    legend = [t.text for t in g.iter(ns + "text")]
    for name, values in series.items():
        p = lines[name]
        got = [float(v) for v in p.get("data-values").split(",")]
        assert all(abs(a - b) <= 1e-6 * max(abs(b), 1e-9) for a, b in zip(got, values)), (key, name)
        pts = [tuple(map(float, q.split(","))) for q in p.get("points").split()]
        assert len(pts) == len(values) and all(b[0] > a[0] for a, b in zip(pts, pts[1:]))
        for (x, y), v in zip(pts, values):  # the point is where the value is
            assert abs(y - (y0 + h - (v - ylo) / (yhi - ylo) * h)) < 0.01, (key, name, y, v)
        assert name in legend, (key, name, legend)
best = [e for e in svg.iter(ns + "line") if e.get("class") == "best"]
assert len(best) == len(panels) and "best epoch, %d" % log[-1]["best_epoch"] in ET.tostring(svg, encoding="unicode")
print(len(panels), "panels")
EOF
   ); then
  pass "mtlc plot: $res, each curve at its log values, legends, the best epoch"
else
  fail "mtlc plot: each curve at its log values, legends, the best epoch" "$(cat "$tmp/plot.err") ${res:-}"
fi
# a balancing method's per-task weights, as a log line may carry them:
# a panel of their own, a curve per task
$PY - "$tmp/sel.log" >"$tmp/w.log" <<'EOF'
import json, sys
for i, l in enumerate(open(sys.argv[1])):
    d = json.loads(l)
    d["weights"] = {"item": 1 + 0.1 * i, "category": 1 - 0.1 * i}
    print(json.dumps(d))
EOF
if "$MTLC" plot "$tmp/w.log" -o "$tmp/w.svg" 2>"$tmp/plot.err" &&
   res=$($PY - "$tmp/w.log" "$tmp/w.svg" <<'EOF'
import json, sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
log = [json.loads(l) for l in open(sys.argv[1])]
g = [g for g in ET.parse(sys.argv[2]).getroot().iter(ns + "g")
     if g.get("class") == "panel" and g.get("data-title") == "weights"]
assert len(g) == 1, "no weights panel"
lines = {p.get("data-name"): [float(v) for v in p.get("data-values").split(",")] for p in g[0].iter(ns + "polyline")}
for task in ("item", "category"):
    want = [l["weights"][task] for l in log]
    assert all(abs(a - b) < 1e-9 for a, b in zip(lines[task], want)), (task, lines, want)
print("ok")
EOF
   ) && [ "$res" = ok ]; then
  pass "mtlc plot: balancing weights in the log get a panel, a curve per task"
else
  fail "mtlc plot: balancing weights in the log get a panel, a curve per task" "$(cat "$tmp/plot.err") ${res:-}"
fi
if command -v rsvg-convert >/dev/null; then
  if "$MTLC" plot "$tmp/sel.log" -o "$tmp/curves.png" && [ "$(head -c 8 "$tmp/curves.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
     [ "$(od -An -tu1 -j16 -N8 "$tmp/curves.png" | awk '{ print $3 * 256 + $4, $7 * 256 + $8 }')" = "$(sed -n 's/.*<svg[^>]* width="\([0-9]*\)" height="\([0-9]*\)".*/\1 \2/p' "$tmp/curves.svg")" ]; then
    pass "mtlc plot -o FILE.png renders the picture"
  else
    fail "mtlc plot -o FILE.png renders the picture"
  fi
else
  echo "SKIP workflow/mtlc plot -o FILE.png: no rsvg-convert (apt-get install librsvg2-bin)"
fi
bad "mtlc plot of a file that is not a log" "not a JSON object" "$MTLC" plot $spec -o "$tmp/x.svg"

# 9. mtlc graph: clusters per task, the shared block apart, shapes on edges
if command -v dot >/dev/null; then
  if "$MTLC" graph specs/fashion_hard.mtl -o "$tmp/hard.svg" && "$MTLC" graph specs/fashion_soft.mtl -o "$tmp/soft.png" &&
     "$MTLC" graph specs/fashion_soft.mtl -o "$tmp/soft.svg" &&
     res=$($PY - "$tmp/hard.svg" "$tmp/soft.svg" <<'EOF'
import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
import re
def texts(g):
    return " ".join(t.text or "" for t in g.iter(ns + "text"))
def box(g):  # the bounding box of a cluster's outline
    shape = g.find(ns + "path")
    if shape is None:
        shape = g.find(ns + "polygon")
    v = [float(x) for x in re.findall(r"-?[0-9.]+", shape.get("d") or shape.get("points"))]
    return min(v[0::2]), min(v[1::2]), max(v[0::2]), max(v[1::2])
def parse(p):
    root = ET.parse(p).getroot()
    gs = [g for g in root.iter(ns + "g")]
    nodes = {texts(g): g for g in gs if g.get("class") == "node"}
    clusters = {}
    for g in gs:  # a cluster's label, then the nodes drawn inside it
        if g.get("class") == "cluster":
            x0, y0, x1, y1 = box(g)
            inside = [k for k, n in nodes.items()
                      if x0 <= float(n.find(ns + "text").get("x")) <= x1 and y0 <= float(n.find(ns + "text").get("y")) <= y1]
            clusters[g.find(ns + "title").text] = texts(g) + " | " + " | ".join(inside)
    edges = [texts(g) for g in gs if g.get("class") == "edge"]
    return clusters, edges, list(nodes)
c, e, n = parse(sys.argv[1])
assert c["cluster_shared_0"].startswith("shared trunk: one copy, used by item, category"), c
assert "task item" in c["cluster_task_0"] and "dense(10)" in c["cluster_task_0"], c
assert "task category" in c["cluster_task_1"] and "dense(5)" in c["cluster_task_1"]
assert "conv2d(32, kernel=3, pad=1)" in c["cluster_shared_0"] and "dense(10)" not in c["cluster_shared_0"]
for shape in ["[1, 28, 28]", "[32, 28, 28]", "[64, 7, 7]", "[3136]", "[128]", "[10]", "[5]"]:
    assert any(shape in x for x in e), shape
assert sum("[128]" in x for x in e) >= 3  # the trunk's output to both heads
assert any("input image f32[1, 28, 28]" in x for x in n)
c, e, n = parse(sys.argv[2])
assert "private tower: item's copy" in c["cluster_copy_0_0"] and "private tower: category's copy" in c["cluster_copy_1_0"]
assert not any(k.startswith("cluster_shared") for k in c)
assert any("l2_distance(tower, lambda=0.001)" in x for x in n)
print("ok")
EOF
     ) && [ "$(head -c 4 "$tmp/soft.png" | od -An -c | tr -d ' ')" = "211PNG" ]; then
    pass "mtlc graph: one cluster per task, shared and private blocks, shapes on the edges; SVG and PNG"
  else
    fail "mtlc graph: one cluster per task, shared and private blocks, shapes on the edges; SVG and PNG" "${res:-}"
  fi
  if "$MTLC" graph specs/fashion_hard.mtl -o "$tmp/hard.dot" && grep -q "^digraph \"fashion_hard\"" "$tmp/hard.dot"; then
    pass "mtlc graph -o FILE.dot writes the Graphviz text"
  else
    fail "mtlc graph -o FILE.dot writes the Graphviz text"
  fi
  # experts: a cluster per shared expert, each task's gate, own experts and
  # gated sum in that task; every node an edge names is drawn (declared)
  if "$MTLC" graph specs/fashion_cgc.mtl -o "$tmp/cgc.dot" && "$MTLC" graph specs/fashion_stitch.mtl -o "$tmp/stitch.dot" &&
     res=$($PY - "$tmp/cgc.dot" "$tmp/stitch.dot" <<'PY'
import re, sys
bad = []
for path in sys.argv[1:]:
    t = open(path).read()
    decl = set(re.findall(r"^\s*(v\d+|loss\d+|reg\d+) \[label", t, re.M))
    used = set(re.findall(r"(v\d+|loss\d+|reg\d+) ->", t)) | set(re.findall(r"-> (v\d+|loss\d+)", t))
    if used - decl:
        bad.append(f"{path}: edges name undeclared nodes {sorted(used - decl)}")
cgc = open(sys.argv[1]).read()
if cgc.count("subgraph cluster_expert_") != 2:
    bad.append("cgc: not one cluster per shared expert (2)")
for task in ("item", "category"):
    if f"experts mix: {task}'s gate, own experts and gated sum" not in cgc:
        bad.append(f"cgc: no cluster of {task}'s gate and own experts")
if cgc.count('gate: dense(3) softmax') != 2 or cgc.count('"gated sum"') != 2:
    bad.append("cgc: not one gate (dense(3) softmax) and one gated sum per task")
if "stitch" not in open(sys.argv[2]).read():
    bad.append("stitch: no stitch node")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    pass "mtlc graph: experts in a cluster each, a gate and a gated sum per task, cross-stitch drawn"
  else
    fail "mtlc graph: experts in a cluster each, a gate and a gated sum per task, cross-stitch drawn" "${res:-}"
  fi
else
  echo "SKIP workflow/mtlc graph: no Graphviz dot (apt-get install graphviz)"
fi

# 9b. normalize(auto) in predict and deployment: predict's classes score
# what eval scores; emit-c --infer's header carries the checkpoint's
# statistics
if [ -x "$PY" ]; then
  mkdir -p "$tmp/na"
  cat >"$tmp/na/auto.mtl" <<'SPEC'
model autonorm
input image: f32[1, 28, 28]
data train {
    image: "fashion-mnist/train-images-idx3-ubyte.gz", normalize(auto)
    item:  "fashion-mnist/train-labels-idx1-ubyte.gz"
}
data test {
    image: "fashion-mnist/t10k-images-idx3-ubyte.gz", normalize(auto)
    item:  "fashion-mnist/t10k-labels-idx1-ubyte.gz"
}
task item { label: class(10)  net: image -> flatten dense(10) }
train { optimizer: sgd(lr=0.1)  batch: 64  epochs: 1 }
SPEC
  fm=/usr/share/datasets/fashion-mnist
  if "$MTLC" train "$tmp/na/auto.mtl" --limit 2000 --save "$tmp/na/a.ckpt" >/dev/null 2>&1 &&
     ev=$("$MTLC" eval "$tmp/na/auto.mtl" --load "$tmp/na/a.ckpt" 2>&1) &&
     "$MTLC" predict "$tmp/na/auto.mtl" --load "$tmp/na/a.ckpt" $fm/t10k-images-idx3-ubyte.gz --json >"$tmp/na/p.json" 2>/dev/null &&
     "$MTLC" emit-c "$tmp/na/auto.mtl" --infer --weights "$tmp/na/a.ckpt" -o "$tmp/na/out" >/dev/null 2>&1 &&
     res=$($PY - "$tmp/na" "$ev" $fm/t10k-labels-idx1-ubyte.gz <<'PY'
import gzip, json, re, struct, sys
d, ev, labels = sys.argv[1], sys.argv[2], sys.argv[3]
bad = []
p = json.load(open(f"{d}/p.json"))["predictions"]
lab = gzip.open(labels).read()[8:]
acc = sum(x["item"]["class"] == lab[i] for i, x in enumerate(p)) / len(p)
want = float(re.search(r"item\s+acc ([0-9.]+)", ev).group(1))
if len(p) != 10000 or abs(acc - want) > 1e-9:
    bad.append(f"predict scores {acc:.4f} on {len(p)} samples, eval {want:.4f}")
raw = open(f"{d}/a.ckpt", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
def tensor(name):
    a, b = hdr[name]["data_offsets"]
    return struct.unpack(f"<{(b - a) // 4}f", raw[8 + n + a:8 + n + b])
h = open(f"{d}/out/autonorm.h").read()
for k, name in (("MEAN", "image.normalize.mean"), ("STD", "image.normalize.std")):
    got = float(re.search(rf"#define autonorm_image_{k} ([-0-9.e]+)f", h).group(1))
    if abs(got - tensor(name)[0]) > 1e-7 * abs(got):
        bad.append(f"header {k} {got} is not the checkpoint's {tensor(name)[0]}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    pass "normalize(auto): predict scores what eval does; emit-c --infer's header has the checkpoint's statistics"
  else
    fail "normalize(auto): predict scores what eval does; emit-c --infer's header has the checkpoint's statistics" "${res:-$ev}"
  fi
fi

# 10. help: per command; the generated trainer's; extern "C" for C++
if out=$("$MTLC" train --help) && grep -q "^usage: mtlc train SPEC" <<<"$out" && grep -q -- "--best" <<<"$out" &&
   ! grep -q "^  check SPEC" <<<"$out" && [ "$("$MTLC" help train)" = "$out" ] &&
   "$MTLC" --help | grep -q "^  plot LOG -o FILE"; then
  pass "mtlc train --help shows train's help"
else
  fail "mtlc train --help shows train's help" "$out"
fi
g=$tmp/gen
if "$MTLC" emit-c specs/fashion_soft.mtl -o "$g" --main >/dev/null 2>&1 &&
   cc -std=c11 -O1 -Iruntime -I"$g" -o "$g/train" "$g/main.c" "$g/fashion_soft.c" "$rtlib" \
      -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lz -lm 2>"$tmp/cc.err" &&
   out=$("$g/train" --help) && grep -q "^usage: $g/train \[options\]" <<<"$out" &&
   grep -q -- "--data SPLIT.NAME=PATH\[:OPTIONS\]" <<<"$out" && grep -q -- "--batch N  *samples per step, 1 to 64" <<<"$out"; then
  pass "the generated trainer's --help says what each flag wants"
else
  fail "the generated trainer's --help says what each flag wants" "$(cat "$tmp/cc.err" 2>/dev/null) ${out:-}"
fi
bad2() { out=$("$@" 2>&1); rc=$?; [ $rc = 1 ] && grep -q "$want" <<<"$out"; }
want="unknown option '--epoch'"
if bad2 "$g/train" --epoch 3; then pass "the generated trainer refuses an unknown flag, exit 1"
else fail "the generated trainer refuses an unknown flag, exit 1" "exit $rc: $out"; fi
if command -v c++ >/dev/null; then
  cat >"$tmp/use.cpp" <<'EOF'
#include <cstdio>
#include "mtl.h"
#include "fashion_soft.h"
int main() {
  std::printf("%s %d tasks %lld params\n", fashion_soft_info.name, fashion_soft_info.n_tasks,
              (long long)fashion_soft_info.n_params);
  return mtl_optimizer_name(fashion_soft_info.optimizer)[0] == 's' ? 0 : 1;
}
EOF
  if cc -std=c11 -O1 -Iruntime -I"$g" -c "$g/fashion_soft.c" -o "$g/m.o" &&
     c++ -O1 -Iruntime -I"$g" "$tmp/use.cpp" "$g/m.o" "$rtlib" \
        -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas -lz -lm -o "$g/use" 2>"$tmp/cxx.err" &&
     out=$("$g/use") && [ "$out" = "fashion_soft 2 tasks 202912 params" ]; then
    pass "a C++ program links the generated model and the runtime (extern \"C\")"
  else
    fail "a C++ program links the generated model and the runtime (extern \"C\")" "$(cat "$tmp/cxx.err") ${out:-}"
  fi
else
  echo "SKIP workflow/C++: no c++ compiler"
fi
