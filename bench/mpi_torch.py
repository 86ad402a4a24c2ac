"""mpi_torch.py: the PyTorch peer of bench/mpi.sh: fashion_hard's net
(bench/torch_bench.py's Hard) trained with SGD lr 0.01 momentum 0.5 at a
global batch, in one process or data parallel with DistributedDataParallel
over gloo on localhost (--procs N processes, each 1/N of the batch, each
torch.set_num_threads(--threads)). Random images and labels in memory: a
step's time does not depend on the values. 2 warm-up steps (DDP builds its
buckets at the first backward), then --samples / --batch timed steps; rank
0 prints one JSON line, samples/s over the timed steps. Run with Debian's
/usr/bin/python3."""
import argparse, json, os, socket, sys, time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bench import LOOKUP, Hard  # noqa: E402

WARMUP = 2


def train(rank, a, port):
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Hard()
    net = model
    if a.procs > 1:
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
        dist.init_process_group("gloo", rank=rank, world_size=a.procs)
        net = torch.nn.parallel.DistributedDataParallel(model)
    local = a.batch // a.procs
    steps = a.samples // a.batch
    torch.manual_seed(2 + rank)
    x = torch.randn((steps + WARMUP) * local, 1, 28, 28)
    y = torch.randint(0, 10, ((steps + WARMUP) * local,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.5)

    def step(s):
        xs, ys = x[s * local:(s + 1) * local], y[s * local:(s + 1) * local]
        opt.zero_grad()
        item, category = net(xs)  # through DDP's forward: Hard.loss would bypass its hooks
        (F.cross_entropy(item, ys) + 0.5 * F.cross_entropy(category, LOOKUP[ys])).backward()
        opt.step()

    for s in range(WARMUP):
        step(s)
    if a.procs > 1:
        dist.barrier()
    t0 = time.perf_counter()
    for s in range(steps):
        step(WARMUP + s)
    secs = time.perf_counter() - t0
    if rank == 0:
        print(json.dumps({"run": a.run, "coretype": a.coretype, "rep": a.rep, "procs": a.procs,
                          "threads": a.threads, "batch": a.batch, "steps": steps,
                          "seconds": secs, "samples_per_s": steps * a.batch / secs}), flush=True)
    if a.procs > 1:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128, help="the global batch")
    ap.add_argument("--samples", type=int, default=12800)
    ap.add_argument("--run", default="pytorch")
    ap.add_argument("--coretype", default="")
    ap.add_argument("--rep", type=int, default=0)
    a = ap.parse_args()
    if a.batch % a.procs:
        ap.error("--batch must split evenly over --procs")
    if a.procs == 1:
        train(0, a, 0)
    else:
        mp.spawn(train, args=(a, free_port()), nprocs=a.procs, join=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
