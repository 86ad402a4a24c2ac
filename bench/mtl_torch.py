"""mtl_torch.py --time METHOD [--batch 256] [--steps 20] [--reps 5]: the PyTorch
reference of one balancing method (tests/balance_ref.py: LibMTL's definitions,
per-task gradients by torch.autograd) on MultiFashion's LeNet, as
bench/mtl/multifashion.mtl declares it (conv 9x9 10, pool, relu, conv 5x5
20, pool, relu, dense 50, relu; a dense(10) head per task; SGD with
momentum 0.9), timed on one random batch in memory after a warm-up, the
method in its steady state (two epochs of history behind it). Prints one
JSON object: samples per second per repetition and their median. Run it
with OMP_NUM_THREADS=1 for one thread."""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import balance_ref  # noqa: E402


class Trunk(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = torch.nn.Conv2d(1, 10, 9), torch.nn.Conv2d(10, 20, 5)
        self.fc = torch.nn.Linear(500, 50)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.c1(x), 2))
        x = torch.relu(torch.max_pool2d(self.c2(x), 2))
        return torch.relu(self.fc(x.flatten(1)))

    def named(self):
        return self.named_parameters()


class Head(torch.nn.Linear):
    def named(self):
        return self.named_parameters()


class LeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = Trunk()
        self.tasks = ["left", "right"]
        self.heads = torch.nn.ModuleList([Head(50, 10), Head(50, 10)])

    def losses(self, x, ys, rep=None):
        z = self.trunk(x) if rep is None else rep
        return torch.stack([torch.nn.functional.cross_entropy(h(z), ys[t])
                            for t, h in zip(self.tasks, self.heads)]), z

    def named(self):
        yield from (("trunk." + n, p) for n, p in self.trunk.named())
        for t, h in zip(self.tasks, self.heads):
            yield from ((t + "." + n, p) for n, p in h.named())


def main():
    args = sys.argv[1:]
    opt = {"--batch": 256, "--steps": 20, "--reps": 5}
    method = None
    for i, a in enumerate(args):
        if a == "--time":
            method = args[i + 1]
        elif a in opt:
            opt[a] = int(args[i + 1])
    torch.manual_seed(1)
    key = "mgda_ub" if method.startswith("mgda(") else method
    net = LeNet()
    bal = balance_ref.Balancer(net, key, lambda ps: torch.optim.SGD(ps, lr=0.01, momentum=0.9))
    for _ in range(2):  # the steady state: two epochs of history
        bal.epoch_end(np.ones(2))
    B = opt["--batch"]
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, 1, 36, 36, generator=g)
    ys = {t: torch.randint(0, 10, (B,), generator=g) for t in net.tasks}
    for _ in range(3):
        bal.step(x, ys)
    rates = []
    for _ in range(opt["--reps"]):
        t0 = time.perf_counter()
        for _ in range(opt["--steps"]):
            bal.step(x, ys)
        rates.append(B * opt["--steps"] / (time.perf_counter() - t0))
    print(json.dumps({"method": method, "threads": torch.get_num_threads(), "batch": B,
                      "samples_per_s": rates, "median": sorted(rates)[len(rates) // 2]}))


if __name__ == "__main__":
    main()
