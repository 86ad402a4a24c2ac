"""report.py: bench/out/*.json to the Markdown table of bench/RESULTS.md.
Ratios are computed pair by pair from the same run: mtlc's median over the
peer's (throughput: higher is better for mtlc; latency: the peer's time
over mtlc's, so again higher is better for mtlc)."""
import json, os, platform, subprocess, sys

out = sys.argv[1]
def lines(name):
    with open(os.path.join(out, name)) as f:
        return [json.loads(l) for l in f if l.strip()]

peak = lines("peak.json")[0]["peak_gflops_per_core"]
train, infer, check = lines("train.json"), lines("infer.json"), lines("check.json")

def cpu():
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip().splitlines()[0]
    except Exception:
        return "?"

print("# bench/RESULTS.md\n")
print("Written by `make bench` (bench/run.sh): every figure below comes from one run,")
print("on one machine, each mtlc figure set against its peer's from the same run.")
print("Medians of %d repetitions, with min and max.\n" % len(train[0]["samples_per_s"]))
print("- machine: %s, %d cores; FP32 peak measured %.1f GFLOP/s per core (bench/peak.c)"
      % (cpu(), os.cpu_count(), peak))
print("- mtlc %s; %s; %s" % (version("build/mtlc --version"), version("llvm-config-14 --version | sed 's/^/LLVM /'"),
                             version("/usr/bin/python3 -c 'import torch; print(\"PyTorch\", torch.__version__)'")))
print("- PyTorch runs with torch.set_num_threads(N), OMP_NUM_THREADS=N, OPENBLAS_NUM_THREADS=1,")
print("  MALLOC_MMAP_THRESHOLD_=33554432; mtlc with OPENBLAS_NUM_THREADS=N.\n")

print("## Training throughput, batch 64 (samples/s; forward, backward, update)\n")
print("| net | threads | mtlc JIT | mtlc C | PyTorch | JIT / PyTorch | C / PyTorch | GFLOP/s (JIT) | % of peak | peak RSS MiB (JIT / C / PyTorch) | compile s (JIT / C) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
def fmt(r, key="samples_per_s"):
    return "%.0f (%.0f-%.0f)" % (r["median"], r["min"], r["max"])
for spec in ["fashion_hard", "fashion_soft"]:
    for t in [1, 2]:
        rs = {r["backend"]: r for r in train if r["spec"] == spec and r["threads"] == t}
        j, c, p = rs["jit"], rs["c"], rs["pytorch"]
        print("| %s | %d | %s | %s | %s | %.2fx | %.2fx | %.1f | %.0f%% | %.0f / %.0f / %.0f | %.2f / %.2f |" % (
            spec, t, fmt(j), fmt(c), fmt(p), j["median"] / p["median"], c["median"] / p["median"],
            j["gflops"], 100 * j["gflops"] / (peak * t), j["peak_rss_mib"], c["peak_rss_mib"],
            p["peak_rss_mib"], j["compile_s"], c["compile_s"]))

print("\n## Inference latency, fashion_hard, one thread (microseconds per call)\n")
print("| batch | mtlc JIT | mtlc C | PyTorch | onnxruntime | PyTorch / JIT | onnxruntime / JIT |")
print("|---|---|---|---|---|---|---|")
for b in [1, 64]:
    rs = {r["backend"]: r for r in infer if r["batch"] == b}
    j, c, p, o = rs["jit"], rs["c"], rs["pytorch"], rs["onnxruntime"]
    print("| %d | %s | %s | %s | %s | %.2fx | %.2fx |" % (
        b, fmt(j), fmt(c), fmt(p), fmt(o), p["median"] / j["median"], o["median"] / j["median"]))

print("\n## Same weights, same input: outputs compared with mtlc's\n")
print("- PyTorch: largest difference %.2e of the largest output" % check[0]["max_rel_diff"])
ort = [r for r in infer if r["backend"] == "onnxruntime"]
print("- onnxruntime: largest difference %.2e of the largest output" % max(r["max_rel_diff"] for r in ort))
bad = check[0]["max_rel_diff"] > 1e-4 or any(r["max_rel_diff"] > 1e-4 for r in ort)
sys.exit(1 if bad else 0)
