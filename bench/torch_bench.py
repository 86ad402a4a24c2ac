"""torch_bench.py: the peer of `mtlc bench`, in PyTorch. The same nets and
recipe as specs/fashion_hard.mtl and specs/fashion_soft.mtl: training
throughput on a random batch in memory (forward, backward, SGD update), or
inference latency; one JSON line like mtlc's. With --check DIR it loads the
parameters mtlc dumped (safetensors), runs the same input, compares the
outputs with mtlc's (exit 1 beyond 1e-4 relative) and exports the hard net
to ONNX for onnxruntime. Run with Debian's /usr/bin/python3."""
import argparse, json, os, resource, struct, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

LOOKUP = torch.tensor([0, 1, 0, 2, 0, 3, 0, 3, 4, 3])


class Hard(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(3136, 128)
        self.item = nn.Linear(128, 10)
        self.category = nn.Linear(128, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc(x.flatten(1)))
        return self.item(x), self.category(x)

    def loss(self, x, y):
        a, b = self(x)
        return F.cross_entropy(a, y) + 0.5 * F.cross_entropy(b, LOOKUP[y])

    names = {"trunk.conv2d1": "conv1", "trunk.conv2d2": "conv2", "trunk.dense1": "fc",
             "item.dense1": "item", "category.dense1": "category"}
    shape = (1, 28, 28)


class Soft(nn.Module):
    def __init__(self):
        super().__init__()
        self.tower_item = nn.Linear(784, 128)
        self.tower_category = nn.Linear(784, 128)
        self.item = nn.Linear(128, 10)
        self.category = nn.Linear(128, 5)

    def forward(self, x):
        return (self.item(F.relu(self.tower_item(x))),
                self.category(F.relu(self.tower_category(x))))

    def loss(self, x, y):
        a, b = self(x)
        reg = sum(((p - q) ** 2).sum() for p, q in
                  zip(self.tower_item.parameters(), self.tower_category.parameters()))
        return F.cross_entropy(a, y) + F.cross_entropy(b, LOOKUP[y]) + 0.001 * 2 * reg

    names = {"tower.item.dense1": "tower_item", "tower.category.dense1": "tower_category",
             "item.dense1": "item", "category.dense1": "category"}
    shape = (784,)


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + lo:8 + n + hi]),
                                     dtype=torch.float32).reshape(t["shape"])
    return out


def load_mtlc_params(model, path):
    tensors = load_safetensors(path)
    with torch.no_grad():
        for ours, theirs in model.names.items():
            layer = getattr(model, theirs)
            layer.weight.copy_(tensors[ours + ".weight"])
            layer.bias.copy_(tensors[ours + ".bias"])


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("net", choices=["hard", "soft"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--infer", action="store_true")
    ap.add_argument("--check", metavar="DIR")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Hard() if a.net == "hard" else Soft()
    if a.check:
        load_mtlc_params(model, os.path.join(a.check, "params.safetensors"))
        x = torch.frombuffer(bytearray(open(os.path.join(a.check, "input.f32"), "rb").read()),
                             dtype=torch.float32).reshape(-1, *model.shape)
        model.eval()
        with torch.no_grad():
            outs = model(x)
        worst = 0.0
        for name, out in zip(["item", "category"], outs):
            ref = torch.frombuffer(bytearray(open(os.path.join(a.check, f"output_{name}.f32"), "rb").read()),
                                   dtype=torch.float32).reshape(out.shape)
            worst = max(worst, float((out - ref).abs().max() / ref.abs().max()))
        print(json.dumps({"check": a.net, "max_rel_diff": worst}))
        if a.net == "hard":
            torch.onnx.export(model, x[:1], os.path.join(a.check, "hard.onnx"),
                              input_names=["image"], output_names=["item", "category"],
                              dynamic_axes={"image": {0: "B"}, "item": {0: "B"}, "category": {0: "B"}},
                              opset_version=13)
        return 0 if worst <= 1e-4 else 1
    x = torch.randn(a.batch, *model.shape)
    y = torch.randint(0, 10, (a.batch,))
    rates = []
    if a.infer:
        model.eval()
        with torch.no_grad():
            for _ in range(3):
                model(x)
            for _ in range(a.reps):
                t0 = time.perf_counter()
                for _ in range(a.steps):
                    model(x)
                rates.append(1e6 * (time.perf_counter() - t0) / a.steps)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
        def step():
            opt.zero_grad()
            model.loss(x, y).backward()
            opt.step()
        for _ in range(3):
            step()
        for _ in range(a.reps):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step()
            rates.append(a.batch * a.steps / (time.perf_counter() - t0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"spec": "fashion_" + a.net, "backend": "pytorch",
                      "mode": "infer" if a.infer else "train", "threads": a.threads,
                      "batch": a.batch, ("us_per_call" if a.infer else "samples_per_s"): rates,
                      "median": median(rates), "min": min(rates), "max": max(rates),
                      "peak_rss_mib": rss}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
