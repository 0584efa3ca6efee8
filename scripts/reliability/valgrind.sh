#!/usr/bin/env bash
# valgrind.sh - every test binary under valgrind's memcheck: memory errors and leaks
# (definite, indirect and possible; libgomp's worker threads suppressed by
# tests/valgrind.supp). Child processes (the CLI that some tests start) are not traced.
#
#   bash scripts/reliability/valgrind.sh [BUILD_DIR] [--skip NAME,...]    (default build)
#
# valgrind runs a program's threads one at a time, so the binaries run JOBS at a time
# (default: the number of CPUs). Prints one line per binary (time, errors, leaked bytes), in
# name order once all are done, and exits 1 when any has an error or a leak.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$root/build}")
skip=,${3:-},
[ "${2:-}" = --skip ] || skip=,,
jobs=${JOBS:-$(nproc)}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# check NAME EXE: writes $results/NAME.line (the summary line) and $results/NAME.fail (the
# log's head) when valgrind found something.
check() {
    local name=$1 exe=$2 args=() log start rc secs errors leaked
    [ "$name" = train_random ] && args=(5)
    log=$results/$name.log
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
    echo "$name: ${secs} s, ${errors:-?} errors, $leaked bytes leaked, exit $rc" >"$results/$name.line"
    [ $rc -ne 0 ] && grep -v "^==[0-9]*== *$" "$log" | head -40 >"$results/$name.fail"
    rm -f "$log"
}

names=()
for exe in "$build"/tests/test_* "$build"/train_random; do
    [ -x "$exe" ] || continue
    name=$(basename "$exe")
    names+=("$name")
    case $skip in *",$name,"*)
        echo "$name: skipped" >"$results/$name.line"
        continue
        ;;
    esac
    check "$name" "$exe" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait
status=0
for name in "${names[@]}"; do
    if [ -f "$results/$name.line" ]; then
        cat "$results/$name.line"
    else
        echo "$name: no result (the checker itself failed)"
        status=1
    fi
    if [ -f "$results/$name.fail" ]; then
        cat "$results/$name.fail"
        status=1
    fi
done
exit $status
