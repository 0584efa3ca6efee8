#!/usr/bin/env bash
# run.sh - build the model-reader fuzzer (fuzz_spec.c) with clang's libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer straight from the library's sources, then fuzz for SECONDS
# (default 60) starting from corpus/. Exits non-zero when the fuzzer finds a crash, a leak,
# a hang or a broken invariant; the input is left in $OUT (build-fuzz/ by default).
#
#   bash tests/fuzz/run.sh 30
set -euo pipefail
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/build-fuzz}
cc=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}
blas_inc=$(ls -d /usr/include/*/openblas-openmp 2>/dev/null | head -1)
mkdir -p "$out/corpus"
# The readers need the graph, the op table, the compact form and the summary; the trainer,
# data and I/O modules are left out. Parameter counts are capped lower than in the library
# so that a fuzzed model cannot ask for gigabytes.
"$cc" -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -DON_MAX_MODEL_PARAMS='((size_t)1<<22)' \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -Wno-unknown-pragmas -I"$root/include" -I"$root/src" ${blas_inc:+-I"$blas_inc"} \
    "$root"/src/*.c "$root"/src/ops/*.c "$root"/src/spec/*.c "$here/fuzz_spec.c" \
    -o "$out/fuzz_spec" -lopenblas -lcjson -lm
# Words the inputs are made of.
cat > "$out/keras.dict" <<'DICT'
"Input(shape=("
"Conv1D("
"Conv2D("
"Convolution1D("
"Dense("
"BatchNormalization("
"Activation("
"ReLU("
"LeakyReLU("
"PReLU(shared_axes=[1, 2])"
"ELU("
"Softmax()"
"MaxPooling1D("
"MaxPooling2D("
"AveragePooling2D("
"GlobalAveragePooling2D()"
"Dropout("
"Flatten()"
"Add()"
"Sequential(["
"Model("
"model.add("
"keras.layers."
"layers."
"import "
"from "
"def "
"return "
"padding='same'"
"activation='relu'"
"activation='softmax'"
"strides="
"kernel_size="
"input_shape=("
"momentum="
"name='"
"(x)"
"[x, y]"
"input("
"conv2d("
"maxpool"
"dense("
" flatten "
"bn relu"
DICT
cd "$out"
./fuzz_spec -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -dict=keras.dict corpus "$here/corpus"
