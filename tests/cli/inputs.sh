#!/usr/bin/env bash
# inputs.sh ORDNET - a Keras model with two Inputs (tests/fuzz/corpus_spec/inputs_siamese.py,
# two (4,) Inputs): summary and analyze read it; train and study refuse it, naming the
# Inputs, even on data whose 8 columns have the size of both Inputs together.
set -u
ordnet=$1
model=$(dirname "$0")/../fuzz/corpus_spec/inputs_siamese.py
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
want="this model has 2 inputs: left (None, 4), right (None, 4); ordnet trains and runs models with one input"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 0 19); do echo "$((i % 2)),1,2,3,4,5,6,7,$i"; done >"$tmp/d.csv"

out=$("$ordnet" summary "$model" 2>&1) || fail "summary exits $?: $out"
grep -q "Total params: 71 " <<<"$out" || fail "summary: $out"
out=$("$ordnet" analyze "$model" 2>&1) || fail "analyze exits $?: $out"
out=$("$ordnet" train "$model" --data "$tmp/d.csv" --epochs 1 -o "$tmp/c.ckpt" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -qF "$want" <<<"$out" || fail "train: exit $rc: $out"
[ ! -e "$tmp/c.ckpt" ] || fail "train wrote a checkpoint"
out=$("$ordnet" study "$model" --data "$tmp/d.csv" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -qF "$want" <<<"$out" || fail "study: exit $rc: $out"
[ $fails -eq 0 ] && echo "ok: two Inputs read, and refused for data" || exit 1
