#!/usr/bin/env bash
# study_agreement.sh - do two seed sets give the same answers? Runs the default study twice,
# with seeds 1-3 and with seeds 101-103 (--seed-base 100), and prints each report's verdict
# and the forum thread's questions side by side. About 2 x 5 minutes on a quiet 2-core
# machine; run it when nothing else runs (the speed answer is measured).
#
#   bash bench/study_agreement.sh [BUILD_DIR] [extra ordnet study options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
shift || true
out=$(mktemp -d /tmp/study-agreement.XXXXXX)
"$build/ordnet" study --out "$out/seeds-1" "$@" >/dev/null
"$build/ordnet" study --seed-base 100 --out "$out/seeds-101" "$@" >/dev/null
for d in seeds-1 seeds-101; do
    echo "=== $d ($out/$d/report.md)"
    sed -n '/^## Verdict/,/^## Speed, measured/p' "$out/$d/report.md" | grep -v '^## Speed'
done
