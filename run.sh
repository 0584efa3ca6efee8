#!/usr/bin/env bash
# run.sh - set up and build ordnet, then run its main job on its default data: the order
# study of the reference CNN's block {bn, relu, maxpool, dropout(0.2)} on Fashion-MNIST
# (report in study-out/). Extra arguments go to `ordnet study` (try --help).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec ./build/ordnet study "$@"
