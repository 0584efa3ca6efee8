#!/usr/bin/env bash
# options.sh ORDNET - the CLI's option tables (tools/cli.c): every option of every command
# is accepted with a valid value (checked by parsing it, then --help, which stops before
# anything runs), is listed by --help, and a bad value, a missing value or an unknown option
# is a usage error (exit 2) whose message names the option and the value.
set -u
ordnet=$1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# accepts CMD ARGS...: parsing ARGS then --help exits 0, and --help lists each option given
accepts() {
    local cmd=$1
    shift
    local help
    help=$("$ordnet" "$cmd" "$@" --help 2>&1) || fail "ordnet $cmd $* --help exits $?: $help"
    for a in "$@"; do
        case $a in
        --*) grep -q -- "$a\b" <<<"$help" || fail "ordnet $cmd --help does not list $a" ;;
        esac
    done
}

# refuses CMD PATTERN ARGS...: exit 2 and a message on stderr matching PATTERN
refuses() {
    local cmd=$1 pat=$2
    shift 2
    local out rc
    out=$("$ordnet" "$cmd" "$@" 2>&1 >/dev/null)
    rc=$?
    [ $rc -eq 2 ] || fail "ordnet $cmd $*: exit $rc, want 2 ($out)"
    grep -qF -- "$pat" <<<"$out" || fail "ordnet $cmd $*: '$out' does not say '$pat'"
}

accepts train --data DIR --limit 10 --test-limit 5 --epochs 2 --batch 8 --lr 0.1 --wd 0 \
    --opt sgd --schedule cosine --momentum 0.5 --nesterov --label-smoothing 0 --clip 1 \
    --augment --seed 7 --threads 1 --json --keep-order --val 3 -o c.ckpt --out c.ckpt \
    --resume --sync-bn
accepts study --block bn,relu --orders "bn relu" --seeds 2 --epochs 1 --limit 10 \
    --test-limit 10 --full --data DIR --out DIR --jobs 2 --threads 1 --seed-base 3 \
    --budget 10m --json
accepts analyze --mode infer --block bn,relu --measure --json
accepts summary --input 28,28,1 --classes 10 --json
accepts eval --data DIR --limit 5 --json
accepts predict --json
accepts optimize -o x --out x --verify --data DIR --json
accepts export -o x --out x
accepts bench --batch 2 --infer-batch 2 --threads 1 --seconds 0.5 --keep-order --no-layers \
    --train-only --infer-only --cpu-time --json
accepts run -i x.npy --input a=b.npy -o y.npy --out z.npy --softmax --quiet --batch 3
accepts ops

refuses train "--epochs: '2.5' is not a whole number" --epochs 2.5
refuses train "--lr: 'fast' is not a number" --lr fast
refuses train "--batch: '0' is not a whole number in [1, 65536]" --batch 0
refuses train "--opt: unknown value 'adam' (one of: sgd adamw)" --opt adam
refuses train "--lr needs a value" --lr
refuses train "unknown option '--epoch'" --epoch 3
refuses study "--budget '3q': want a time such as 600" --budget 3q
refuses study "--seeds: '0' is not a whole number in [1, 1000]" --seeds 0
refuses analyze "--mode: unknown value 'eval'" --mode eval
refuses summary "--input '28x28': want the shape as Keras writes it" m --input 28x28
refuses bench "--seconds: '-1' is not a number in [0.01, 3600]" --seconds -1
refuses run "-o 'y65.npy': at most 64" m -i x.npy $(for k in $(seq 65); do echo -o y$k.npy; done)
refuses eval "unexpected argument 'b'" a b
refuses ops "unexpected argument 'x'" x
refuses predict "unknown option '--top'" c f.png --top 3

# ordnet --help lists every command; each command's --help starts with its usage
for cmd in study train eval predict analyze optimize summary bench ops run export; do
    "$ordnet" --help | grep -q "^  $cmd " || fail "ordnet --help does not list $cmd"
    "$ordnet" "$cmd" --help | head -1 | grep -q "^usage: ordnet $cmd" ||
        fail "ordnet $cmd --help does not start with its usage"
done

[ $fails -eq 0 ] && echo "all CLI option checks passed"
exit $((fails > 0))
