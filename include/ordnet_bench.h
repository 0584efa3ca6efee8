/* ordnet_bench.h - measuring ordnet: per-layer timing of a model and this machine's peaks.
 * What `ordnet bench` reports; programs that only build, train and run models need only
 * ordnet.h. */
#ifndef ORDNET_BENCH_H
#define ORDNET_BENCH_H

#include "ordnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is libordnet's public API: the shared library is built with
 * -fvisibility=hidden and exports these names only (tests/symbols.sh checks it). */
#ifdef __GNUC__
#pragma GCC visibility push(default)
#endif

/* Per-layer timing: on (re)starts adding each node's forward and backward wall time;
 * off stops it. At inference a layer run inside a convolution's output loop counts as the
 * convolution. Compiling the model turns it off. */
int on_model_profile(on_model *m, int on);
int on_model_node_seconds(const on_model *m, int node, double *forward, double *backward);

/* This machine's single-precision FMA peak with `threads` threads, on the widest vectors
 * it has (on_fma_vector_bits: 512 for AVX-512, 256 for AVX2 with FMA; 0 where unmeasurable),
 * and the BLAS's sgemm on an n x n x n multiply, in GFLOP/s, measured now. */
double on_measure_fma_gflops(int threads);
int on_fma_vector_bits(void);
double on_measure_sgemm_gflops(int n, int threads);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
