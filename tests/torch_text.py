"""torch_text.py DIR: mtlc's embedding, conv1d and sequence pools against
PyTorch. tests/t_torch.sh writes DIR's data with `--write DIR` (ids [8, 7]
in 0..5, a class(3) label and a binary one), trains tests/torch/text_layers.mtl
for one full-batch SGD step (DIR/A.safetensors), then resumes from it for one
more (DIR/B.safetensors, DIR/log.json). This script loads A into the same
net in PyTorch (nn.Embedding; nn.Conv1d on the sequence transposed to
channels first, mtlc's [T, D] being channels last; max and mean over time;
nn.Linear), computes both tasks' losses (cross entropy, BCE with logits,
summed), takes one SGD step and compares: the losses with the second run's
training losses, every parameter after the step with B. Prints what it
compared; exits 1 beyond 1e-5 relative (tests/torch_compare.py)."""
import json, sys

import numpy as np
import torch
import torch.nn.functional as F

from torch_compare import load_safetensors, scalars, tensors

def main():
    if sys.argv[1] == "--write":
        d = sys.argv[2]
        g = np.random.default_rng(3)
        np.save(f"{d}/ids.npy", g.integers(0, 6, (8, 7)).astype(np.int32))
        np.save(f"{d}/a.npy", g.integers(0, 3, (8,)).astype(np.int32))
        np.save(f"{d}/b.npy", g.integers(0, 2, (8, 1)).astype(np.float32))
        return 0
    d = sys.argv[1]
    ids = torch.from_numpy(np.load(f"{d}/ids.npy")).long()
    ya = torch.from_numpy(np.load(f"{d}/a.npy")).long()
    yb = torch.from_numpy(np.load(f"{d}/b.npy"))
    p = {k: v.requires_grad_() for k, v in load_safetensors(f"{d}/A.safetensors").items()}
    after = load_safetensors(f"{d}/B.safetensors")
    log = json.loads(open(f"{d}/log.json").read().splitlines()[-1])
    h = F.embedding(ids, p["trunk.embedding1.weight"]).transpose(1, 2)  # [B, 4, 7]
    h = torch.relu(F.conv1d(h, p["trunk.conv1d1.weight"], p["trunk.conv1d1.bias"],
                            stride=2, padding=1))                       # [B, 5, 4]
    za = F.linear(h.amax(2), p["a.dense1.weight"], p["a.dense1.bias"])
    hb = F.conv1d(h, p["b.conv1d1.weight"]).mean(2)                     # [B, 2]
    zb = F.linear(hb, p["b.dense1.weight"], p["b.dense1.bias"])
    la = F.cross_entropy(za, ya)
    lb = F.binary_cross_entropy_with_logits(zb, yb)
    opt = torch.optim.SGD(p.values(), lr=0.5)
    opt.zero_grad()
    (la + lb).backward()
    opt.step()
    ok = scalars([("loss a (cross entropy)", log["train_loss"]["a"], la.item()),
                  ("loss b (BCE with logits)", log["train_loss"]["b"], lb.item())])
    if set(after) != set(p):
        print(f"parameters differ: mtlc {sorted(after)}, torch {sorted(p)}")
        return 1
    ok &= tensors([(f"{name} {list(t.shape)} after the step", after[name], t)
                   for name, t in sorted(p.items())])
    print("ok" if ok else "FAILED")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
