#!/bin/sh
# lib_ab.sh - build bench/lib_ab.c and run it: one ONNX model on two builds of
# libordnet.so in one process, interleaved rounds (see the comment at the top of lib_ab.c).
# usage: bash bench/lib_ab.sh A.so B.so MODEL.onnx [ROUNDS] [BATCH] [THREADS] [SECONDS]
# e.g. the build before a change in a worktree:
#   git worktree add /tmp/before HEAD~1 && cmake -S /tmp/before -B /tmp/before/build &&
#   cmake --build /tmp/before/build && bash bench/lib_ab.sh /tmp/before/build/libordnet.so \
#       build/libordnet.so build/resnet18.onnx 8 1 2
set -e
cd "$(dirname "$0")/.."
cc -O2 -Wall -Wextra -Iinclude bench/lib_ab.c -ldl -o build/lib_ab
exec ./build/lib_ab "$@"
