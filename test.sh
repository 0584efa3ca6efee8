#!/usr/bin/env bash
# test.sh - set up and build ordnet, then run the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
cd build && ctest --output-on-failure -j2
