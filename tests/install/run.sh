#!/usr/bin/env bash
# run.sh - install the build into a temporary prefix and use it as an outside project would
# (the README's "Using ordnet from C" / "from Python"). Usage:
#   tests/install/run.sh c      SOURCE_DIR BUILD_DIR [CC]   # pkg-config shared + --static, find_package
#   tests/install/run.sh python SOURCE_DIR BUILD_DIR        # pip install ./python in a fresh venv, pytest
set -euo pipefail
mode=$1 src=$(realpath "$2") build=$(realpath "$3") cc=${4:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(sed -n 's/^libdir=\${prefix}\///p' "$prefix"/lib*/pkgconfig/ordnet.pc)
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
say() { echo "== $*"; }
fail() {
    echo "FAILED: $*" >&2
    exit 1
}
needs_libordnet_so() { readelf -d "$1" | grep -q 'NEEDED.*libordnet\.so\.0'; }

if [ "$mode" = c ]; then
    for f in "$libdir"/libordnet.a "$libdir"/libordnet.so.0 include/ordnet.h bin/ordnet \
        share/doc/ordnet/README.md "$libdir"/cmake/ordnet/ordnetConfig.cmake; do
        [ -e "$prefix/$f" ] || fail "$f not installed"
    done
    [ "$(readelf -d "$prefix/$libdir/libordnet.so.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')" = libordnet.so.0 ] ||
        fail "libordnet.so.0's soname"
    [ "$(pkg-config --modversion ordnet)" = "$(sed -n 's/^#define ORDNET_VERSION "\(.*\)"/\1/p' "$src/include/ordnet.h")" ] ||
        fail "ordnet.pc's version is not ORDNET_VERSION"
    "$prefix/bin/ordnet" summary "input(8,8,1) conv2d(4,3) relu flatten dense(2)" >/dev/null || fail "installed CLI"

    say "pkg-config --cflags --libs ordnet: examples/train_random.c over libordnet.so"
    # shellcheck disable=SC2046
    "$cc" -o "$tmp/train_shared" "$src/examples/train_random.c" $(pkg-config --cflags --libs ordnet) \
        -Wl,-rpath,"$(pkg-config --variable=libdir ordnet)"
    needs_libordnet_so "$tmp/train_shared" || fail "the shared build does not use libordnet.so.0"
    "$tmp/train_shared" 20

    say "pkg-config --static --libs ordnet: the same over libordnet.a"
    static_libs=$(pkg-config --static --libs ordnet | sed 's/-lordnet\b/-l:libordnet.a/')
    # shellcheck disable=SC2046,SC2086
    "$cc" -o "$tmp/train_static" "$src/examples/train_random.c" $(pkg-config --cflags ordnet) $static_libs
    needs_libordnet_so "$tmp/train_static" && fail "the static build still needs libordnet.so"
    "$tmp/train_static" 20

    say "find_package(ordnet): ordnet::ordnet and ordnet::ordnet_static"
    cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" >/dev/null
    cmake --build "$tmp/consumer" >/dev/null
    needs_libordnet_so "$tmp/consumer/consumer" || fail "ordnet::ordnet is not the shared library"
    needs_libordnet_so "$tmp/consumer/consumer_static" && fail "ordnet::ordnet_static needs libordnet.so"
    "$tmp/consumer/consumer"
    "$tmp/consumer/consumer_static"
elif [ "$mode" = python ]; then
    say "pip install ./python in a fresh venv (--system-site-packages for NumPy; offline)"
    /usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
    cp -r "$src/python" "$tmp/python" # pip builds in place: keep the source tree clean
    (cd "$tmp" && "$tmp/venv/bin/pip" install -q --no-build-isolation --no-index ./python)
    say "python/tests against the installed module"
    cd "$tmp" # not the source tree: import ordnet must find the installed one
    "$tmp/venv/bin/python" -c 'import ordnet, sys; print(ordnet.__file__, ordnet.__version__); sys.exit(not ordnet.__file__.startswith(sys.prefix))'
    OMP_WAIT_POLICY=PASSIVE "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider "$src/python/tests"
else
    fail "mode must be c or python"
fi
say "ok"
