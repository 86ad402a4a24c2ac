"""tests/ckpt_compare.py A B RTOL: whether two safetensors checkpoints hold
the same tensors within RTOL, per tensor relative to its largest magnitude
(max |a - b| / max |a|). Standard library only. Prints the worst tensor;
exit 1 when any is off, or the names or shapes differ."""
import json
import struct
import sys
from array import array


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8:8 + n])
    head.pop("__metadata__", None)
    body = blob[8 + n:]
    out = {}
    for name, t in head.items():
        lo, hi = t["data_offsets"]
        a = array("f")
        a.frombytes(body[lo:hi])
        out[name] = (t["shape"], a)
    return out


def main():
    a, b, rtol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
    if sorted(a) != sorted(b):
        print("tensors differ: %s against %s" % (sorted(a), sorted(b)))
        return 1
    worst, where = 0.0, None
    for name in sorted(a):
        (sa, x), (sb, y) = a[name], b[name]
        if sa != sb:
            print("%s: shape %s against %s" % (name, sa, sb))
            return 1
        mag = max((abs(v) for v in x), default=0.0)
        diff = max((abs(p - q) for p, q in zip(x, y)), default=0.0)
        rel = diff / mag if mag > 0 else diff
        if rel != rel or rel > worst:
            worst, where = rel, name
    print("%d tensors, worst relative difference %.3e (%s), tolerance %g"
          % (len(a), worst, where, rtol))
    return 0 if worst <= rtol else 1


sys.exit(main())
