#!/usr/bin/env bash
# limits.sh - absurd sizes, a full disk and a missing data set, through the CLI.
#
#   bash scripts/reliability/limits.sh [ORDNET]          (default build/ordnet; root for 2 and 3)
#
# 1. Absurd models (Dense(10**12), a 10^6-channel convolution, huge inputs) given to
#    `ordnet summary` with the address space limited to 2 GiB: each must be refused with
#    a message about its size, not an allocation failure or a crash.
# 2. A full disk: a 256 KiB tmpfs holds a checkpoint; the rest of it is filled, and a
#    training run saving a bigger model to the same path must fail with "No space left on
#    device" and leave the old checkpoint byte-for-byte intact and loadable, with no
#    temporary file. Then a study whose store is on a full disk: a clear error, and the
#    store keeps its runs and passes PRAGMA integrity_check.
# 3. A missing data set: Debian's Fashion-MNIST hidden by an empty tmpfs in a private
#    mount namespace (unshare -m), and a directory that does not exist.
# Exits 1 when a check fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ordnet=$(realpath "${1:-$here/../../build/ordnet}")
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
tmp=$(mktemp -d /tmp/ordnet-limits-XXXXXX)
fail=0
mnt=""
# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
check() { # check DESCRIPTION CONDITION-EXIT-STATUS
    if [ "$2" -eq 0 ]; then echo "  ok    $1"; else
        echo "  FAIL  $1"
        fail=1
    fi
}

echo "== 1. absurd sizes (ordnet summary, address space limited to 2 GiB)"
cat >"$tmp/dense.py" <<'PY'
from tensorflow import keras
from tensorflow.keras import layers
model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10**12)])
PY
cat >"$tmp/conv.py" <<'PY'
from tensorflow import keras
from tensorflow.keras import layers
inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(10**6, 3, padding="same")(inputs)
model = keras.Model(inputs, x)
PY
cat >"$tmp/input.py" <<'PY'
from tensorflow import keras
from tensorflow.keras import layers
model = keras.Sequential([keras.Input(shape=(100000, 100000, 3)), layers.Conv2D(8, 3)])
PY
for m in "$tmp/dense.py" "input(28,28,1) flatten dense(1000000000000)" \
    "$tmp/conv.py" "input(28,28,1) conv2d(1000000,3)" \
    "$tmp/input.py" "input(100000,100000,3) conv2d(8,3) global_avgpool dense(10)" \
    "input(1000000,1000000,1000000) relu" "input(28,28,1) flatten dense(1000000) dense(1000000)"; do
    msg=$( (ulimit -v 2097152 && "$ordnet" summary "$m") 2>&1 >/dev/null)
    rc=$?
    ok=1
    [ $rc -eq 1 ] && [ -n "$msg" ] && ! echo "$msg" | grep -qi "out of memory\|sanitizer" && ok=0
    name=$m
    [ -f "$m" ] && name="$(basename "$m"): $(grep -o 'Dense(10\*\*12)\|Conv2D(10\*\*6, 3[^)]*)\|Input(shape=(100000[^)]*)' "$m")"
    check "$name -> exit $rc: ${msg#ordnet summary: }" $ok
done

if [ "$(id -u)" -ne 0 ]; then
    echo "== 2, 3: skipped (need root for mount and unshare)"
    exit $fail
fi

echo "== 2. a full disk while saving"
mnt=$tmp/disk
mkdir -p "$mnt"
mount -t tmpfs -o size=256k tmpfs "$mnt" || exit 1
small="input(28,28,1) maxpool(4) conv2d(4,3) relu flatten dense(10)"
big="input(28,28,1) conv2d(16,3) relu maxpool(2) conv2d(32,3) relu flatten dense(10)"
"$ordnet" train "$small" --limit 200 --epochs 1 -o "$mnt/model.ckpt" >/dev/null
before=$(sha256sum <"$mnt/model.ckpt")
size=$(stat -c %s "$mnt/model.ckpt")
dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null # until the disk is full
echo "   checkpoint $size bytes; disk: $(df -k --output=avail "$mnt" | tail -1 | tr -d ' ') KiB free"
msg=$("$ordnet" train "$big" --limit 200 --epochs 1 -o "$mnt/model.ckpt" 2>&1 >/dev/null)
rc=$?
check "training that saves a bigger model exits $rc: $(echo "$msg" | head -1)" \
    "$([ $rc -ne 0 ] && echo "$msg" | grep -q "No space left on device" && echo 0 || echo 1)"
check "the previous checkpoint is byte-for-byte intact" \
    "$([ "$(sha256sum <"$mnt/model.ckpt")" = "$before" ] && echo 0 || echo 1)"
"$ordnet" eval "$mnt/model.ckpt" --limit 100 >/dev/null 2>&1
check "and loads (ordnet eval)" $?
left=$(find "$mnt" -name '*.tmp.*' | wc -l)
check "no temporary file left ($left)" "$left"

rm -f "$mnt/filler" "$mnt/model.ckpt"
study=("input(28,28,1) maxpool(4) conv2d(4,3) {bn relu} flatten dense(10)" --block "bn,relu"
    --seeds 1 --epochs 1 --limit 200 --test-limit 100 --threads 1 --out "$mnt/study")
"$ordnet" study "${study[@]}" --orders "bn relu" >/dev/null 2>&1
dd if=/dev/zero of="$mnt/filler" bs=1k 2>/dev/null
msg=$("$ordnet" study "${study[@]}" --orders "bn relu;relu bn" 2>&1 >/dev/null)
rc=$?
check "a study on the full disk exits $rc: $(echo "$msg" | tail -1)" \
    "$([ $rc -ne 0 ] && [ -n "$msg" ] && echo 0 || echo 1)"
rm -f "$mnt/filler" # (sqlite needs room for its journal to open the store at all)
res=$(/usr/bin/python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); \
print(c.execute('pragma integrity_check').fetchone()[0], c.execute('select count(*) from runs').fetchone()[0])" \
    "$mnt/study/study.sqlite" 2>&1)
check "its store passes integrity_check and keeps its run: $res" "$([ "$res" = "ok 1" ] && echo 0 || echo 1)"
"$ordnet" study "${study[@]}" --orders "bn relu;relu bn" >/dev/null 2>&1
check "with space again, the same command finishes the study" $?
umount "$mnt" && mnt=""

echo "== 3. a missing data set"
# shellcheck disable=SC2016 # ($0 and $1 expand in the inner shell)
msg=$(unshare -m sh -c 'mount -t tmpfs tmpfs /usr/share/datasets && "$0" train --limit 10 --epochs 1' \
    "$ordnet" 2>&1 >/dev/null)
rc=$?
check "Fashion-MNIST hidden -> exit $rc: $msg" \
    "$([ $rc -eq 1 ] && echo "$msg" | grep -q "apt-get install dataset-fashion-mnist" && echo 0 || echo 1)"
msg=$("$ordnet" train --data /no/such/dir --limit 10 --epochs 1 2>&1 >/dev/null)
rc=$?
check "--data /no/such/dir -> exit $rc: $msg" \
    "$([ $rc -eq 1 ] && echo "$msg" | grep -q "/no/such/dir" && echo 0 || echo 1)"
# shellcheck disable=SC2016
msg=$(unshare -m sh -c 'mount -t tmpfs tmpfs /usr/share/datasets && "$0" study --limit 10 --out "$1"' \
    "$ordnet" "$tmp/s" 2>&1 >/dev/null)
rc=$?
check "study with Fashion-MNIST hidden -> exit $rc: $msg" \
    "$([ $rc -eq 1 ] && echo "$msg" | grep -q "apt-get install dataset-fashion-mnist" && echo 0 || echo 1)"
exit $fail
