"""mtl_report.py OUT EPOCHS SCALES_EPOCHS LIMIT STEPS REPS BATCH: bench/MTL.md from what bench/mtl.sh
left in OUT (bench/out/mtl): time-METHOD.json (mtlc's and PyTorch's
samples per second at batch 256 on one thread, measured one after the other
in the same run) and acc-RUN-sSEED.json (the last epoch's line of a training
log). Missing measurements are reported as missing, never invented."""
import glob
import json
import math
import os
import platform
import sys

METHODS = ["static", "uncertainty", "dwa", "rlw", "gls", "famo", "gradnorm", "mgda",
           "mgda(on=trunk)", "pcgrad", "cagrad", "imtl", "aligned_mtl", "nash_mtl", "upgrad"]
LOSS = {"static", "uncertainty", "dwa", "rlw", "gls", "famo"}


def key(m):
    return "mgda_ub" if m.startswith("mgda(") else m


def load(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def mean_sd(xs):
    if not xs:
        return None
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd, len(xs)


def fmt(ms, digits=4, scale=1.0):
    if ms is None:
        return "—"
    m, sd, n = ms
    if n < 2:  # one seed: no spread to report
        return f"{m * scale:.{digits}f}"
    return f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f}"


def runs(out, name, task, metric):
    xs = []
    for f in sorted(glob.glob(f"{out}/acc-{name}-s*.json")):
        d = load(f)
        if d and task in d.get("test", {}) and metric in d["test"][task]:
            xs.append(d["test"][task][metric])
    return xs


def main(out, epochs, scales_epochs, limit, steps, reps, batch):
    T = 2
    lines = ["# Balancing the tasks: what it costs, what it pays", "",
             "Written by `make bench-mtl` (bench/mtl.sh, its stages `data`, `time`, "
             "`accuracy`, `report`; bench/README.md). mtlc's methods are compiled: the "
             "per-task gradients of the shared parameters and their Gramian come from "
             "generated code, the solver from the runtime. The PyTorch reference is "
             "tests/balance_ref.py, LibMTL's definitions with per-task gradients by "
             "torch.autograd, on the same net.", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, shared with other work "
             "(the load averages the timing stage saw are at the end).", "",
             "This run: " + (f"the first {limit} samples of each split (`LIMIT={limit}`), "
                             if limit else "the full splits, ") +
             f"{epochs} epochs on MultiFashion, {scales_epochs} on the scales data, "
             + (f"batch {batch}; " if batch else "the specs' batches (256, 64); ") +
             f"the timing {reps} repetitions of {steps} steps.", ""]
    # ---- time per step
    times = {m: load(f"{out}/time-{key(m)}.json") for m in METHODS}
    base = times.get("static")
    inter = all(t.get("interleaved") for t in times.values() if t)
    lines += ["## Time per step: MultiFashion, batch 256, one thread", "",
              "Median of the repetitions (min-max); samples per second of mtlc (JIT) and of "
              "PyTorch 1.13 on the same LeNet, measured in one run, "
              + ("mtlc's repetitions alternating with runs of its static, against which "
                 "\"x static\" is taken, so that a slow spell of the machine falls on both; "
                 "PyTorch's repetitions in one process after them (its steady state: single "
                 "repetitions in fresh processes were bimodal, mgda 1,600 to 4,600). "
                 if inter else "one after the other. ") +
              "Targets (issue 10): methods that weigh losses within 5% of static, "
              "MGDA-UB within 15%, gradient methods within 1 + 0.7 (T - 1) = "
              f"{1 + 0.7 * (T - 1):.1f} times static, every method at least 2x faster "
              "than its PyTorch reference.", "",
              "| method | mtlc samples/s | mtlc ms/step | x static | target | PyTorch samples/s "
              "| PyTorch ms/step | PyTorch x its static | mtlc / PyTorch |",
              "|---|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        t = times[m]
        if not t:
            lines.append(f"| `{m}` | — | — | — | — | — | — | — | — |")
            continue
        a, b = t["mtlc"]["median"], t["torch"]["median"]
        # x static: against the static runs alternating with this method's
        # where the stage took them, else against static's own entry
        sm = t["static_mtlc"]["median"] if "static_mtlc" in t else \
            base["mtlc"]["median"] if base else float("nan")
        ra = sm / a
        rb = base["torch"]["median"] / b if base else float("nan")
        lim = 1.05 if m in LOSS else 1.15 if m.startswith("mgda(") else 1 + 0.7 * (T - 1)
        ok = "met" if ra <= lim and a / b >= 2 else "missed"
        target = f"<= {lim:.2f} and 2x PyTorch, {ok}"
        if m == "static":
            target = "2x PyTorch, " + ("met" if a / b >= 2 else "missed")
        def spread(d):
            xs = d["samples_per_s"]
            return f"{d['median']:.0f} ({min(xs):.0f}-{max(xs):.0f})"
        lines.append(f"| `{m}` | {spread(t['mtlc'])} | {256e3 / a:.1f} | {ra:.2f} | {target} | "
                     f"{spread(t['torch'])} | {256e3 / b:.1f} | {rb:.2f} | {a / b:.2f}x |")
    lines += [""]
    # ---- accuracy
    for data, tasks, metric_of, e in (
            ("multifashion", ["left", "right"], {"left": "accuracy", "right": "accuracy"}, epochs),
            ("scales", ["cls", "reg"], {"cls": "accuracy", "reg": "mse"}, scales_epochs)):
        title = "MultiFashion" if data == "multifashion" else "Unbalanced scales"
        lines += [f"## {title}: test metrics after {e} epochs, mean ± sd over seeds", "",
                  "A value without a spread comes from one seed.", ""]
        if data == "scales":
            lines += ["A 4-class task (`cls`) and a regression (`reg`) whose loss starts about "
                      "1,000 times larger (`mtlc gen-data scales`).", ""]
        lines += ["| method | " + " | ".join(f"{t} {metric_of[t]}" for t in tasks) + " | seeds |",
                  "|---|" + "---|" * (len(tasks) + 1)]
        row = "| single-task baselines |"
        ns = []
        for t in tasks:
            xs = runs(out, f"{data}-only-{t}", t, metric_of[t])
            ns.append(len(xs))
            row += f" {fmt(mean_sd(xs))} |"
        lines.append(row + f" {min(ns) if ns else 0} |")
        for m in METHODS:
            row = f"| `{m}` |"
            ns = []
            for t in tasks:
                xs = runs(out, f"{data}-{key(m)}", t, metric_of[t])
                ns.append(len(xs))
                row += f" {fmt(mean_sd(xs))} |"
            lines.append(row + f" {min(ns)} |")
        lines.append("")
    try:
        loadavg = open(f"{out}/time-load.txt").read().strip().splitlines()
    except OSError:
        loadavg = []
    if loadavg:
        peak = max(float(l.split(":", 1)[1].split()[1]) for l in loadavg)
        if peak > (os.cpu_count() or 1):
            lines += ["**The 1-minute load average reached "
                      f"{peak:.1f} on {os.cpu_count()} cores during the timing stage**: each "
                      "process got a fraction of a core that changed from one measurement to "
                      "the next, so the ratios above are indicative only; rerun "
                      "`bench/mtl.sh time` on a quiet machine (remove bench/out/mtl/time-*) "
                      "before reading a target as met or missed.", ""]
        lines += ["## Load during the timing stage", "",
                  "`/proc/loadavg` before and after each method's pair of measurements "
                  "(1, 5 and 15 minute averages; other engineers' builds and tests ran "
                  "on the same cores):", "", "```"] + loadavg + ["```", ""]
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         int(sys.argv[6]), int(sys.argv[7]))
