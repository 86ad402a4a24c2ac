"""torch_compare.py: what the PyTorch comparisons of tests/t_torch.sh
share: reading an mtlc checkpoint (safetensors: an 8-byte header length, a
JSON header, f32 data) and comparing scalars and tensors at 1e-5 relative,
printing each comparison."""
import json
import struct

import numpy as np
import torch

RTOL = 1e-5


def load_safetensors(path):
    """name -> float32 torch tensor"""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: torch.from_numpy(np.frombuffer(
                raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                dtype=np.float32).reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}


def scalars(checks):
    """(what, mtlc's, torch's) each; True when all agree"""
    ok = True
    for what, got, want in checks:
        rel = abs(got - want) / max(abs(want), 1e-30)
        ok &= rel <= RTOL
        print(f"{what}: mtlc {got:.9g}, torch {want:.9g}, rel {rel:.2e}")
    return ok


def tensors(checks):
    """(what, mtlc's, torch's) each, by the largest difference over the
    largest magnitude; True when all agree"""
    ok = True
    for what, got, want in checks:
        want = want.detach()
        rel = ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()
        ok &= rel <= RTOL
        print(f"{what}: max rel diff {rel:.2e}")
    return ok
