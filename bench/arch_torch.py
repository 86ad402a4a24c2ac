"""arch_torch.py: the PyTorch side of bench/arch.sh, the architecture table
of bench/MTL.md. The same architectures as bench/arch/*.mtl, built from the
modules of tests/torch_sharing.py (MMoE, CGC and cross-stitch written from
their papers, named like mtlc's parameters), on the same data with the same
recipe: SGD with momentum, the spec's batch and epochs, a fresh shuffle each
epoch, PyTorch's default initialization from torch.manual_seed(seed).

  arch_torch.py train DATASET ARCH --seed S      one training run; a JSON line
      with each task's test accuracy (or MSE) and the parameter count
  arch_torch.py speed DATASET ARCH --steps N --reps R
      training throughput on a random batch in memory, samples per second
      (forward, backward, update), as mtlc bench measures it
  arch_torch.py report RESULTS.jsonl MTL.md      the table, into its section
Run with Debian's /usr/bin/python3 and OMP_NUM_THREADS=1 for one thread."""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from torch_sharing import CrossStitch, Experts, Model, chain  # noqa: E402


class Shared(nn.Module):
    """a shared block: one chain, run once on the input every task brings"""

    def __init__(self, layers):
        super().__init__()
        self.net = chain(layers)

    def forward(self, xs):
        out, seen = {}, {}
        for t, x in xs.items():
            if id(x) not in seen:
                seen[id(x)] = self.net(x)
            out[t] = seen[id(x)]
        return out


def lenet(c1=10, c2=20, d=50):
    """Lin et al. 2019's LeNet trunk on a 36x36 canvas: [1, 36, 36] -> [d]"""
    return [("conv2d", 1, c1, 9), ("maxpool", 2), ("relu",), ("conv2d", c1, c2, 5),
            ("maxpool", 2), ("relu",), ("flatten",), ("dense", c2 * 25, d), ("relu",)]


def mlp(d_in=16, h=64):
    return [("dense", d_in, h), ("relu",), ("dense", h, h // 2), ("relu",)]


# each data set: its tasks ("class", K) or ("real", D), the input shape,
# the recipe, and the architectures (bench/arch/DATASET_ARCH.mtl alike)
DATASETS = {
    "multifashion": {
        "tasks": {"left": ("class", 10), "right": ("class", 10)},
        "shape": (1, 36, 36), "lr": 0.01, "momentum": 0.9, "batch": 256, "epochs": 10,
        "archs": {
            "single": lambda T: (CrossStitch(T, lenet(), []), 50),
            "hard": lambda T: (Shared(lenet(14, 28, 70)), 70),
            "soft": lambda T: (CrossStitch(T, lenet(), []), 50),
            "mmoe": lambda T: (Experts(T, lambda: chain(lenet()), 2, 0, 1296), 50),
            "cgc": lambda T: (Experts(T, lambda: chain(lenet(8, 16, 40)), 1, 1, 1296), 40),
            "stitch": lambda T: (CrossStitch(T, lenet()[:3] + [("stitch",)] + lenet()[3:6] +
                                             [("stitch",)] + lenet()[6:] + [("stitch",)],
                                             [0.9, 0.9, 0.9]), 50),
        },
        "soft_lambda": 0.001,
    },
    "scales": {
        "tasks": {"kind": ("class", 4), "amount": ("real", 1)},
        "shape": (16,), "lr": 0.0005, "momentum": 0.9, "batch": 64, "epochs": 20,
        "archs": {
            "single": lambda T: (CrossStitch(T, mlp(), []), 32),
            "hard": lambda T: (Shared(mlp(16, 96)), 48),
            "soft": lambda T: (CrossStitch(T, mlp(), []), 32),
            "mmoe": lambda T: (Experts(T, lambda: chain(mlp()), 2, 0, 16), 32),
            "cgc": lambda T: (Experts(T, lambda: chain(mlp(16, 48)), 1, 1, 16), 24),
            "stitch": lambda T: (CrossStitch(T, mlp()[:2] + [("stitch",)] + mlp()[2:] +
                                             [("stitch",)], [0.9, 0.9]), 32),
        },
        "soft_lambda": 0.001,
        # at lr 0.0005 cross-stitch diverged on seed 2 in both frameworks:
        # the stitch matrices' gradients carry amount's large loss
        "arch_lr": {"stitch": 0.0002},
    },
}


def build(dataset, arch):
    ds = DATASETS[dataset]
    tasks = list(ds["tasks"])
    block, width = ds["archs"][arch](tasks)
    heads = {t: (width, k) for t, (_, k) in ds["tasks"].items()}
    return Model({"block": block}, heads, stitch=isinstance(block, CrossStitch)), ds


def penalty(model, dataset, arch):
    """soft sharing's l2_distance: lambda * sum over ordered pairs i != j"""
    if arch != "soft":
        return 0
    block = model.block
    copies = [list(getattr(block, t).parameters()) for t in block.tasks]
    s = sum(((p - q) ** 2).sum() for i in range(len(copies)) for j in range(i + 1, len(copies))
            for p, q in zip(copies[i], copies[j]))
    return DATASETS[dataset]["soft_lambda"] * 2 * s


def task_losses(out, ys, ds):
    return [F.cross_entropy(out[t], ys[t]) if kind == "class" else F.mse_loss(out[t], ys[t])
            for t, (kind, _) in ds["tasks"].items()]


# ---- data ---------------------------------------------------------------------------

def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(dataset, d, split, limit=0):
    """the split's inputs and labels, the first `limit` samples (0: all),
    as mtlc train --limit reads them"""
    x, ys = load_all(dataset, d, split)
    if limit:
        x, ys = x[:limit], {t: y[:limit] for t, y in ys.items()}
    return x, ys


def load_all(dataset, d, split):
    ds = DATASETS[dataset]
    if dataset == "multifashion":
        pre = "train" if split == "train" else "t10k"
        x = idx(f"{d}/{pre}-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255
        ys = {t: torch.from_numpy(idx(f"{d}/{pre}-{t}-labels-idx1-ubyte.gz").astype(np.int64))
              for t in ds["tasks"]}
        return torch.from_numpy(x), ys
    a = np.loadtxt(f"{d}/{split}.csv", delimiter=",", skiprows=1, dtype=np.float64)
    x = torch.from_numpy(a[:, :16].astype(np.float32))
    return x, {"kind": torch.from_numpy(a[:, 16].astype(np.int64)),
               "amount": torch.from_numpy(a[:, 17:18].astype(np.float32))}


# ---- the report ----------------------------------------------------------------------

BEGIN, END = "<!-- architectures (bench/arch.sh) -->", "<!-- end of architectures -->"
ARCH_NAMES = {"single": "single-task", "hard": "hard sharing", "soft": "soft sharing",
              "mmoe": "MMoE", "cgc": "CGC", "stitch": "cross-stitch"}


def mean_sd(xs, scale=100, digits=2):
    if not xs:
        return "-"
    m = float(np.mean(xs)) * scale
    sd = float(np.std(xs, ddof=1)) * scale if len(xs) > 1 else 0.0
    return f"{m:.{digits}f} ± {sd:.{digits}f}"


def report(results, md):
    """bench/MTL.md's architecture section from bench/arch.sh's results,
    the rest of the file kept"""
    rows = [json.loads(l) for l in open(results) if l.strip()]
    runs = [r for r in rows if "log" in r or "train_s" in r]
    for r in runs:
        if "log" in r:  # mtlc: its log's last epoch
            last = [json.loads(l) for l in open(r["log"])][-1]
            for t, m in last["test"].items():
                v = m.get("accuracy", m.get("mse"))
                r[t] = float("nan") if v is None else v  # null: diverged
    speed = {(r["dataset"], r["arch"], r["framework"]): r["median"] for r in rows if "median" in r}
    lines = [BEGIN, "", "## Architectures", ""]
    for ds, d in DATASETS.items():
        tasks = list(d["tasks"])
        title = {"multifashion": "MultiFashion", "scales": "Unbalanced scales"}[ds]
        head = ["architecture", "params"]
        for t in tasks:
            what = "accuracy %" if d["tasks"][t][0] == "class" else "MSE"
            head += [f"{t} {what}, mtlc", "PyTorch"]
        if len(tasks) > 1 and all(d["tasks"][t][0] == "class" for t in tasks):
            head += ["mean accuracy %, mtlc", "PyTorch", "mtlc - PyTorch"]
        head += ["train samples/s, mtlc", "PyTorch", "mtlc / PyTorch"]
        lines += [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for arch in d["archs"]:
            mine = [r for r in runs if r["dataset"] == ds and r["arch"] == arch and "log" in r]
            peer = [r for r in runs if r["dataset"] == ds and r["arch"] == arch and "train_s" in r]
            sm, sp = speed.get((ds, arch, "mtlc")), speed.get((ds, arch, "torch"))
            if not mine and not peer and not sm and not sp:
                continue
            params = mine[0]["params"] if mine else peer[0]["params"] if peer else \
                sum(p.numel() for p in build(ds, arch)[0].parameters())
            cells = [ARCH_NAMES[arch], f"{params:,}"]
            for t in tasks:
                cls = d["tasks"][t][0] == "class"
                for rs in (mine, peer):
                    cells.append(mean_sd([r[t] for r in rs], 100 if cls else 1, 2 if cls else 1))
            if "mean accuracy %, mtlc" in head:
                a = [np.mean([r[t] for t in tasks]) for r in mine]
                b = [np.mean([r[t] for t in tasks]) for r in peer]
                cells += [mean_sd(a), mean_sd(b),
                          f"{100 * (np.mean(a) - np.mean(b)):+.2f}" if a and b else "-"]
            cells += [f"{sm:,.0f}" if sm else "-", f"{sp:,.0f}" if sp else "-",
                      f"{sm / sp:.2f}x" if sm and sp else "-"]
            lines.append("| " + " | ".join(cells) + " |")
        mine = [r for r in runs if r["dataset"] == ds]
        seeds = sorted({r["seed"] for r in mine})
        epochs = sorted({r.get("epochs") or d["epochs"] for r in mine})
        limits = sorted({r.get("limit") or 0 for r in mine})
        part = "all samples" if limits == [0] else \
            "the first " + ", ".join(f"{n:,}" for n in limits) + " samples of each split"
        if not mine:
            lines += ["", f"Throughput only: this run trained no seeds (SEEDS=\" \"); "
                      f"batch {d['batch']}, one thread.", ""]
            continue
        lines += ["", f"Seeds {', '.join(map(str, seeds))}; mean ± standard deviation over "
                  f"the seeds. Recipe: SGD lr {d['lr']}"
                  + "".join(f" ({ARCH_NAMES[a]}: {v})" for a, v in d.get("arch_lr", {}).items())
                  + f", momentum {d['momentum']}, batch "
                  f"{d['batch']}, {', '.join(map(str, epochs))} epochs on {part}; one thread.", ""]
    lines.append(END)
    text = open(md).read() if os.path.exists(md) else "# Multi-task benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    open(md, "w").write(text)


# ---- commands ------------------------------------------------------------------------

def train(args):
    torch.manual_seed(args.seed)
    model, ds = build(args.dataset, args.arch)
    x, ys = load(args.dataset, args.data, "train", args.limit)
    tx, tys = load(args.dataset, args.data, "test", args.limit)
    lr = ds.get("arch_lr", {}).get(args.arch, ds["lr"])
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=ds["momentum"])
    g = torch.Generator().manual_seed(args.seed)
    n, B = x.shape[0], ds["batch"]
    t_train = 0.0
    for _ in range(args.epochs or ds["epochs"]):
        model.train()
        perm = torch.randperm(n, generator=g)
        t0 = time.perf_counter()
        for s in range(0, n, B):
            i = perm[s:s + B]
            loss = sum(task_losses(model(x[i]), {t: y[i] for t, y in ys.items()}, ds))
            loss = loss + penalty(model, args.dataset, args.arch)
            opt.zero_grad()
            loss.backward()
            opt.step()
        t_train += time.perf_counter() - t0
    model.eval()
    res = {"dataset": args.dataset, "arch": args.arch, "seed": args.seed, "framework": "torch",
           "params": sum(p.numel() for p in model.parameters()), "train_s": t_train,
           "epochs": args.epochs, "limit": args.limit}
    with torch.no_grad():
        out = {t: [] for t in ds["tasks"]}
        for s in range(0, tx.shape[0], 1000):
            o = model(tx[s:s + 1000])
            for t in out:
                out[t].append(o[t])
    for t, (kind, _) in ds["tasks"].items():
        o = torch.cat(out[t])
        res[t] = (o.argmax(1) == tys[t]).float().mean().item() if kind == "class" else \
            F.mse_loss(o, tys[t]).item()
    print(json.dumps(res))


def speed(args):
    torch.manual_seed(1)
    model, ds = build(args.dataset, args.arch)
    B = ds["batch"]
    x = torch.randn((B,) + ds["shape"])
    ys = {t: torch.randint(0, k, (B,)) if kind == "class" else torch.randn(B, k)
          for t, (kind, k) in ds["tasks"].items()}
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=ds["momentum"])

    def step():
        loss = sum(task_losses(model(x), ys, ds)) + penalty(model, args.dataset, args.arch)
        opt.zero_grad()
        loss.backward()
        opt.step()

    model.train()
    for _ in range(3):
        step()
    rates = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.steps * B / (time.perf_counter() - t0))
    rates.sort()
    print(json.dumps({"dataset": args.dataset, "arch": args.arch, "framework": "torch",
                      "threads": torch.get_num_threads(), "batch": B,
                      "median": rates[len(rates) // 2]}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["train", "speed", "report"])
    ap.add_argument("dataset")
    ap.add_argument("arch", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default="data/multifashion")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.cmd == "report":
        report(args.dataset, args.arch)
    elif args.cmd == "train":
        train(args)
    else:
        speed(args)


if __name__ == "__main__":
    main()
