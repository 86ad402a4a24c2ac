"""safetensors_read.py: a safetensors file's F32 tensors and metadata with
Python's standard library alone, for the tests' checks of checkpoints
(tests/t_workflow.sh). tensors(path) maps each name to a tuple of floats;
metadata(path) is the __metadata__ object."""
import json
import struct


def _read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return raw, n, json.loads(raw[8:8 + n])


def tensors(path):
    raw, n, header = _read(path)
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = struct.unpack("<%df" % ((b - a) // 4), raw[8 + n + a:8 + n + b])
    return out


def metadata(path):
    return _read(path)[2].get("__metadata__", {})
