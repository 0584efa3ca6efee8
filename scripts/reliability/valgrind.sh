#!/usr/bin/env bash
# valgrind.sh - every test binary under valgrind's memcheck: memory errors and leaks
# (definite, indirect and possible; libgomp's worker threads suppressed by
# tests/valgrind.supp). Child processes (the CLI that some tests start) are not traced.
#
#   bash scripts/reliability/valgrind.sh [BUILD_DIR] [--skip NAME,...]    (default build)
#
# Prints one line per binary (time, errors, leaked bytes) and exits 1 when any has an error
# or a leak.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
skip=,${3:-},
[ "${2:-}" = --skip ] || skip=,,
status=0
for exe in "$build"/tests/test_* "$build"/train_random; do
    [ -x "$exe" ] || continue
    name=$(basename "$exe")
    case $skip in *",$name,"*)
        echo "$name: skipped"
        continue
        ;;
    esac
    args=()
    [ "$name" = train_random ] && args=(5)
    log=$(mktemp)
    start=$(date +%s)
    (cd "$root/tests" && OMP_WAIT_POLICY=PASSIVE valgrind --suppressions="$root/tests/valgrind.supp" \
        --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=3 \
        "$exe" "${args[@]}" >/dev/null 2>"$log")
    rc=$?
    secs=$(($(date +%s) - start))
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | head -1)
    leaked=$(sed -n 's/.*\(definitely\|indirectly\|possibly\) lost: \([0-9,]*\) bytes.*/\2/p' "$log" |
        tr -d , | awk '{s += $1} END {print s + 0}')
    echo "$name: ${secs} s, ${errors:-?} errors, $leaked bytes leaked, exit $rc"
    if [ $rc -ne 0 ]; then
        grep -v "^==[0-9]*== *$" "$log" | head -40
        status=1
    fi
    rm -f "$log"
done
exit $status
