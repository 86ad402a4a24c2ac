"""torch_batchnorm.py DIR: mtlc's batchnorm against PyTorch's BatchNorm2d.
tests/t_torch.sh trains tests/torch/batchnorm.mtl (batchnorm alone, its
flattened output the head of an mse task) for one full-batch SGD step on
DIR/x.npy and DIR/y.npy, which this script wrote with `--write DIR`, and
evaluates it; then this script does the same in PyTorch and compares:
  - training mode: the loss of the step (batch statistics), the scale and
    shift after the SGD step (the gradient through the batch statistics),
    and the running mean and variance (momentum 0.3, unbiased variance);
  - evaluation mode: the loss with the running statistics after the step
    (the test loss of the log: the mean of every output's squared error).
Prints what it compared; exits 1 beyond 1e-5 relative."""
import json, sys

import numpy as np
import torch

from torch_compare import load_safetensors, scalars, tensors

def main():
    if sys.argv[1] == "--write":
        d = sys.argv[2]
        g = np.random.default_rng(7)
        x = (g.standard_normal((8, 3, 5, 5)) * np.array([1, 2, 0.5]).reshape(1, 3, 1, 1)
             + np.array([0.5, -1, 3]).reshape(1, 3, 1, 1)).astype(np.float32)
        y = g.standard_normal((8, 75)).astype(np.float32)
        np.save(f"{d}/x.npy", x)
        np.save(f"{d}/y.npy", y)
        return 0
    d = sys.argv[1]
    x = torch.from_numpy(np.load(f"{d}/x.npy"))
    y = torch.from_numpy(np.load(f"{d}/y.npy"))
    log = [json.loads(l) for l in open(f"{d}/log.json")]
    ck = load_safetensors(f"{d}/ckpt.safetensors")
    bn = torch.nn.BatchNorm2d(3, momentum=0.3)
    opt = torch.optim.SGD(bn.parameters(), lr=0.5)
    bn.train()
    loss = torch.nn.functional.mse_loss(bn(x).flatten(1), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    bn.eval()
    with torch.no_grad():
        out = bn(x).flatten(1)
        eval_loss = torch.nn.functional.mse_loss(out, y)
    checks = [
        ("training loss (batch statistics)", log[0]["train_loss"]["t"], loss.item()),
        ("evaluation loss (running statistics)", log[0]["test"]["t"]["loss"], eval_loss.item()),
    ]
    ok = scalars(checks)
    ok &= tensors([(f"{name} after the step", ck[f"t.batchnorm1.{name}"], t)
                   for name, t in [("weight", bn.weight), ("bias", bn.bias),
                                   ("running_mean", bn.running_mean),
                                   ("running_var", bn.running_var)]])
    print("ok" if ok else "FAILED")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
