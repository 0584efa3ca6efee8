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
/* 12 independent chains of FMAs on vectors of type VEC (8 floats: AVX2, 16: AVX-512), in
 * registers: enough to cover the FMA latency on two ports. */
#define FMA12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECL(k) VEC a##k = SET1(seed + k);
#define STEP(k) a##k = FMADD(a##k, b, c);
#define SUM(k) s = ADD(s, a##k);
#define CHAINS                                                                                     \
    VEC b = SET1(0.999999f), c = SET1(1e-7f), s = SET1(0.0f);                                      \
    FMA12(DECL)                                                                                    \
    for (long i = 0; i < iters; i++) {                                                             \
        FMA12(STEP)                                                                                \
    }                                                                                              \
    FMA12(SUM)                                                                                     \
    float out[sizeof(VEC) / sizeof(float)];                                                        \
    STOREU(out, s);                                                                                \
    return out[0];

#define VEC __m256
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define STOREU _mm256_storeu_ps
__attribute__((target("avx2,fma"))) static float fma_chains8(long iters, float seed) {
    CHAINS
}
#undef VEC
#undef SET1
#undef FMADD
#undef ADD
#undef STOREU

#define VEC __m512
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define STOREU _mm512_storeu_ps
__attribute__((target("avx512f"))) static float fma_chains16(long iters, float seed) {
    CHAINS
}
#endif

int on_fma_vector_bits(void) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("fma")) return 256;
#endif
    return 0;
}

double on_measure_fma_gflops(int threads) {
#if defined(__x86_64__)
    int bits = on_fma_vector_bits();
    if (!bits) return 0;
    const long iters = 20000000;
    volatile float sink = 0;
    double t0 = on_seconds();
#pragma omp parallel num_threads(threads > 0 ? threads : 1)
    {
        float r = bits == 512 ? fma_chains16(iters, 1.0f) : fma_chains8(iters, 1.0f);
#pragma omp atomic
        sink += r;
    }
    double secs = on_seconds() - t0;
    (void)sink;
    return (threads > 0 ? threads : 1) * (double)iters * 12 * (bits / 32) * 2 / secs / 1e9;
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
