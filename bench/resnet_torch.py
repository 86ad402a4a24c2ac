"""resnet_torch.py: the PyTorch peer of specs/fashion_resnet.mtl: the same
residual CNN with batchnorm, shared by the two Fashion-MNIST tasks (item,
and category derived from it), trained with the same recipe (SGD with
momentum, the cosine schedule stepped per epoch, batch 64, normalization
0.2860/0.3530, PyTorch's default initialization, which mtlc also uses).
Prints one JSON line per epoch: train losses, test accuracies, seconds.
Run with Debian's /usr/bin/python3; bench/resnet.sh runs it beside mtlc."""
import argparse, gzip, json, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
LOOKUP = torch.tensor([0, 1, 0, 2, 0, 3, 0, 3, 4, 3])


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def split(kind):
    x = idx(f"{DATA}/{kind}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    y = idx(f"{DATA}/{kind}-labels-idx1-ubyte.gz").astype(np.int64)
    x = (x - 0.2860) / 0.3530
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def conv_bn(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(c, c), nn.ReLU(), *conv_bn(c, c))

    def forward(self, x):
        return x + self.body(x)


class Net(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.trunk = nn.Sequential(
            *conv_bn(1, c1), nn.ReLU(), Residual(c1), nn.ReLU(), nn.MaxPool2d(2),
            *conv_bn(c1, c2), nn.ReLU(), Residual(c2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * 49, 128), nn.ReLU())
        self.item = nn.Linear(128, 10)
        self.category = nn.Linear(128, 5)

    def forward(self, x):
        h = self.trunk(x)
        return self.item(h), self.category(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--c1", type=int, default=16)
    ap.add_argument("--c2", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = split("train")
    xte, yte = split("t10k")
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    net = Net(a.c1, a.c2)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    n = len(xtr)
    for epoch in range(a.epochs):
        t0 = time.time()
        net.train()
        perm = torch.randperm(n)
        tot = [0.0, 0.0]
        for s in range(0, n, a.batch):
            i = perm[s:s + a.batch]
            x, y = xtr[i], ytr[i]
            o1, o2 = net(x)
            l1, l2 = F.cross_entropy(o1, y), F.cross_entropy(o2, LOOKUP[y])
            loss = l1 + 0.5 * l2
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot[0] += l1.item() * len(i)
            tot[1] += l2.item() * len(i)
        sched.step()
        net.eval()
        correct = [0, 0]
        with torch.no_grad():
            for s in range(0, len(xte), 1000):
                o1, o2 = net(xte[s:s + 1000])
                y = yte[s:s + 1000]
                correct[0] += (o1.argmax(1) == y).sum().item()
                correct[1] += (o2.argmax(1) == LOOKUP[y]).sum().item()
        print(json.dumps({"epoch": epoch + 1, "train_loss": {"item": tot[0] / n, "category": tot[1] / n},
                          "test": {"item": correct[0] / len(xte), "category": correct[1] / len(xte)},
                          "seconds": round(time.time() - t0, 2)}), flush=True)


if __name__ == "__main__":
    main()
