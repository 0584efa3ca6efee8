// ort_bench.js - ONNX Runtime (CPU) on an ONNX file: inference images/s at a batch size and
// batch-1 latency, as `ordnet bench --infer-only --json` reports them, for bench/run.sh.
// ONNX Runtime comes from npm (bench/ort_setup.sh installs onnxruntime-node into build/ort).
//
//   node bench/ort_bench.js MODEL.onnx C,H,W BATCH THREADS SECONDS
// prints one JSON line: {"engine":"onnxruntime","version":..,"infer_img_s":..,"latency_ms":..}
"use strict";
const path = require("path");
const ort = require(path.join(__dirname, "..", "build", "ort", "node_modules", "onnxruntime-node"));

function now() {
    const [s, ns] = process.hrtime();
    return s + ns * 1e-9;
}

async function main() {
    const [model, shapeArg, batchArg, threadsArg, secsArg] = process.argv.slice(2);
    if (!secsArg) throw new Error("usage: node ort_bench.js MODEL.onnx C,H,W BATCH THREADS SECONDS");
    const sample = shapeArg.split(",").map(Number);
    const batch = Number(batchArg), threads = Number(threadsArg), secs = Number(secsArg);
    const session = await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
    });
    const input = session.inputNames[0];
    const feed = (n) => {
        const size = n * sample.reduce((a, b) => a * b, 1);
        const data = new Float32Array(size);
        for (let i = 0; i < size; i++) data[i] = Math.sin(i * 0.37); // deterministic, not constant
        return { [input]: new ort.Tensor("float32", data, [n, ...sample]) };
    };
    // throughput: warm up, then as many runs as fit in `secs`
    const big = feed(batch);
    for (let i = 0; i < 3; i++) await session.run(big);
    let runs = 0;
    const t0 = now();
    while (now() - t0 < secs || runs < 3) {
        await session.run(big);
        runs++;
    }
    const imgs = (runs * batch) / (now() - t0);
    // latency: the median of single-sample runs over SECONDS / 2, as ordnet bench and
    // torch_bench.py take it
    const one = feed(1);
    for (let i = 0; i < 10; i++) await session.run(one);
    const times = [];
    const t1 = now();
    while (now() - t1 < secs / 2 || times.length < 10) {
        const a = now();
        await session.run(one);
        times.push(now() - a);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({
        engine: "onnxruntime",
        version: ort.env.versions ? ort.env.versions.common : "?",
        threads, batch, infer_img_s: imgs,
        latency_ms: 1e3 * times[Math.floor(times.length / 2)],
    }));
}

main().catch((e) => {
    console.error(`ort_bench.js: ${e.message}`);
    process.exit(1);
});
