/* machine.c - what this CPU can do, measured: the FMA peak and OpenBLAS sgemm on a large
 * square multiply. `ordnet bench` reports each layer against both, in the same run. */
#include "ordnet_bench.h"
#include "base/base.h"

#include <cblas.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__x86_64__)
/* 12 independent chains of 8-wide FMAs, in registers: enough to cover the FMA latency on
 * two ports. */
#define FMA12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx2,fma"))) static float fma_chains(long iters, float seed) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define DECL(k) __m256 a##k = _mm256_set1_ps(seed + k);
#define STEP(k) a##k = _mm256_fmadd_ps(a##k, b, c);
#define SUM(k) s = _mm256_add_ps(s, a##k);
    FMA12(DECL)
    for (long i = 0; i < iters; i++) {
        FMA12(STEP)
    }
    __m256 s = _mm256_setzero_ps();
    FMA12(SUM)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

double on_measure_fma_gflops(int threads) {
#if defined(__x86_64__)
    if (!__builtin_cpu_supports("fma")) return 0;
    const long iters = 20000000;
    volatile float sink = 0;
    double t0 = on_seconds();
#pragma omp parallel num_threads(threads > 0 ? threads : 1)
    {
        float r = fma_chains(iters, 1.0f);
#pragma omp atomic
        sink += r;
    }
    double secs = on_seconds() - t0;
    (void)sink;
    return (threads > 0 ? threads : 1) * (double)iters * 12 * 8 * 2 / secs / 1e9;
#else
    (void)threads;
    return 0;
#endif
}

double on_measure_sgemm_gflops(int n, int threads) {
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)(i % 17) * 0.01f;
#ifdef ORDNET_HAVE_OPENBLAS
    if (threads > 0) openblas_set_num_threads(threads);
#else
    (void)threads; /* another BLAS: its own thread setting (OMP_NUM_THREADS for most) */
#endif
    double best = 1e30;
    for (int rep = 0; rep < 4; rep++) { /* the first one warms up the caches and threads */
        double t0 = on_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double t = on_seconds() - t0;
        if (rep && t < best) best = t;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / best / 1e9;
}
