"""Build the ordnet Python module against an installed libordnet, found with pkg-config.

    cmake --install build --prefix PREFIX          # the library first (README: "Using ordnet from C")
    PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pip install --no-build-isolation ./python

The extension links libordnet.a (pkg-config --static), so it needs no libordnet.so at run
time; ORDNET_PYTHON_LINK=shared links libordnet.so instead (with an rpath to its directory).
Nothing is downloaded: setuptools and NumPy come from the system (python3-setuptools,
python3-numpy), which --no-build-isolation lets pip use.
"""
import os
import shlex
import subprocess

import numpy
from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "ordnet"], check=True, capture_output=True,
                             text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(
            "ordnet: pkg-config cannot find ordnet.pc (%s). Install the C library first "
            "(cmake --install build --prefix PREFIX) and set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig"
            % (getattr(e, "stderr", "") or e).strip())
    return shlex.split(out)


def ordnet_extension():
    cflags = pkg_config("--cflags")
    libdir = pkg_config("--variable=libdir")[0]
    if os.environ.get("ORDNET_PYTHON_LINK", "static") == "shared":
        libs, rpath = pkg_config("--libs"), [libdir]
    else:  # libordnet.a and what it needs, but not -lordnet (which would pick the .so)
        libs = [f for f in pkg_config("--static", "--libs") if f != "-lordnet"]
        libs.insert(0, os.path.join(libdir, "libordnet.a"))
        # BLAS's own directory (Debian's openblas-openmp/), not libordnet's
        rpath = [f[2:] for f in libs if f.startswith("-L") and f[2:] != libdir]
    return Extension(
        "ordnet._ordnet", ["ordnet/_ordnet.c"],
        include_dirs=[f[2:] for f in cflags if f.startswith("-I")] + [numpy.get_include()],
        extra_compile_args=[f for f in cflags if not f.startswith("-I")] + ["-std=c11"],
        extra_link_args=libs, runtime_library_dirs=rpath)


setup(
    name="ordnet",
    version=pkg_config("--modversion")[0],
    description="Which orders of a CNN's layers are the same function; a small CPU engine "
                "to train, run and optimize them (Python module over libordnet)",
    packages=["ordnet"],
    ext_modules=[ordnet_extension()],
    install_requires=["numpy"],
    python_requires=">=3.9",
)
