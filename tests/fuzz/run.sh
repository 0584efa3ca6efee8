#!/usr/bin/env bash
# run.sh - build ordnet's libFuzzer harnesses with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer straight from the library's sources, then fuzz each for SECONDS
# (default 60), JOBS at a time (default: the number of CPUs), starting from its seed corpus.
#
#   bash tests/fuzz/run.sh 30                    # every harness, 30 s each (CI)
#   bash tests/fuzz/run.sh 600 idx checkpoint    # these two, 10 minutes each
#
# A harness is tests/fuzz/fuzz_NAME.c with its seeds in tests/fuzz/corpus_NAME/: adding
# both is enough; options (dictionary, input size, extra libraries) go in the two `case`
# lists below when the defaults do not fit. Found inputs go to $OUT/corpus_NAME/ (OUT is
# build-fuzz/ by default), crashing inputs to $OUT/crash-*, the fuzzer's log to
# $OUT/fuzz_NAME.log. Exits non-zero when any harness finds a crash, a leak, a hang or a
# broken invariant; the last lines print, per harness, the executions and the verdict.
set -euo pipefail
secs=${1:-60}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/build-fuzz}
cc=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}
jobs=${JOBS:-$(nproc)}
blas_inc=$(ls -d /usr/include/*/openblas-openmp 2>/dev/null | head -1)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$here"/fuzz_*.c; do
        n=$(basename "$f" .c)
        names+=("${n#fuzz_}")
    done
fi

# Per-harness libFuzzer options and extra link libraries.
fuzz_opts() {
    case $1 in
    spec) echo "-max_len=4096 -dict=$out/keras.dict" ;;
    idx) echo "-max_len=8192" ;;
    csv) echo "-max_len=4096 -dict=$out/csv.dict" ;;
    cifar) echo "-max_len=12300" ;; # up to 4 records of 3073 bytes, and the flag byte
    checkpoint) echo "-max_len=16384 -dict=$out/checkpoint.dict" ;;
    *) echo "-max_len=4096" ;;
    esac
}
extra_libs() {
    case $1 in
    *) echo "" ;;
    esac
}

# The library, once, instrumented for coverage: every source under src/. Parameter counts
# are capped lower than in the library so that a fuzzed model cannot ask for gigabytes.
flags=(-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -DON_MAX_MODEL_PARAMS='((size_t)1<<22)'
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
    -Wno-unknown-pragmas -I"$root/include" -I"$root/src" ${blas_inc:+-I"$blas_inc"}
    -DORDNET_HAVE_PNG -DORDNET_HAVE_SQLITE -DORDNET_HAVE_OPENBLAS) # what libs below links
libs=(-lopenblas -lcjson -lsqlite3 -lpng -lz -lm)
mkdir -p "$out/obj"
rm -f "$out"/obj/*.o "$out/libordnet_fuzz.a"
# src/optional/ holds the stand-ins for parts a build leaves out (CMake's ORDNET_ONNX, ...)
srcs=$(cd "$root" && find src -name '*.c' -not -path 'src/optional/*' | sort)
if [ -d "$root/src/onnx" ]; then # the ONNX code needs protobuf-c's code for onnx.proto
    if command -v protoc-c >/dev/null && [ -f /usr/include/onnx/onnx.proto ]; then
        mkdir -p "$out/onnx-gen"
        protoc-c --c_out="$out/onnx-gen" -I/usr/include/onnx /usr/include/onnx/onnx.proto
        flags+=(-I"$out/onnx-gen" -DORDNET_HAVE_ONNX)
        libs+=(-lprotobuf-c)
        srcs="$srcs $out/onnx-gen/onnx.pb-c.c"
    else
        echo "run.sh: no protoc-c or onnx.proto (libprotobuf-c-dev protobuf-c-compiler libonnx-dev): src/onnx left out"
        srcs="$(echo "$srcs" | grep -v '^src/onnx/') src/optional/no_onnx.c"
    fi
fi
for src in $srcs; do
    case $src in /*) path=$src ;; *) path=$root/$src ;; esac
    "$cc" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$path" \
        -o "$out/obj/$(basename "$(echo "$src" | tr / _)" .c).o" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait
for src in $srcs; do # a failed compile left no object
    [ -f "$out/obj/$(basename "$(echo "$src" | tr / _)" .c).o" ] || exit 1
done
ar rcs "$out/libordnet_fuzz.a" "$out"/obj/*.o

# Dictionaries: words the inputs are made of.
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
"upsample2d("
"bilinear"
"align_corners=1"
"zeropad2d("
"crop2d("
"global_maxpool"
"reshape(("
"permute(("
"layernorm"
"embedding("
"for i in range("
"for size in [32, 64]:"
"    "
"if "
"elif "
"else:"
"break"
"continue"
" if x else "
"f'conv_{i}'"
"'%s_%d' % ("
"'{}'.format("
"enumerate("
"zip("
"len("
".append("
"x.shape"
"Concatenate(axis=-1)"
"layers.concatenate(["
"SeparableConv2D("
"DepthwiseConv2D("
"Conv2DTranspose("
"RandomFlip("
"Rescaling(1./255)"
"Convolution2D(32, 3, 3, "
"border_mode='same'"
"subsample=(2, 2)"
"dim_ordering='th'"
"BatchNormalization(axis=1)"
"merge([a, b], mode='sum')"
"Lambda("
"class "
"while "
"10**12"
"trainable=False"
".trainable = False"
"for layer in base.layers[:-1]:"
"weights=[w]"
"kernel_regularizer=regularizers.l2(0.01)"
"activity_regularizer="
"W_regularizer=l2("
"regularizers.l1_l2(l1=0.01, l2=0.01)"
"ActivityRegularization(l1="
"Permute((2, 1))"
"Permute((3, 1, 2))"
"RandomTranslation(0.1, (-0.2, 0.3), fill_mode='constant', fill_value=0.5)"
"RandomZoom(0.2, width_factor=None, interpolation='nearest')"
"RandomContrast(0.2, value_range=None)"
"RandomFlip('horizontal')"
"Normalization(mean=[0.5, 0.4, 0.3], variance=[0.04, 0.09, 0.01])"
"invert=True"
"Input(shape=(None,), dtype='int64')"
"(None, None, 3)"
DICT
cat > "$out/csv.dict" <<'DICT'
","
"\x09"
"\x0a"
"\x0d\x0a"
"\x0c"
"#"
" "
"-"
"."
"e+"
"e-308"
"1e39"
"nan"
"inf"
"-inf"
"0x1p-3"
"1.5"
"0.0001"
DICT
cat > "$out/checkpoint.dict" <<'DICT'
"__metadata__"
"\"dtype\":\"F32\""
"\"dtype\":\"I64\""
"\"shape\":["
"\"data_offsets\":["
"\"format\":\"ordnet-checkpoint-1\""
"\"model\":\""
"\"checksum\":\"crc32:"
"\"epoch\":\""
"\"classes\":\""
"\"normalization\":\"{\\\"mean\\\":[0.5],\\\"std\\\":[0.25]}\""
"\"train_config\":\""
"\"data\":\""
"optimizer.state"
"input(28,28,1) "
"conv2d(2,3) "
"dense(10)"
"bn "
"maxpool(4) "
DICT

# fuzz_one NAME: builds and fuzzes one harness; writes $out/fuzz_NAME.line (the summary
# line) and, when it failed, $out/fuzz_NAME.fail (the log's tail)
fuzz_one() {
    local name=$1 src="$here/fuzz_$1.c" seeds=() rc execs cov verdict
    rm -f "$out/fuzz_$name.line" "$out/fuzz_$name.fail"
    # shellcheck disable=SC2046
    if ! "$cc" "${flags[@]}" -fsanitize=fuzzer "$src" "$out/libordnet_fuzz.a" \
        -o "$out/fuzz_$name" "${libs[@]}" $(extra_libs "$name"); then
        echo "fuzz_$name: FAILED (the harness did not build)" >"$out/fuzz_$name.line"
        echo "(see the compiler's messages above)" >"$out/fuzz_$name.fail"
        return
    fi
    mkdir -p "$out/corpus_$name"
    [ -d "$here/corpus_$name" ] && seeds=("$here/corpus_$name")
    [ "$name" = spec ] && seeds+=("$root/examples") # the example models are seeds as they are
    # shellcheck disable=SC2046
    (cd "$out" && "./fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/" $(fuzz_opts "$name") \
        "corpus_$name" "${seeds[@]}") >"$out/fuzz_$name.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$name.log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$out/fuzz_$name.log" | tail -1)
    if [ $rc -eq 0 ]; then
        verdict="0 crashes"
    else
        verdict="FAILED (exit $rc; see $out/fuzz_$name.log)"
        tail -40 "$out/fuzz_$name.log" >"$out/fuzz_$name.fail"
    fi
    echo "fuzz_$name: ${execs:-?} executions in $secs s, ${cov:-cov: ?} edges, $verdict" \
        >"$out/fuzz_$name.line"
}

# JOBS harnesses at a time (default: the CPUs), each on one core for SECONDS
for name in "${names[@]}"; do
    if [ ! -f "$here/fuzz_$name.c" ]; then
        echo "run.sh: no harness $here/fuzz_$name.c" >&2
        exit 2
    fi
done
set +e
for name in "${names[@]}"; do
    echo "== fuzz_$name: $secs s"
    fuzz_one "$name" &
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait
status=0
echo "== fuzzing summary"
for name in "${names[@]}"; do
    if [ -f "$out/fuzz_$name.fail" ]; then
        cat "$out/fuzz_$name.fail"
        status=1
    fi
    if [ -f "$out/fuzz_$name.line" ]; then
        cat "$out/fuzz_$name.line"
    else
        echo "fuzz_$name: FAILED (no result)"
        status=1
    fi
done
exit $status
