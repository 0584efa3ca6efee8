#!/usr/bin/env bash
# setup.sh - install the Debian packages ordnet needs (only the missing ones), then
# configure and build it in build/. Used by run.sh, test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config zlib1g-dev libpng-dev libopenblas-openmp-dev libcjson-dev
          libsqlite3-dev dataset-fashion-mnist libprotobuf-c-dev protobuf-c-compiler libonnx-dev
          libopenmpi-dev openmpi-bin chromium
          python3-dev python3-numpy python3-cffi python3-setuptools python3-pytest python3-venv
          python3-pip
          ${ORDNET_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ORDNET_CMAKE_ARGS: extra configure options (.ci/run passes -DORDNET_WERROR=ON)
# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${ORDNET_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
