// ort_bench.js: onnxruntime's peer numbers, through the npm package
// onnxruntime-node on one thread: inference latency of the hard-sharing net
// exported by torch_bench.py, at a given batch, and a check that its outputs
// equal mtlc's on the dumped input (exit 1 beyond 1e-4 relative).
// usage: node ort_bench.js DIR BATCH STEPS REPS
const ort = require("onnxruntime-node");
const fs = require("fs");
const path = require("path");

function floats(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
}

async function main() {
  const [dir, batch, steps, reps] = process.argv.slice(2);
  const B = Number(batch), S = Number(steps), R = Number(reps);
  const session = await ort.InferenceSession.create(path.join(dir, "hard.onnx"), {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all",
  });
  const all = floats(path.join(dir, "input.f32"));
  const n = all.length / 784;
  // check: the whole dumped batch against mtlc's outputs
  const res = await session.run({ image: new ort.Tensor("float32", all, [n, 1, 28, 28]) });
  let worst = 0;
  for (const name of ["item", "category"]) {
    const ref = floats(path.join(dir, `output_${name}.f32`));
    const got = res[name].data;
    let diff = 0, mag = 0;
    for (let i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(got[i] - ref[i]));
      mag = Math.max(mag, Math.abs(ref[i]));
    }
    worst = Math.max(worst, diff / mag);
  }
  const x = new ort.Tensor("float32", all.slice(0, B * 784), [B, 1, 28, 28]);
  for (let i = 0; i < 3; i++) await session.run({ image: x });
  const us = [];
  for (let r = 0; r < R; r++) {
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < S; s++) await session.run({ image: x });
    us.push(Number(process.hrtime.bigint() - t0) / 1e3 / S);
  }
  const sorted = [...us].sort((a, b) => a - b);
  console.log(JSON.stringify({
    spec: "fashion_hard", backend: "onnxruntime", mode: "infer", threads: 1, batch: B,
    us_per_call: us, median: sorted[Math.floor(R / 2)], min: sorted[0], max: sorted[R - 1],
    max_rel_diff: worst, peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  }));
  process.exit(worst <= 1e-4 ? 0 : 1);
}
main().catch((e) => { console.error(e); process.exit(2); });
