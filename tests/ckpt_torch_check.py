"""ckpt_torch_check.py CKPT: reads an mtlc checkpoint the way PyTorch users
read safetensors without the safetensors package: an 8-byte little-endian
header length, a JSON header, then torch.frombuffer over the data area.
Checks the format's rules (metadata values are strings, "format" is "pt",
dtypes and shapes, offsets cover the data area without overlap) and the
values `build/test_runtime --write-ckpt` writes: the data area, tensor after
tensor, reads 0, 1, 2, ... Prints one line; exits 1 on the first fault."""
import json
import struct
import sys

import torch


def fail(msg):
    print("ckpt_torch_check: " + msg)
    sys.exit(1)


def main(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("shorter than the header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail("header length %d past the end" % n)
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = bytearray(raw[8 + n :])
    meta = header.pop("__metadata__", None)
    if not isinstance(meta, dict) or meta.get("format") != "pt":
        fail("no __metadata__ with format pt: %r" % (meta,))
    if not all(isinstance(v, str) for v in meta.values()):
        fail("a __metadata__ value is not a string: %r" % (meta,))
    if (meta.get("step"), meta.get("epoch")) != ("7", "2"):
        fail("step and epoch are %r, %r; want 7, 2" % (meta.get("step"), meta.get("epoch")))
    tensors = {}
    end = 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e["dtype"] != "F32":
            fail("%s: dtype %s" % (name, e["dtype"]))
        begin, stop = e["data_offsets"]
        if begin != end:
            fail("%s: begins at %d, the previous tensor ends at %d" % (name, begin, end))
        count = (stop - begin) // 4
        t = torch.frombuffer(data, dtype=torch.float32, count=count, offset=begin)
        tensors[name] = t.reshape(e["shape"])
        end = stop
    if end != len(data):
        fail("the tensors cover %d of %d data bytes" % (end, len(data)))
    flat = torch.cat([t.flatten() for t in tensors.values()])
    want = torch.arange(flat.numel(), dtype=torch.float32)
    if not torch.equal(flat, want):
        fail("values differ from 0, 1, 2, ...")
    if list(tensors["cls.weight"].shape) != [3, 4] or tensors["cls.bias"][2].item() != 14:
        fail("cls.weight or cls.bias reads wrong")
    print("ok: %d tensors, %d floats" % (len(tensors), flat.numel()))


if __name__ == "__main__":
    main(sys.argv[1])
