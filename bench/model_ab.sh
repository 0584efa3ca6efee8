#!/bin/sh
# model_ab.sh - build bench/model_ab.c against build/libordnet.a and run it: a whole model
# with two kernel choices (on_conv_variant values), interleaved A/B in one process (see the
# comment at the top of model_ab.c).
# usage: bash bench/model_ab.sh MODEL.onnx A B [ROUNDS] [BATCH] [THREADS]  (after cmake --build build)
set -e
cd "$(dirname "$0")/.."
cc -O2 -Wall -Wextra -fopenmp -Iinclude bench/model_ab.c build/libordnet.a \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lcjson -lprotobuf-c -lz -lm \
    -lpthread -o build/model_ab
exec ./build/model_ab "$@"
