#!/usr/bin/env bash
# compare.sh - ordnet against PyTorch on this machine, in the same run: training images/s
# and test accuracy of the reference model with the default recipe, and inference
# images/s. Needs Debian's python3-torch (apt-get install python3-torch); ordnet built in
# build/. Usage: bash bench/compare.sh [EPOCHS] [LIMIT] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-1}
limit=${2:-20000}
threads=${3:-2}
[ -x build/ordnet ] || bash scripts/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== ordnet ($epochs epochs, $limit images, $threads threads)"
./build/ordnet train --epochs "$epochs" --limit "$limit" --test-limit 10000 --threads "$threads" \
    --json -o "$out/m.ckpt" | tee "$out/ordnet.json"
./build/ordnet optimize "$out/m.ckpt" -o "$out/o.ckpt" >/dev/null
start=$(date +%s.%N)
./build/ordnet eval "$out/o.ckpt" --json > /dev/null
end=$(date +%s.%N)
echo "== PyTorch ($(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
/usr/bin/python3 bench/torch_train.py --epochs "$epochs" --limit "$limit" --threads "$threads" --json \
    | tee "$out/torch.json"

/usr/bin/python3 - "$out" "$start" "$end" <<'PY'
import json, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
o = [json.loads(l) for l in open(f"{out}/ordnet.json")]
t = [json.loads(l) for l in open(f"{out}/torch.json")]
oi = sum(e["images_per_s"] for e in o) / len(o)
ti = sum(e["images_per_s"] for e in t) / len(t)
print(f"training images/s: ordnet {oi:.0f}, PyTorch {ti:.0f}: ordnet/PyTorch = {oi / ti:.2f}")
print(f"final test accuracy: ordnet {100 * o[-1]['test_accuracy']:.2f}%, PyTorch {100 * t[-1]['test_accuracy']:.2f}%")
ev = 10000 / (end - start)
print(f"inference (optimized model, eval of 10000 incl. loading): ordnet {ev:.0f} img/s, "
      f"PyTorch {t[-1]['infer_images_per_s']:.0f} img/s")
PY
