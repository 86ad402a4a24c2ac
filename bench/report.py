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

def fmt(r, key="samples_per_s"):
    return "%.0f (%.0f-%.0f)" % (r["median"], r["min"], r["max"])
def cores(rows):
    seen = []
    for r in rows:
        if r.get("coretype", "unset") not in seen:
            seen.append(r.get("coretype", "unset"))
    return seen
print("## Training throughput, batch 64 (samples/s; forward, backward, update)\n")
print("mtlc's GEMMs are its own (runtime/mtl_gemm.c, AVX-512) where the CPU has them and B is")
print("not transposed; the")
print("column \"JIT, OpenBLAS GEMMs\" is the same JIT code with `MTL_GEMM=blas`, OpenBLAS's")
print("cblas_sgemm under the row's OPENBLAS_CORETYPE, as before mtl_gemm.c.\n")
print("| net | threads | OPENBLAS_CORETYPE | mtlc JIT | mtlc C | JIT, OpenBLAS GEMMs | PyTorch | JIT / PyTorch | C / PyTorch | JIT / its OpenBLAS GEMMs | GFLOP/s (JIT) | % of peak | peak RSS MiB (JIT / C / PyTorch) | compile s (JIT / C) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for spec in ["fashion_hard", "fashion_soft"]:
    for t in [1, 2]:
        for ct in cores(train):
            rows = [r for r in train if r["spec"] == spec and r["threads"] == t and r.get("coretype", "unset") == ct]
            rs = {(r["backend"], r.get("gemm", "")): r for r in rows}
            j, c, p = rs[("jit", "own")], rs[("c", "own")], rs[("pytorch", "")]
            o = rs[("jit", "blas")]
            print("| %s | %d | %s | %s | %s | %s | %s | %.2fx | %.2fx | %.2fx | %.1f | %.0f%% | %.0f / %.0f / %.0f | %.2f / %.2f |" % (
                spec, t, ct, fmt(j), fmt(c), fmt(o), fmt(p), j["median"] / p["median"], c["median"] / p["median"],
                j["median"] / o["median"], j["gflops"], 100 * j["gflops"] / (peak * t), j["peak_rss_mib"],
                c["peak_rss_mib"], p["peak_rss_mib"], j["compile_s"], c["compile_s"]))

print("\n## Inference latency, fashion_hard, one thread (microseconds per call)\n")
print("The inference-only C is `mtlc emit-c --infer --batch B` (no BLAS, no runtime; its GEMMs")
print("loop nests generated for their shapes), gcc -O3 -march=native; it does not read")
print("OPENBLAS_CORETYPE, nor does onnxruntime: theirs is one figure per batch.\n")
print("| batch | OPENBLAS_CORETYPE | mtlc JIT | mtlc C | inference-only C | PyTorch | onnxruntime | PyTorch / JIT | onnxruntime / JIT | onnxruntime / inference-only C |")
print("|---|---|---|---|---|---|---|---|---|---|")
for b in [1, 16, 64]:
    for ct in cores([r for r in infer if "coretype" in r]):
        rs = {r["backend"]: r for r in infer if r["batch"] == b and r.get("coretype", ct) == ct}
        j, c, p, o, i = rs["jit"], rs["c"], rs["pytorch"], rs["onnxruntime"], rs["inference-only C"]
        print("| %d | %s | %s | %s | %s | %s | %s | %.2fx | %.2fx | %.2fx |" % (
            b, ct, fmt(j), fmt(c), fmt(i), fmt(p), fmt(o), p["median"] / j["median"],
            o["median"] / j["median"], o["median"] / i["median"]))

print("\n## Same weights, same input: outputs compared with mtlc's\n")
print("- PyTorch: largest difference %.2e of the largest output" % check[0]["max_rel_diff"])
ort = [r for r in infer if r["backend"] == "onnxruntime"]
print("- onnxruntime: largest difference %.2e of the largest output" % max(r["max_rel_diff"] for r in ort))
bad = check[0]["max_rel_diff"] > 1e-4 or any(r["max_rel_diff"] > 1e-4 for r in ort)
sys.exit(1 if bad else 0)
