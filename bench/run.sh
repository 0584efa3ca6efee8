#!/usr/bin/env bash
# run.sh - ordnet against PyTorch on this machine, in ONE run: the reference model (or
# MODEL) trained and run by `ordnet bench` and by its PyTorch twin (bench/torch_bench.py),
# PyTorch both as installed and tuned, alternately (ordnet, torch, torch tuned, ordnet, ...)
# for ROUNDS rounds per setting; prints the medians and the ratios as a Markdown table.
# Needs Debian's python3-torch, python3-torchvision and python3-onnx (the torchvision
# models); builds ordnet if needed.
#
#   bash bench/run.sh [ROUNDS (3)] [SECONDS per measurement (3)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-3}
[ -x build/ordnet ] || bash scripts/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# PyTorch "tuned" as in the speed issue: OpenBLAS's own threads off (they fight PyTorch's),
# glibc malloc keeping its memory instead of returning it to the system at every step.
tuned=(env OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432
       MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)
# Run it on a quiet machine: both engines' OpenMP threads spin while waiting, and lose
# several-fold when another process competes for the cores.

for threads in 2 1; do
    for batch in 128 32; do
        for r in $(seq "$rounds"); do
            echo "threads $threads batch $batch round $r" >&2
            ./build/ordnet bench --threads "$threads" --batch "$batch" --seconds "$secs" \
                --no-layers --json >> "$out/ordnet-$threads-$batch.json"
            /usr/bin/python3 bench/torch_bench.py --threads "$threads" --batch "$batch" \
                --seconds "$secs" --json >> "$out/torch-$threads-$batch.json"
            "${tuned[@]}" /usr/bin/python3 bench/torch_bench.py --threads "$threads" \
                --batch "$batch" --seconds "$secs" --json >> "$out/tuned-$threads-$batch.json"
        done
    done
done

# ONNX Runtime (npm's onnxruntime-node, CPU) as the third engine for inference, over ONNX
# files: the reference model as ordnet exports it (random weights: speed does not depend
# on them) and the ResNet-18 export below. Skipped, with a note, where npm is missing.
ort=0
if bash bench/ort_setup.sh >&2; then
    ort=1
    [ -f build/reference.ckpt ] || ./build/ordnet train --limit 256 --epochs 1 \
        -o build/reference.ckpt >/dev/null
    ./build/ordnet export build/reference.ckpt -o build/reference.onnx >/dev/null
fi

# torchvision's ResNet-18, ResNet-50 and MobileNet v2 (full width, 224x224) at inference:
# ordnet runs the ONNX export (optimized: BatchNorm folded) after checking its output against
# PyTorch's, PyTorch tuned runs the module, ONNX Runtime the same ONNX file; batch 8 and
# batch 1, 2 threads. REAL_MODELS (space-separated) picks others or none.
real_models=${REAL_MODELS-resnet18 resnet50 mobilenet_v2}
for m in $real_models; do
    [ -f "build/$m.onnx" ] || /usr/bin/python3 bench/torch_export.py --model "$m" >&2
    ./build/ordnet run "build/$m.onnx" --input "build/$m.onnx.x.npy" -o "$out/$m.y.npy" --quiet
    /usr/bin/python3 -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
e = float(np.abs(a - b).max() / np.abs(b).max())
print(f"{sys.argv[3]}: ordnet run vs PyTorch logits, max error {e:.2e}", file=sys.stderr)
sys.exit(0 if e < 1e-4 else 1)' "$out/$m.y.npy" "build/$m.onnx.y.npy" "$m"
done
for r in $(seq "$rounds"); do
    for m in $real_models; do
        echo "$m round $r" >&2
        ./build/ordnet bench "build/$m.onnx" --infer-only --infer-batch 8 --threads 2 \
            --seconds "$secs" --no-layers --json >> "$out/ordnet-$m.json"
        "${tuned[@]}" /usr/bin/python3 bench/torch_bench.py --model "$m" --infer-only \
            --infer-batch 8 --threads 2 --seconds "$secs" --json >> "$out/tuned-$m.json"
        if [ "$ort" = 1 ]; then
            node bench/ort_bench.js "build/$m.onnx" 3,224,224 8 2 "$secs" >> "$out/ort-$m.json"
        fi
    done
    if [ "$ort" = 1 ]; then
        # The reference model's ONNX file on both engines back to back, on one thread both
        # pinned to the same CPU (each round the next one): the two CPUs of these machines
        # ran at times at 0.7x of each other's speed, for minutes, and an engine timed on the
        # slow one, or minutes before the other, moved the ratio by a fifth.
        for t in 2 1; do
            pin=()
            if [ "$t" = 1 ] && command -v taskset >/dev/null; then
                pin=(taskset -c $(((r - 1) % $(nproc))))
            fi
            "${pin[@]}" node bench/ort_bench.js build/reference.onnx 1,28,28 256 "$t" "$secs" \
                >> "$out/ort-$t.json"
            "${pin[@]}" ./build/ordnet bench build/reference.onnx --infer-only --infer-batch 256 \
                --threads "$t" --seconds "$secs" --no-layers --json >> "$out/ordnet-ref-$t.json"
        done
    fi
done

/usr/bin/python3 - "$out" <<'PY'
import json, os, platform, statistics, subprocess, sys
out = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(os.path.join(out, name))]
def med(rs, k):
    return statistics.median(r[k] for r in rs)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
torch_v = load("torch-2-128.json")[0]["torch"]
print(f"CPU: {cpu}; {os.cpu_count()} cores; PyTorch {torch_v}; "
      f"medians of {len(load('torch-2-128.json'))} alternating rounds\n")
print("| threads | batch | ordnet train img/s | PyTorch | tuned | ordnet / tuned |")
print("| --- | --- | --- | --- | --- | --- |")
for t in (2, 1):
    for b in (128, 32):
        o, p, q = (load(f"{w}-{t}-{b}.json") for w in ("ordnet", "torch", "tuned"))
        ot, pt, qt = med(o, "train_images_per_s"), med(p, "train_images_per_s"), med(q, "train_images_per_s")
        print(f"| {t} | {b} | {ot:.0f} | {pt:.0f} | {qt:.0f} | **{ot / qt:.2f}x** |")
print("\n| threads | ordnet infer img/s (batch 256, optimized) | PyTorch | tuned | ordnet / tuned "
      "| batch-1 latency ms: ordnet | tuned | ordnet / tuned |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for t in (2, 1):
    o, p, q = (load(f"{w}-{t}-128.json") + load(f"{w}-{t}-32.json") for w in ("ordnet", "torch", "tuned"))
    oi, pi, qi = med(o, "infer_images_per_s"), med(p, "infer_images_per_s"), med(q, "infer_images_per_s")
    ol, ql = med(o, "latency_ms_batch1"), med(q, "latency_ms_batch1")
    print(f"| {t} | {oi:.0f} | {pi:.0f} | {qi:.0f} | **{oi / qi:.2f}x** | {ol:.3f} | {ql:.3f} | **{ol / ql:.2f}** |")
o, p, q = (load(f"{w}-2-128.json") for w in ("ordnet", "torch", "tuned"))
om, pm, qm = med(o, "peak_rss_mb"), med(p, "peak_rss_mb"), med(q, "peak_rss_mb")
real = os.environ.get("REAL_MODELS", "resnet18 resnet50 mobilenet_v2").split()
if real:
    print("\n| 224x224, 2 threads | batch 8 img/s: ordnet | tuned | ordnet / tuned "
          "| batch-1 ms: ordnet | tuned | ordnet / tuned |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
for m in real:
    o, q = load(f"ordnet-{m}.json"), load(f"tuned-{m}.json")
    oi, qi = med(o, "infer_images_per_s"), med(q, "infer_images_per_s")
    ol, ql = med(o, "latency_ms_batch1"), med(q, "latency_ms_batch1")
    print(f"| {m} | {oi:.1f} | {qi:.1f} | **{oi / qi:.2f}x** | {ol:.1f} | {ql:.1f} | **{ol / ql:.2f}** |")
if os.path.exists(os.path.join(out, "ort-2.json")):
    print("\n| ONNX Runtime, same ONNX files | ORT | ordnet | ordnet / ORT |")
    print("| --- | --- | --- | --- |")
    for t in (2, 1):
        r, o = load(f"ort-{t}.json"), load(f"ordnet-ref-{t}.json")
        ri, rl = med(r, "infer_img_s"), med(r, "latency_ms")
        oi, ol = med(o, "infer_images_per_s"), med(o, "latency_ms_batch1")
        print(f"| reference model, batch 256, {t} thread(s), img/s | {ri:.0f} | {oi:.0f} | **{oi / ri:.2f}x** |")
        print(f"| reference model, batch-1 latency ms, {t} thread(s) | {rl:.3f} | {ol:.3f} | **{ol / rl:.2f}** |")
    for m in real:
        r, o = load(f"ort-{m}.json"), load(f"ordnet-{m}.json")
        ri, rl = med(r, "infer_img_s"), med(r, "latency_ms")
        oi, ol = med(o, "infer_images_per_s"), med(o, "latency_ms_batch1")
        print(f"| {m}, batch 8, 2 threads, img/s | {ri:.1f} | {oi:.1f} | **{oi / ri:.2f}x** |")
        print(f"| {m}, batch-1 latency ms, 2 threads | {rl:.1f} | {ol:.1f} | **{ol / rl:.2f}** |")
else:
    print("\n(ONNX Runtime not measured: npm was not available)")
print(f"\nPeak RSS training at batch 128 (2 threads): ordnet {om:.0f} MB, PyTorch {pm:.0f} MB, "
      f"tuned {qm:.0f} MB: ordnet / tuned = **{om / qm:.2f}**")
PY
echo
echo "Per-layer profile (ordnet, 2 threads, batch 128):"
./build/ordnet bench --threads 2 --seconds "$secs" | sed -n '/^machine/,$p'
