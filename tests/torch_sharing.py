"""torch_sharing.py: mtlc's sharing architectures against the same
architectures written in PyTorch from their papers' definitions:
  MMoE     Ma et al. 2018: E experts f_e shared by the tasks; task t's
           output is sum_e g_t(x)_e f_e(x), g_t(x) = softmax(W_t x + b_t)
  CGC      Tang et al. 2020: MMoE whose gate also weighs P experts of the
           task's own, shared experts first (LibMTL's order)
  stacked  two such blocks in a row: each task's mix feeds the next
           block's experts (LibMTL's PLE without shared gates)
  stitch   Misra et al. 2016: a copy of the tower per task; at each
           cross-stitch unit x'_i = sum_j alpha_ij x_j, alpha T x T
The modules are named like mtlc's parameters (mix.expert2.dense1.weight,
mix.gate.a.weight, mix.a.expert1.dense1.bias, tower.stitch1.alpha), so an
mtlc checkpoint loads into them by name, strictly.

  torch_sharing.py --write DIR NAME   the data for tests/torch/NAME.mtl
  torch_sharing.py DIR NAME           the check: tests/t_torch.sh has run
      mtlc train for 1 full-batch step (DIR/ck1.safetensors, DIR/log1.json)
      and resumed it for 3 more (DIR/ck4.safetensors, DIR/log4.json).
      Loaded with ck1, the module gives every task's evaluation loss of
      log1 (the same outputs); then 3 full-batch SGD steps with momentum
      (the velocity from ck1) give log4's training losses and ck4's
      parameters and running statistics. Exits 1 beyond 1e-5 relative.
"""
import collections
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import torch_batchnorm  # its checkpoint reader

N = 16  # samples: one full batch

# ---- layers named as mtlc names them: dense1, relu1, conv2d1 ... ------------

def chain(layers):
    """nn.Sequential of (kind, args) with mtlc's per-kind numbering"""
    count = collections.Counter()
    mods = collections.OrderedDict()
    for kind, *args in layers:
        count[kind] += 1
        mods[f"{kind}{count[kind]}"] = {
            "dense": lambda i, o: nn.Linear(i, o),
            "conv2d": lambda c, f, k, bias=True: nn.Conv2d(c, f, k, bias=bias),
            "batchnorm": lambda c: nn.BatchNorm2d(c),
            "relu": nn.ReLU, "tanh": nn.Tanh,
            "maxpool": lambda k: nn.MaxPool2d(k),
            "flatten": lambda: nn.Flatten(1),
        }[kind](*args)
    return nn.Sequential(mods)


class Experts(nn.Module):
    """MMoE (nprivate 0) or CGC: count shared experts expert1..; for each
    task a gate gate.TASK over the block's input flattened, and nprivate
    experts TASK.expert1.. of its own."""

    def __init__(self, tasks, make, count, nprivate, in_features):
        super().__init__()
        self.tasks, self.count, self.nprivate = tasks, count, nprivate
        for e in range(count):
            self.add_module(f"expert{e + 1}", make())
        self.gate = nn.ModuleDict({t: nn.Linear(in_features, count + nprivate) for t in tasks})
        for t in tasks:
            if nprivate:
                self.add_module(t, nn.ModuleDict({f"expert{p + 1}": make() for p in range(nprivate)}))

    def forward(self, xs):
        """xs: each task's input; the shared experts run once per distinct input"""
        shared, out = {}, {}
        for t in self.tasks:
            x = xs[t]
            if id(x) not in shared:
                shared[id(x)] = [getattr(self, f"expert{e + 1}")(x) for e in range(self.count)]
            own = [getattr(self, t)[f"expert{p + 1}"](x) for p in range(self.nprivate)]
            g = F.softmax(self.gate[t](torch.flatten(x, 1)), dim=-1)
            f = torch.stack(shared[id(x)] + own, dim=1)  # [B, K, ...]
            out[t] = (g.reshape(g.shape + (1,) * (f.dim() - 2)) * f).sum(dim=1)
        return out


class Stitch(nn.Module):
    def __init__(self, T, self_weight):
        super().__init__()
        a = torch.full((T, T), (1 - self_weight) / (T - 1))
        a.fill_diagonal_(self_weight)
        self.alpha = nn.Parameter(a)


class CrossStitch(nn.Module):
    """a copy TASK of the tower's layers per task; the layers between
    stitches run copy by copy, then stitchK mixes the copies"""

    def __init__(self, tasks, layers, selfs):
        super().__init__()
        self.tasks = tasks
        self.segments, seg = [], []
        for l in layers:
            if l[0] == "stitch":
                self.segments.append(seg)
                seg = []
            else:
                seg.append(l)
        self.segments.append(seg)
        flat = [l for l in layers if l[0] != "stitch"]
        for t in tasks:
            self.add_module(t, chain(flat))
        for k, s in enumerate(selfs):
            self.add_module(f"stitch{k + 1}", Stitch(len(tasks), s))
        # each copy's runs of layers between stitches (views, not modules of their own)
        self.runs, at = [], 0
        for seg in self.segments:
            self.runs.append([nn.Sequential(*list(getattr(self, t).children())[at:at + len(seg)])
                              for t in tasks])
            at += len(seg)

    def forward(self, x):
        xs = [x] * len(self.tasks)
        for k, run in enumerate(self.runs):
            xs = [r(v) for r, v in zip(run, xs)]
            if k < len(self.runs) - 1:
                a = getattr(self, f"stitch{k + 1}").alpha
                xs = [sum(a[i, j] * xs[j] for j in range(len(xs))) for i in range(len(xs))]
        return dict(zip(self.tasks, xs))


class Model(nn.Module):
    """the spec's nets: blocks, then a dense head per task"""

    def __init__(self, blocks, heads, stitch=False):
        super().__init__()
        self.names, self.stitch = list(blocks), stitch
        for name, b in blocks.items():
            self.add_module(name, b)
        self.heads = heads
        for t, (i, o) in heads.items():
            self.add_module(t, chain([("dense", i, o)]))

    def forward(self, x):
        xs = {t: x for t in self.heads}
        for n in self.names:
            b = getattr(self, n)
            xs = b(x) if self.stitch else b(xs)
        return {t: getattr(self, t)(xs[t]) for t in self.heads}


# ---- the specs of tests/torch/ --------------------------------------------------

def build(name):
    """the module, the input shape and each task's label: ('class', K) or ('real', D)"""
    if name == "mmoe":
        tasks = {"a": ("class", 3), "b": ("class", 2), "c": ("real", 2)}
        mix = Experts(list(tasks), lambda: chain([("dense", 10, 6), ("relu",)]), 3, 0, 10)
        return Model({"mix": mix}, {t: (6, k) for t, (_, k) in tasks.items()}), (10,), tasks
    if name == "cgc":
        tasks = {"a": ("class", 3), "b": ("class", 2)}
        make = lambda: chain([("conv2d", 1, 3, 3, False), ("batchnorm", 3), ("relu",), ("flatten",)])
        cgc = Experts(list(tasks), make, 2, 1, 36)
        return Model({"cgc": cgc}, {t: (48, k) for t, (_, k) in tasks.items()}), (1, 6, 6), tasks
    if name == "stacked":
        tasks = {"a": ("class", 3), "b": ("class", 2)}
        level1 = Experts(list(tasks), lambda: chain([("dense", 10, 8), ("relu",)]), 2, 1, 10)
        level2 = Experts(list(tasks), lambda: chain([("dense", 8, 6), ("tanh",)]), 2, 0, 8)
        heads = {t: (6, k) for t, (_, k) in tasks.items()}
        return Model({"level1": level1, "level2": level2}, heads), (10,), tasks
    if name == "stitch":
        tasks = {"a": ("class", 3), "b": ("class", 2), "c": ("real", 2)}
        layers = [("conv2d", 1, 3, 3), ("relu",), ("stitch",), ("maxpool", 2), ("flatten",),
                  ("dense", 12, 6), ("relu",), ("stitch",)]
        tower = CrossStitch(list(tasks), layers, [0.9, 0.8])
        return Model({"tower": tower}, {t: (6, k) for t, (_, k) in tasks.items()}, True), (1, 6, 6), tasks
    raise SystemExit(f"torch_sharing.py: no architecture '{name}'")


def load_safetensors(path):
    return {k: torch.from_numpy(v.copy()) for k, v in torch_batchnorm.load_safetensors(path).items()}


def losses(model, x, ys, tasks):
    out = model(x)
    return {t: F.cross_entropy(out[t], ys[t]) if kind == "class" else F.mse_loss(out[t], ys[t])
            for t, (kind, _) in tasks.items()}


def rel(got, want):
    return ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()


def main():
    if sys.argv[1] == "--write":
        d, name = sys.argv[2], sys.argv[3]
        _, shape, tasks = build(name)
        g = np.random.default_rng(11)
        np.save(f"{d}/x.npy", g.standard_normal((N,) + shape).astype(np.float32))
        for t, (kind, k) in tasks.items():
            y = g.integers(0, k, N).astype(np.int64) if kind == "class" else \
                g.standard_normal((N, k)).astype(np.float32)
            np.save(f"{d}/{t}.npy", y)
        return 0
    d, name = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model, _, tasks = build(name)
    x = torch.from_numpy(np.load(f"{d}/x.npy"))
    ys = {t: torch.from_numpy(np.load(f"{d}/{t}.npy")) for t in tasks}
    ck1, ck4 = load_safetensors(f"{d}/ck1.safetensors"), load_safetensors(f"{d}/ck4.safetensors")
    log1 = [json.loads(l) for l in open(f"{d}/log1.json")]
    log4 = {e["epoch"]: e for e in map(json.loads, open(f"{d}/log4.json"))}
    state = {k: v for k, v in ck1.items() if not k.endswith(".velocity")}
    model.load_state_dict(state, strict=False)
    missing = [k for k in model.state_dict() if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in model.state_dict()]
    ok = not missing and not extra
    print(f"{name}: {len(state)} tensors of the checkpoint load by name"
          + (f"; missing {missing}, unexpected {extra}" if not ok else ""))
    checks = []
    model.eval()
    with torch.no_grad():
        ev = losses(model, x, ys, tasks)
    checks += [(f"evaluation loss of {t} (ck1)", log1[0]["test"][t]["loss"], ev[t].item()) for t in tasks]
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    names = {p: n for n, p in model.named_parameters()}
    for p in model.parameters():
        opt.state[p]["momentum_buffer"] = ck1[names[p] + ".velocity"].clone()
    for step in range(3):
        ls = losses(model, x, ys, tasks)
        checks += [(f"training loss of {t}, step {step + 2}", log4[step + 2]["train_loss"][t], ls[t].item())
                   for t in tasks]
        opt.zero_grad()
        sum(ls.values()).backward()
        opt.step()
    for what, got, want in checks:
        r = abs(got - want) / max(abs(want), 1e-30)
        ok &= r <= 1e-5
        print(f"  {what}: mtlc {got:.9g}, torch {want:.9g}, rel {r:.1e}")
    worst, worst_name = 0.0, ""
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        r = rel(ck4[k], v.detach())
        worst, worst_name = (r, k) if r > worst else (worst, worst_name)
    ok &= worst <= 1e-5
    print(f"  after 3 steps, {len(model.state_dict())} tensors: max rel diff {worst:.1e} ({worst_name})")
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
