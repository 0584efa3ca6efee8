#!/usr/bin/env bash
# run.sh - set up and build ordnet, then run its main job on its default data:
# training the reference model on Fashion-MNIST (the order study replaces this once it
# lands). Extra arguments go to `ordnet train`.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec ./build/ordnet train "$@"
