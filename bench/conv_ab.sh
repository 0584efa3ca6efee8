#!/bin/sh
# conv_ab.sh - build bench/conv_ab.c against build/libordnet.a and run it: two kernel
# choices (on_conv_variant values) on ResNet-18/50's convolution shapes, interleaved A/B in
# one process (see the comment at the top of conv_ab.c).
# usage: bash bench/conv_ab.sh A B [ROUNDS] [BATCH] [FILTER]   (after cmake --build build)
set -e
cd "$(dirname "$0")/.."
cc -O2 -Wall -Wextra -fopenmp -Iinclude bench/conv_ab.c build/libordnet.a \
    $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lcjson -lprotobuf-c -lz -lm \
    -lpthread -o build/conv_ab
exec ./build/conv_ab "$@"
