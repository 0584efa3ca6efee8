#!/usr/bin/env bash
# interrupt.sh - kill -9 `ordnet train -o CKPT` and `ordnet study` at random moments, then
# check that what they leave is valid and that resuming reaches the result of a run that
# was never interrupted.
#
#   bash scripts/reliability/interrupt.sh [KILLS] [ORDNET]     (default 20, build/ordnet)
#
# train: a small model on 3000 Fashion-MNIST images for 5 epochs, checkpointing each epoch.
#   After each kill: the checkpoint, when there is one yet, loads (`ordnet eval`); then
#   `--resume` (or a fresh start when the kill came before the first checkpoint) must end
#   in a checkpoint byte-for-byte identical (cmp) to the uninterrupted run's.
# study: two orders x two seeds, two epochs each, on 1500 images.
#   After each kill: the SQLite store, when there is one yet, passes `PRAGMA
#   integrity_check`; then the same command again must finish, and its results.csv must
#   equal the uninterrupted study's in every column but the timings (order, class, seed,
#   test accuracy, test loss).
# Kill moments are drawn uniformly over the length of the uninterrupted run (seeded by
# SEED, default 1). Prints one line per kill and a summary; exits 1 on any failure.
set -uo pipefail
kills=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
ordnet=$(realpath "${2:-$here/../../build/ordnet}")
seed=${SEED:-1}
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
tmp=$(mktemp -d /tmp/ordnet-interrupt-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

# kills random moments in (0.02 s, T) from a seeded generator
moments() {
    /usr/bin/python3 -c "import random,sys; r=random.Random(int(sys.argv[1])); \
print(' '.join('%.3f' % r.uniform(0.02, float(sys.argv[2])) for _ in range(int(sys.argv[3]))))" "$@"
}
now() { date +%s.%N; }
elapsed() { /usr/bin/python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$@"; }

# Run a command in the background, kill -9 it after $1 seconds (if still running).
# Sets killed=1 when the signal reached it.
run_and_kill() {
    local after=$1
    shift
    "$@" >/dev/null 2>"$tmp/stderr" &
    local pid=$!
    sleep "$after"
    killed=0
    if kill -9 "$pid" 2>/dev/null; then killed=1; fi
    wait "$pid" 2>/dev/null
}

model="input(28,28,1) conv2d(8,3,same) bn relu maxpool conv2d(16,3) relu maxpool flatten dense(10)"
train=("$ordnet" train "$model" --data fashion-mnist --limit 3000 --test-limit 500 --epochs 5
    --batch 50 --threads 1)

echo "== train: the uninterrupted run"
t0=$(now)
"${train[@]}" -o "$tmp/ref.ckpt" >/dev/null || exit 1
T=$(elapsed "$t0" "$(now)")
echo "   $T s; final checkpoint $(sha256sum <"$tmp/ref.ckpt" | cut -c1-16)"
t_valid=0 t_none=0 t_same=0 t_bad=0 t_live=0 i=0
for at in $(moments "$seed" "$T" "$kills"); do
    i=$((i + 1))
    ck=$tmp/run.ckpt
    rm -f "$ck" "$ck".tmp.*
    run_and_kill "$at" "${train[@]}" -o "$ck"
    [ "$killed" = 1 ] || t_live=$((t_live + 1))
    state="no checkpoint yet"
    if [ -f "$ck" ]; then
        if "$ordnet" eval "$ck" --limit 20 --json >/dev/null 2>"$tmp/eval.err"; then
            state="checkpoint loads"
            t_valid=$((t_valid + 1))
        else
            state="CHECKPOINT INVALID: $(head -1 "$tmp/eval.err")"
            t_bad=$((t_bad + 1))
            fail=1
        fi
        epoch=$(/usr/bin/python3 -c "import json,struct,sys; b=open(sys.argv[1],'rb').read(); \
n=struct.unpack('<Q',b[:8])[0]; print(json.loads(b[8:8+n])['__metadata__']['epoch'])" "$ck")
        state="$state (epoch $epoch)"
        "${train[@]}" -o "$ck" --resume >/dev/null 2>"$tmp/resume.err"
    else
        t_none=$((t_none + 1))
        "${train[@]}" -o "$ck" >/dev/null 2>"$tmp/resume.err"
    fi
    leftovers=$(find "$tmp" -name 'run.ckpt.tmp.*' | wc -l)
    if cmp -s "$ck" "$tmp/ref.ckpt"; then
        t_same=$((t_same + 1))
        verdict="resumed: identical"
    else
        verdict="RESUMED RESULT DIFFERS: $(head -1 "$tmp/resume.err")"
        fail=1
    fi
    printf '  train kill %2d at %6.2f s%s: %s; %s%s\n' "$i" "$at" \
        "$([ "$killed" = 1 ] || echo ' (had finished)')" "$state" "$verdict" \
        "$([ "$leftovers" -gt 0 ] && echo "; $leftovers stale .tmp file(s)")"
    rm -f "$ck".tmp.*
done

study_args=("input(28,28,1) conv2d(8,3,same) {bn relu maxpool} flatten dense(10)"
    --block "bn,relu,maxpool" --orders "bn relu maxpool;maxpool bn relu" --seeds 2 --epochs 2
    --limit 1500 --test-limit 300 --threads 1)
echo "== study: the uninterrupted run"
t0=$(now)
"$ordnet" study "${study_args[@]}" --out "$tmp/ref-study" >/dev/null || exit 1
T=$(elapsed "$t0" "$(now)")
cut -d, -f1-5 "$tmp/ref-study/results.csv" >"$tmp/ref.csv"
echo "   $T s; $(($(wc -l <"$tmp/ref.csv") - 1)) runs in results.csv"
s_ok=0 s_none=0 s_same=0 s_bad=0 s_live=0 i=0
for at in $(moments "$((seed + 1))" "$T" "$kills"); do
    i=$((i + 1))
    out=$tmp/study
    rm -rf "$out"
    run_and_kill "$at" "$ordnet" study "${study_args[@]}" --out "$out"
    [ "$killed" = 1 ] || s_live=$((s_live + 1))
    db=$out/study.sqlite
    if [ -f "$db" ]; then
        chk=$(/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
print(c.execute('pragma integrity_check').fetchone()[0], \
c.execute(\"select count(*) from sqlite_master where name='runs'\").fetchone()[0] and \
c.execute('select count(*) from runs').fetchone()[0])" "$db" 2>&1)
        if [ "${chk%% *}" = ok ]; then
            state="store ok, ${chk#* } runs stored"
            s_ok=$((s_ok + 1))
        else
            state="STORE DAMAGED: $chk"
            s_bad=$((s_bad + 1))
            fail=1
        fi
    else
        state="no store yet"
        s_none=$((s_none + 1))
    fi
    "$ordnet" study "${study_args[@]}" --out "$out" >/dev/null 2>"$tmp/resume.err"
    if [ -f "$out/results.csv" ] && cut -d, -f1-5 "$out/results.csv" | cmp -s - "$tmp/ref.csv"; then
        s_same=$((s_same + 1))
        verdict="resumed: same results"
    else
        verdict="RESUMED RESULTS DIFFER: $(head -1 "$tmp/resume.err")"
        fail=1
    fi
    printf '  study kill %2d at %6.2f s%s: %s; %s\n' "$i" "$at" \
        "$([ "$killed" = 1 ] || echo ' (had finished)')" "$state" "$verdict"
done

echo "== summary"
echo "train: $kills kills ($t_live after the run had finished): $t_valid checkpoints load, $t_none before the first, $t_bad invalid; $t_same of $kills resumed to an identical checkpoint"
echo "study: $kills kills ($s_live after the run had finished): $s_ok stores pass integrity_check, $s_none before the store existed, $s_bad damaged; $s_same of $kills resumed to the same results"
exit $fail
