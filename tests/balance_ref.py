"""balance_ref.py: the balancing methods in PyTorch, written from LibMTL's
definitions (median-research-group/LibMTL, LibMTL/weighting/*.py and the
trainer's loop), as the reference mtlc's compiled methods are checked
against. Per-task gradients come from torch.autograd, never from mtlc.

  balance_ref.py --write DIR SPEC        the data of tests/balance/SPEC.mtl
  balance_ref.py --check DIR SPEC CK1 CKN STEPS METHOD...
      for each METHOD: load mtlc's checkpoint DIR/METHOD/CK1 (parameters,
      optimizer state, the balancer's state), take STEPS full-batch steps
      on DIR's data, and compare every parameter with mtlc's DIR/METHOD/CKN
      (max |mtlc - torch| / max |torch| per tensor <= 1e-5). Prints a line
      per method; exits 1 when one differs.

The solvers LibMTL borrows from Python packages are replaced by ones of
the same problems: CAGrad's scipy SLSQP with a tight tolerance, Nash-MTL's
ECOS subproblem by SLSQP, UPGrad's quadprog QP by bounded least squares
(BVLS, exact). The random draws of RLW and PCGrad are mtlc's stream
(xoshiro256**, seeded as the checkpoint says), reimplemented here, so that
both sides draw the same numbers.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

M64 = (1 << 64) - 1
N = 32  # samples: every step is the full batch


# ---- the two specs of tests/balance/ ---------------------------------------

SPECS = {
    # name: (trunk layers, heads {task: (layers, label, width)})
    "hard2": ([("dense", 8, 16), ("tanh",), ("dense", 16, 12), ("relu",)],
              {"a": ([("dense", 12, 3)], "class", 3),
               "b": ([("dense", 12, 2)], "real", 2)}),
    "hard3": ([("dense", 8, 16), ("relu",), ("dense", 16, 10), ("tanh",)],
              {"a": ([("dense", 10, 4)], "class", 4),
               "b": ([("dense", 10, 1)], "binary", 1),
               "c": ([("dense", 10, 6), ("relu",), ("dense", 6, 1)], "real", 1)}),
}


def write_data(d, spec):
    g = np.random.default_rng(11 if spec == "hard2" else 13)
    os.makedirs(d, exist_ok=True)
    np.save(f"{d}/x.npy", g.standard_normal((N, 8)).astype(np.float32))
    for task, (_, label, width) in SPECS[spec][1].items():
        if label == "class":
            y = g.integers(0, width, N).astype(np.int32)
        elif label == "binary":
            y = g.integers(0, 2, N).astype(np.int32)
        else:
            y = (g.standard_normal((N, width)) * 2).astype(np.float32)
        np.save(f"{d}/{task}.npy", y)


class Chain(torch.nn.Module):
    def __init__(self, prefix, layers):
        super().__init__()
        self.names, self.mods, self.acts = [], torch.nn.ModuleList(), []
        k = 0
        for l in layers:
            if l[0] == "dense":
                k += 1
                self.mods.append(torch.nn.Linear(l[1], l[2]))
                self.names.append(f"{prefix}.dense{k}")
                self.acts.append(None)
            else:
                self.acts[-1] = l[0]

    def forward(self, x):
        for m, a in zip(self.mods, self.acts):
            x = m(x)
            x = torch.tanh(x) if a == "tanh" else torch.relu(x) if a == "relu" else x
        return x

    def named(self):
        for n, m in zip(self.names, self.mods):
            yield n + ".weight", m.weight
            yield n + ".bias", m.bias


class Net(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        trunk, heads = SPECS[spec]
        self.trunk = Chain("trunk", trunk)
        self.tasks = list(heads)
        self.kind = {t: heads[t][1] for t in heads}
        self.heads = torch.nn.ModuleList([Chain(t, heads[t][0]) for t in heads])

    def losses(self, x, ys, rep=None):
        z = self.trunk(x) if rep is None else rep
        out = []
        for t, h in zip(self.tasks, self.heads):
            o, y = h(z), ys[t]
            if self.kind[t] == "class":
                out.append(torch.nn.functional.cross_entropy(o, y))
            elif self.kind[t] == "binary":
                out.append(torch.nn.functional.binary_cross_entropy_with_logits(o[:, 0], y.float()))
            else:
                out.append(torch.nn.functional.mse_loss(o, y))
        return torch.stack(out), z

    def named(self):
        yield from self.trunk.named()
        for h in self.heads:
            yield from h.named()


# ---- mtlc's checkpoints and its random stream ---------------------------------

def load_ckpt(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    t = {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                                           dtype=np.float32).reshape(v["shape"]).copy())
         for k, v in header.items()}
    return t, meta


def words_to_state(meta, T):
    """the balancer's words (runtime/mtl_balance.c, mtl_balance_save)"""
    w = [int(x, 16) for x in meta["balance_state"].split(",")]
    real = lambda u: struct.unpack("<d", struct.pack("<Q", u))[0]
    arr = lambda k: [real(u) for u in w[9 + k * T:9 + (k + 1) * T]]
    return {"epochs": w[2], "famo_t": w[3], "nash_step": w[4], "rng": w[5:9],
            "hist0": arr(0), "hist1": arr(1), "first": arr(2), "famo_w": arr(3),
            "famo_m": arr(4), "famo_v": arr(5), "nash": arr(6)}


class Rng:
    """xoshiro256**, as runtime/mtl_kernel.c"""
    def __init__(self, s):
        self.s = list(s)

    @staticmethod
    def seeded(seed):  # mtl_rng_seed: splitmix64
        s, x = [], seed
        for _ in range(4):
            x = (x + 0x9e3779b97f4a7c15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
            s.append(z ^ (z >> 31))
        return Rng(s)

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        u, v = self.uniform(), self.uniform()
        return math.sqrt(-2 * math.log(1 - u)) * math.cos(6.283185307179586 * v)

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


# ---- solvers of the problems LibMTL hands to Python packages --------------------

def mgda_min_norm(G):
    """LibMTL's MGDA._find_min_norm_element, on the Gramian"""
    def from2(v11, v12, v22):
        if v12 >= v11:
            return 0.999, v11
        if v12 >= v22:
            return 0.001, v22
        g = -1.0 * ((v12 - v22) / (v11 + v22 - 2 * v12))
        return g, v22 + g * (v12 - v22)

    def project(y):
        m, s = len(y), np.sort(y)[::-1]
        tmpsum, tmax_f = 0.0, (np.sum(y) - 1.0) / m
        for i in range(m - 1):
            tmpsum += s[i]
            tmax = (tmpsum - 1) / (i + 1.0)
            if tmax > s[i + 1]:
                tmax_f = tmax
                break
        return np.maximum(y - tmax_f, 0)

    def next_point(cur, grad, n):
        pg = grad - np.sum(grad) / n
        tm1 = -1.0 * cur[pg < 0] / pg[pg < 0]
        tm2 = (1.0 - cur[pg > 0]) / pg[pg > 0]
        t = 1.0
        if (tm1 > 1e-7).sum() > 0:
            t = np.min(tm1[tm1 > 1e-7])
        if (tm2 > 1e-7).sum() > 0:
            t = min(t, np.min(tm2[tm2 > 1e-7]))
        return project(pg * t + cur)

    n = G.shape[0]
    dmin, sol = 1e8, None
    for i in range(n):
        for j in range(i + 1, n):
            c, d = from2(G[i, i], G[i, j], G[j, j])
            if d < dmin:
                dmin, sol = d, (i, j, c)
    x = np.zeros(n)
    x[sol[0]], x[sol[1]] = sol[2], 1 - sol[2]
    if n < 3:
        return x
    for _ in range(250):
        new = next_point(x, -G @ x, n)
        nc, _ = from2(x @ G @ x, x @ G @ new, new @ G @ new)
        nx = nc * x + (1 - nc) * new
        if np.sum(np.abs(nx - x)) < 1e-5:
            return x
        x = nx
    return x


def cagrad_weights(A, c):
    from scipy.optimize import minimize
    T = A.shape[0]
    b = np.ones(T) / T
    obj = lambda x: x @ A @ b + c * np.sqrt(x @ A @ x + 1e-8)
    res = minimize(obj, b.copy(), bounds=[(0, 1)] * T, method="SLSQP",
                   constraints=({"type": "eq", "fun": lambda x: 1 - np.sum(x)},),
                   options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def nash_alpha(GTG, prev, max_iter):
    """LibMTL's Nash_MTL.solve_optimization, each convex step by SLSQP"""
    from scipy.optimize import minimize
    nf = np.linalg.norm(GTG)
    G = GTG / nf
    T = G.shape[0]
    a_t = prev.copy()
    for _ in range(max_iter):
        p = a_t.copy()
        c = G @ np.ones(T) + (1 / p + (1 / (G @ p)) @ G) / nf
        # the constraint log(nf a_i) + log((G a)_i) >= 0 as nf a_i (G a)_i >= 1
        cons = {"type": "ineq", "fun": lambda a: nf * a * (G @ a) - 1}
        s0 = p.copy()
        if np.any(G @ s0 <= 0):  # conflicting gradients: start from the min-norm point
            s0 = mgda_min_norm(G) + 1e-3
        k = max(1.0, max(math.sqrt(1 / (nf * s0[i] * (G @ s0)[i])) for i in range(T)))
        new, best = p, np.inf  # the best of a few starts: SLSQP can stall
        for f in (1.01, 3, 10, 30):
            res = minimize(lambda a: c @ a, s0 * k * f, method="SLSQP", bounds=[(1e-12, None)] * T,
                           constraints=(cons,), options={"ftol": 1e-12, "maxiter": 1000})
            if res.success and np.all(nf * res.x * (G @ res.x) >= 1 - 1e-9) and res.fun < best:
                new, best = res.x, res.fun
        if (np.linalg.norm(G @ a_t - 1 / (a_t + 1e-10)) < 1e-3 or
                np.linalg.norm(new - p) < 1e-6):
            break
        a_t = new
    return a_t


def upgrad_weights(G, norm_eps=1e-4, reg_eps=1e-4):
    from scipy.optimize import lsq_linear
    T = G.shape[0]
    tr = np.trace(G)
    Q = (np.zeros_like(G) if tr < norm_eps else G / tr) + reg_eps * np.eye(T)
    L = np.linalg.cholesky(Q)  # Q = L L', v'Qv = |L'v|^2
    w = np.zeros(T)
    for i in range(T):
        u = np.zeros(T)
        u[i] = 1.0 / T
        w += lsq_linear(L.T, np.zeros(T), bounds=(u, np.full(T, np.inf)), method="bvls",
                        tol=1e-15).x
    return w


# ---- one step of each method, as LibMTL's trainer takes it -------------------------

SCALE_INIT = {"uncertainty": -0.5, "gradnorm": 1.0, "imtl": 0.0}  # LibMTL's loss_scale


class Balancer:
    """A method's steps on a net, as LibMTL's backward() and its trainer's loop
    take them. net: .losses(x, ys, rep=None) -> (per-task losses, the shared
    trunk's output), .trunk and .heads (modules with .named()), .tasks. st: the
    balancer's state as mtlc saved it (words_to_state), or None for a fresh
    start; epoch: the 0-based index of the next epoch; scale: the starting
    balance.loss_scale, or None for LibMTL's initial value."""

    def __init__(self, net, method, make_opt, st=None, epoch=0, scale=None, args=None):
        T = len(net.tasks)
        self.net, self.method, self.T = net, method, T
        self.args = args or {}
        self.scale = None
        if method in SCALE_INIT:
            init = torch.full((T,), SCALE_INIT[method]) if scale is None else scale.clone()
            self.scale = torch.nn.Parameter(init)
        self.all = [p for _, p in net.named()] + ([self.scale] if self.scale is not None else [])
        self.opt = make_opt(self.all)
        if st is None:
            z = [0.0] * T
            st = {"epochs": 0, "famo_t": 0, "nash_step": 0, "rng": Rng.seeded(1).s,
                  "hist0": z, "hist1": z, "first": z, "famo_w": z, "famo_m": z, "famo_v": z,
                  "nash": [1.0] * T}
        self.st, self.epoch = st, epoch
        self.hist = [st["hist0"], st["hist1"]]
        self.rng = Rng(st["rng"])
        if method == "famo":
            self.w = torch.tensor(st["famo_w"], dtype=torch.float64, requires_grad=True)
            self.w_opt = torch.optim.Adam([self.w], lr=self.args.get("lr", 0.025),
                                          weight_decay=self.args.get("gamma", 0.01))
            if st["famo_t"]:
                self.w_opt.state[self.w] = {"step": torch.tensor(float(st["famo_t"])),
                                            "exp_avg": torch.tensor(st["famo_m"], dtype=torch.float64),
                                            "exp_avg_sq": torch.tensor(st["famo_v"], dtype=torch.float64)}
        if method == "nash_mtl":
            self.nash, self.nash_step = np.array(st["nash"]), st["nash_step"]
        self.weights = []

    def shared(self):
        return [p for _, p in self.net.trunk.named()]

    def heads(self):
        return [p for h in self.net.heads for _, p in h.named()]

    def grads(self, losses):
        """each task's gradient of the shared parameters, [T, n]"""
        sh = self.shared()
        return torch.stack([torch.cat([g.reshape(-1) for g in
                                       torch.autograd.grad(l, sh, retain_graph=True)])
                            for l in losses])

    def set_shared(self, vec):
        k = 0
        for p in self.shared():
            p.grad = vec[k:k + p.numel()].reshape(p.shape).clone()
            k += p.numel()

    def heads_backward(self, losses, extra=()):
        """LibMTL's backward mode: every task's loss into its own head (and
        into `extra` parameters)"""
        for t, l in enumerate(losses):
            hp = [p for _, p in self.net.heads[t].named()] + list(extra)
            g = torch.autograd.grad(l, hp, retain_graph=True, allow_unused=True)
            for p, d in zip(hp, g):
                if d is not None:
                    p.grad = d.clone() if p.grad is None else p.grad + d

    def step(self, x, ys):
        T, m = self.T, self.method
        N = x.shape[0]
        self.opt.zero_grad(set_to_none=False)
        losses, z = self.net.losses(x, ys)
        L = self.last_losses = losses.detach().double().numpy()
        w_log = None
        if m == "uncertainty":
            s = self.scale
            (losses / (2 * s.exp()) + s / 2).sum().backward()
            w_log = (1 / (2 * torch.exp(s.detach()))).numpy()
        elif m == "dwa":
            if self.epoch > 1:
                r = torch.tensor(np.array(self.hist[1]) / np.array(self.hist[0]))
                w = T * torch.softmax(r / self.args.get("T", 2.0), -1)
            else:
                w = torch.ones(T, dtype=torch.float64)
            (losses * w.float()).sum().backward()
            w_log = w.numpy()
        elif m == "rlw":
            w = torch.softmax(torch.tensor([self.rng.normal() for _ in range(T)],
                                           dtype=torch.float64), -1)
            (losses * w.float()).sum().backward()
            w_log = w.numpy()
        elif m == "gls":
            torch.pow(losses.prod(), 1.0 / T).backward()
            w_log = np.exp(np.mean(np.log(L))) / (T * L)
        elif m == "famo":
            zz = torch.softmax(self.w, -1)
            D = losses.double() + 1e-8
            c = (zz / D).sum().detach()
            (D.log() * zz / c).sum().backward()
            w_log = (zz / (c * D)).detach().numpy()
        elif m in ("static",):
            losses.sum().backward()
            w_log = np.ones(T)
        elif m in ("gradnorm", "mgda", "pcgrad", "cagrad", "aligned_mtl", "upgrad", "imtl"):
            if m == "imtl":
                losses = self.scale.exp() * losses - self.scale
            G = self.grads(losses)
            Gd = G.double()
            GG = (G @ G.t()).double().numpy()
            # the losses (IMTL's scaled ones) into the heads, and into the scales
            self.heads_backward(losses, [self.scale] if m == "imtl" else [])
            if m == "gradnorm":
                if self.epoch >= 1:
                    ls = T * torch.softmax(self.scale, -1)
                    gpl = torch.norm(ls.unsqueeze(1) * G.detach(), p=2, dim=-1)
                    Gbar = gpl.mean(0)
                    Li = torch.tensor([losses[t].item() / self.st["first"][t] for t in range(T)])
                    ri = Li / Li.mean()
                    alpha = self.args.get("alpha", 1.5)
                    (gpl - (Gbar * ri ** alpha).detach()).abs().sum(0).backward()
                    w = ls.detach().double()
                else:
                    w = torch.ones(T, dtype=torch.float64)
            elif m == "mgda":
                w = torch.tensor(mgda_min_norm(GG))
            elif m == "pcgrad":
                pc, w = Gd.clone(), np.ones(T)
                for i in range(T):
                    order = list(range(T))
                    for k in range(T - 1, 0, -1):  # mtlc's stream, Fisher-Yates
                        j = self.rng.below(k + 1)
                        order[k], order[j] = order[j], order[k]
                    for j in order:
                        gij = torch.dot(pc[i], Gd[j])
                        if gij < 0:
                            f = gij / (Gd[j].norm().pow(2) + 1e-8)
                            pc[i] -= f * Gd[j]
                            w[j] -= f.item()
                self.set_shared(pc.sum(0).float())
                w_log, w = w, None
            elif m == "cagrad":
                ca = self.args.get("c", 0.5)
                c = ca * math.sqrt(GG.mean() + 1e-8) + 1e-8
                x_ = torch.tensor(cagrad_weights(GG, c))
                gw = (Gd * x_.view(-1, 1)).sum(0)
                lam = c / (gw.norm() + 1e-8)
                self.set_shared(((Gd.mean(0) + lam * gw) / (1 + ca ** 2)).float())
                w_log, w = ((1.0 / T + lam * x_) / (1 + ca ** 2)).numpy(), None
            elif m == "aligned_mtl":
                lam, V = np.linalg.eigh(GG)
                tol = lam.max() * T * np.finfo(np.float32).eps
                order = np.argsort(-lam)
                keep = [k for k in order if lam[k] > tol]
                lam, V = lam[keep], V[:, keep]
                B = math.sqrt(lam[-1]) * (V @ np.diag(1 / np.sqrt(lam)) @ V.T)
                w = torch.tensor(B.sum(0))
            elif m == "upgrad":
                w = torch.tensor(upgrad_weights(GG))
            elif m == "imtl":
                nrm = Gd.norm(dim=-1, keepdim=True)
                U, Dm = Gd[0:1] / nrm[0] - Gd[1:] / nrm[1:], Gd[0:1] - Gd[1:]
                a = (Gd[0] @ U.t()) @ torch.inverse(Dm @ U.t())
                w = torch.cat(((1 - a.sum()).unsqueeze(0), a))
                w_log = (w * self.scale.detach().exp().double()).numpy()
            if w is not None:
                self.set_shared(((Gd * w.view(-1, 1)).sum(0)).float())
                if w_log is None:
                    w_log = w.numpy()
        elif m == "mgda_ub":
            rep = z.detach().clone().requires_grad_(True)
            losses, _ = self.net.losses(x, ys, rep=rep)
            per = torch.stack([torch.autograd.grad(l, rep, retain_graph=True)[0] for l in losses])
            R = per.reshape(T, N, -1).sum(1)
            w = torch.tensor(mgda_min_norm((R @ R.t()).double().numpy()))
            self.heads_backward(losses)
            z.backward(sum(w[t].float() * per[t] for t in range(T)))
            w_log = w.numpy()
        elif m == "nash_mtl":
            if self.nash_step % int(self.args.get("update_every", 1)) == 0:
                G = self.grads(losses)
                self.nash = nash_alpha((G @ G.t()).double().numpy(), self.nash,
                                       int(self.args.get("max_iter", 20)))
            self.nash_step += 1
            alpha = torch.from_numpy(self.nash).float()
            torch.sum(alpha * losses).backward()
            mx = self.args.get("max_norm", 1.0)
            norm = torch.nn.utils.clip_grad_norm_(self.shared(), mx)
            w_log = self.nash * min(1.0, mx / (norm.item() + 1e-6))
        self.opt.step()
        if m == "famo":  # the same batch's losses after the update
            with torch.no_grad():
                new, _ = self.net.losses(x, ys)
            delta = (losses.detach().double() + 1e-8).log() - (new.double() + 1e-8).log()
            d = torch.autograd.grad(torch.softmax(self.w, -1), self.w, grad_outputs=delta)[0]
            self.w_opt.zero_grad()
            self.w.grad = d
            self.w_opt.step()
        self.weights.append(w_log)

    def epoch_end(self, mean_loss):
        """LibMTL's train_loss_buffer: the epoch's mean losses"""
        if self.epoch == 0:
            self.st["first"] = list(mean_loss)
        self.hist = [self.hist[1], list(mean_loss)]
        self.epoch += 1


class Ref(Balancer):
    """a Balancer on a spec of tests/balance/, from mtlc's checkpoint: its
    parameters, SGD's velocity, the balancer's state"""

    def __init__(self, spec, method, ck):
        params, meta = ck
        net = Net(spec)
        with torch.no_grad():
            for n, p in net.named():
                p.copy_(params[n])
        names = [n for n, _ in net.named()] + (["balance.loss_scale"] if method in SCALE_INIT else [])

        def make_opt(ps):
            opt = torch.optim.SGD(ps, lr=0.1, momentum=0.5)
            for n, p in zip(names, ps):  # the velocity mtlc saved
                opt.state[p]["momentum_buffer"] = params[n + ".velocity"].clone()
            return opt

        st = words_to_state(meta, len(net.tasks)) if "balance_state" in meta else None
        super().__init__(net, method, make_opt, st, int(meta["epoch"]),
                         params.get("balance.loss_scale"))

    def params(self):
        out = {n: p.detach() for n, p in self.net.named()}
        if self.scale is not None:
            out["balance.loss_scale"] = self.scale.detach()
        return out


def check(d, spec, ck1, ckn, steps, methods):
    x = torch.from_numpy(np.load(f"{d}/x.npy"))
    ys = {}
    for t, (_, label, _) in SPECS[spec][1].items():
        y = torch.from_numpy(np.load(f"{d}/{t}.npy"))
        ys[t] = y.long() if label == "class" else y
    bad = 0
    for m in methods:
        key = "mgda_ub" if m.startswith("mgda(") else m
        md = f"{d}/{key}"
        ref = Ref(spec, key, load_ckpt(f"{md}/{ck1}"))
        for _ in range(steps):  # full batch: one step an epoch
            ref.step(x, ys)
            ref.epoch_end(ref.last_losses)
        want, _ = load_ckpt(f"{md}/{ckn}")
        worst, where = 0.0, ""
        for n, p in ref.params().items():
            rel = ((want[n] - p).abs().max() / p.abs().max().clamp_min(1e-30)).item()
            if rel > worst:
                worst, where = rel, n
        logged = [json.loads(l)["weights"] for l in open(f"{md}/log.json") if l.startswith('{"step"')]
        wl = max(abs(logged[-steps + k][t] - float(ref.weights[k][i])) /
                 max(abs(float(ref.weights[k][i])), 1e-12)
                 for k in range(steps) for i, t in enumerate(ref.net.tasks))
        ok = worst <= 1e-5
        bad += not ok
        print(f"{spec} {m:16s} {steps} steps: parameters max rel diff {worst:.2e} ({where}); "
              f"logged weights max rel diff {wl:.1e} {'ok' if ok else 'FAIL'}")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "--write":
        write_data(sys.argv[2], sys.argv[3])
        sys.exit(0)
    d, spec, ck1, ckn, steps = sys.argv[2:7]
    sys.exit(check(d, spec, ck1, ckn, int(steps), sys.argv[7:]))
