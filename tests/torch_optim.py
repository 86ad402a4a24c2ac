"""torch_optim.py DIR: mtlc's RMSprop and gradient clipping against
PyTorch's torch.optim.RMSprop and torch.nn.utils.clip_grad_norm_.
tests/t_torch.sh trains tests/torch/optim.mtl on DIR/x.npy, a.npy, b.npy
(written by `--write DIR`) for one full-batch step, saving DIR/a.st, then
resumes it for three more, saving DIR/b.st and logging DIR/log.json. This
script loads a.st's parameters and RMSprop state (square_avg,
momentum_buffer) into PyTorch, takes the same three steps (cross entropy,
0.5 mse, l2 lambda 0.01, clipped to norm 0.05, then RMSprop with
momentum 0.9 and weight decay 0.01) and compares the parameters with
b.st's and each step's losses with the log. Exits 1 beyond 1e-5
relative."""
import json, struct, sys

import numpy as np
import torch

def load_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return {k: torch.from_numpy(np.frombuffer(
                raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                dtype=np.float32).reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}

NAMES = ["trunk.dense1.weight", "trunk.dense1.bias", "a.dense1.weight", "a.dense1.bias",
         "b.dense1.weight", "b.dense1.bias"]

def main():
    if sys.argv[1] == "--write":
        d = sys.argv[2]
        g = np.random.default_rng(11)
        np.save(f"{d}/x.npy", g.standard_normal((16, 6)).astype(np.float32))
        np.save(f"{d}/a.npy", g.integers(0, 3, 16).astype(np.int64))
        np.save(f"{d}/b.npy", g.standard_normal((16, 2)).astype(np.float32))
        return 0
    d = sys.argv[1]
    x = torch.from_numpy(np.load(f"{d}/x.npy"))
    ya = torch.from_numpy(np.load(f"{d}/a.npy"))
    yb = torch.from_numpy(np.load(f"{d}/b.npy"))
    a, b = load_safetensors(f"{d}/a.st"), load_safetensors(f"{d}/b.st")
    p = {k: a[k].clone().requires_grad_(True) for k in NAMES}
    params = [p[k] for k in NAMES]
    opt = torch.optim.RMSprop(params, lr=0.01, momentum=0.9, weight_decay=0.01)
    for k in NAMES:  # the state after the first step, from mtlc's checkpoint
        opt.state[p[k]] = {"step": torch.tensor(1.0), "square_avg": a[k + ".square_avg"].clone(),
                           "momentum_buffer": a[k + ".momentum_buffer"].clone()}
    log = [json.loads(l) for l in open(f"{d}/log.json")]
    ok, norms = True, []
    for step in range(3):
        h = torch.tanh(x @ p["trunk.dense1.weight"].T + p["trunk.dense1.bias"])
        la = torch.nn.functional.cross_entropy(h @ p["a.dense1.weight"].T + p["a.dense1.bias"], ya)
        lb = torch.nn.functional.mse_loss(h @ p["b.dense1.weight"].T + p["b.dense1.bias"], yb)
        l2 = 0.01 * sum((q * q).sum() for q in params)
        opt.zero_grad()
        (la + 0.5 * lb + l2).backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, 0.05).item())
        opt.step()
        for what, got, want in [("loss a", log[step]["train_loss"]["a"], la.item()),
                                ("loss b", log[step]["train_loss"]["b"], lb.item()),
                                ("l2", log[step]["reg"]["l2"], l2.item())]:
            rel = abs(got - want) / max(abs(want), 1e-30)
            ok &= rel <= 1e-5
            print(f"step {step + 2} {what}: mtlc {got:.9g}, torch {want:.9g}, rel {rel:.2e}")
    print("gradient norms before clipping:", ", ".join(f"{n:.4g}" for n in norms),
          "(clipped to 0.05)")
    ok &= min(norms) > 0.05
    for k in NAMES:
        rel = ((b[k] - p[k].detach()).abs().max() / p[k].detach().abs().max()).item()
        srel = ((b[k + ".square_avg"] - opt.state[p[k]]["square_avg"]).abs().max() /
                opt.state[p[k]]["square_avg"].abs().max()).item()
        ok &= rel <= 1e-5 and srel <= 1e-5
        print(f"{k}: max rel diff {rel:.2e}, square_avg {srel:.2e}")
    print("ok" if ok else "FAILED")
    return 0 if ok else 1

if __name__ == "__main__":
    sys.exit(main())
