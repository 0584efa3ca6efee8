#!/usr/bin/env bash
# ort_setup.sh - install ONNX Runtime's CPU build for the benchmarks, from npm, into
# build/ort (not committed). onnxruntime-node bundles libonnxruntime for Linux x64; its
# install script only fetches optional extras (and fails offline), so it is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build/ort/node_modules/onnxruntime-node ] && exit 0
command -v npm >/dev/null || { echo "ort_setup.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p build/ort
(cd build/ort && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node@1 >&2)
