#!/usr/bin/env bash
# mobilenet.sh - MobileNet v2 inference (torchvision's, full width, 224x224, random weights)
# in ordnet against tuned PyTorch on this machine, in ONE run: ordnet runs the ONNX export
# (bench/torch_export.py; `ordnet bench` optimizes it: BatchNorm folded into the
# depthwise and pointwise convs), PyTorch the module (bench/torch_bench.py), alternately
# for ROUNDS rounds; inference images/s at batch 8 and batch-1 latency, medians and ratios
# as a Markdown table. First checks `ordnet run` of the export against PyTorch's logits.
# Needs Debian's python3-torch, python3-torchvision and python3-onnx; builds ordnet if
# needed. Run it on a quiet machine (both engines' threads spin while waiting).
#
#   bash bench/mobilenet.sh [ROUNDS (3)] [SECONDS per measurement (3)] [THREADS (2)]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-3}
threads=${3:-2}
[ -x build/ordnet ] || bash scripts/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# PyTorch "tuned" as in bench/run.sh: OpenBLAS's own threads off, glibc malloc keeping memory
tuned=(env OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=33554432
       MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456)
onnx=build/mobilenet_v2.onnx
[ -f "$onnx" ] || /usr/bin/python3 bench/torch_export.py --model mobilenet_v2 --out "$onnx" >&2

./build/ordnet run "$onnx" --input "$onnx.x.npy" -o "$out/y.npy" --quiet
/usr/bin/python3 - "$out/y.npy" "$onnx.y.npy" <<'PY'
import sys
import numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
e = float(np.abs(a - b).max() / np.abs(b).max())
print(f"ordnet run vs PyTorch logits: max error {e:.2e} (relative to the largest logit)")
sys.exit(0 if e < 1e-4 else 1)
PY

for r in $(seq "$rounds"); do
    echo "mobilenet_v2 round $r" >&2
    ./build/ordnet bench "$onnx" --infer-only --infer-batch 8 --threads "$threads" \
        --seconds "$secs" --no-layers --json >> "$out/ordnet.json"
    "${tuned[@]}" /usr/bin/python3 bench/torch_bench.py --model mobilenet_v2 --infer-only \
        --infer-batch 8 --threads "$threads" --seconds "$secs" --json >> "$out/tuned.json"
done

/usr/bin/python3 - "$out" "$threads" <<'PY'
import json, os, statistics, sys
out, threads = sys.argv[1], sys.argv[2]
def load(name):
    return [json.loads(l) for l in open(os.path.join(out, name))]
def med(rs, k):
    return statistics.median(r[k] for r in rs)
o, q = load("ordnet.json"), load("tuned.json")
oi, qi = med(o, "infer_images_per_s"), med(q, "infer_images_per_s")
ol, ql = med(o, "latency_ms_batch1"), med(q, "latency_ms_batch1")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"\nCPU: {cpu}; medians of {len(o)} alternating rounds\n")
print(f"| MobileNet v2, 224x224, {threads} threads | ordnet (ONNX, optimized) | PyTorch tuned | ratio |")
print("| --- | --- | --- | --- |")
print(f"| inference images/s, batch 8 | {oi:.1f} | {qi:.1f} | **{oi / qi:.2f}x** |")
print(f"| latency ms, batch 1 | {ol:.1f} | {ql:.1f} | **{ol / ql:.2f}** |")
PY
echo
echo "Per-layer profile (ordnet, $threads threads, batch 8):"
./build/ordnet bench "$onnx" --infer-only --infer-batch 8 --threads "$threads" \
    --seconds "$secs" | sed -n '/^machine/,$p'
