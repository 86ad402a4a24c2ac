"""bench/cmudict_torch.py: specs/cmudict.mtl's net and recipe in PyTorch, for
bench/cmudict.sh. The same data files (specs/data/cmudict.sh writes them),
the same encoding (a word's bytes as ids b + 1, cut or padded with 0 to 16),
the same net (Embedding(257, 16), two Conv1d(64, 5, padding=2) with ReLU on
channels-last sequences, flattened time-major as mtlc flattens [T, D],
Linear(1024, 128) ReLU, one head per task), PyTorch's default init, the
same losses (cross entropy, cross entropy, BCE with logits; weight 1 each),
SGD with momentum, batch 64, a fresh shuffle each epoch, the last partial
batch kept. --tasks picks the tasks trained (each alone: the same trunk).
Prints one JSON line per epoch: per-task test accuracy and the epoch's
seconds (training and the test pass, as mtlc's log counts them)."""
import argparse
import json
import os
import time

import torch
import torch.nn as nn

TASKS = {"syllables": 6, "stress": 4, "last_vowel": 1}
COLUMN = {"syllables": 0, "stress": 1, "last_vowel": 2}
LENGTH = 16


def words(path):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    x = torch.zeros(len(lines), LENGTH, dtype=torch.long)
    for i, w in enumerate(lines):
        w = w.rstrip(b"\r")[:LENGTH]
        x[i, : len(w)] = torch.tensor(list(w), dtype=torch.long) + 1
    return x


def labels(path):
    rows = [l.split(",") for l in open(path).read().split("\n")[1:] if l]
    return torch.tensor([[int(v) for v in r] for r in rows], dtype=torch.long)


class Net(nn.Module):
    def __init__(self, tasks):
        super().__init__()
        self.embed = nn.Embedding(257, 16)
        self.conv1 = nn.Conv1d(16, 64, 5, padding=2)
        self.conv2 = nn.Conv1d(64, 64, 5, padding=2)
        self.dense = nn.Linear(LENGTH * 64, 128)
        self.heads = nn.ModuleDict({t: nn.Linear(128, TASKS[t]) for t in tasks})

    def forward(self, x):
        h = self.embed(x).transpose(1, 2)  # [B, 16, T]: PyTorch's channels first
        h = torch.relu(self.conv2(torch.relu(self.conv1(h))))
        h = h.transpose(1, 2).flatten(1)  # [B, T * 64], time-major as mtlc's flatten
        h = torch.relu(self.dense(h))
        return {t: head(h) for t, head in self.heads.items()}


def loss_of(task, z, y):
    if task == "last_vowel":
        return nn.functional.binary_cross_entropy_with_logits(z[:, 0], y.float())
    return nn.functional.cross_entropy(z, y)


def correct(task, z, y):
    pred = (z[:, 0] > 0).long() if task == "last_vowel" else z.argmax(1)
    return (pred == y).sum().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("MTLC_DATA") or
                                                   os.path.expanduser("~/.cache/mtlc"), "cmudict"))
    ap.add_argument("--tasks", default="syllables,stress,last_vowel")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tasks = a.tasks.split(",")
    xtr, ytr = words(f"{a.data}/train_words.txt"), labels(f"{a.data}/train_labels.csv")
    xte, yte = words(f"{a.data}/test_words.txt"), labels(f"{a.data}/test_labels.csv")
    net = Net(tasks)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.momentum)
    n = len(xtr)
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n)
        for s in range(0, n, a.batch):
            idx = order[s : s + a.batch]
            out = net(xtr[idx])
            loss = sum(loss_of(t, out[t], ytr[idx, COLUMN[t]]) for t in tasks)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        hits = {t: 0 for t in tasks}
        with torch.no_grad():
            for s in range(0, len(xte), 256):
                out = net(xte[s : s + 256])
                for t in tasks:
                    hits[t] += correct(t, out[t], yte[s : s + 256, COLUMN[t]])
        secs = time.perf_counter() - t0
        print(json.dumps({"epoch": epoch, "test": {t: hits[t] / len(xte) for t in tasks},
                          "seconds": round(secs, 3)}), flush=True)


if __name__ == "__main__":
    main()
