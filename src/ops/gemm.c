/* gemm.c - C = A . B for the convolution kernels' small products (gemm.h).
 *
 * Blocks of MR rows and NV vectors of C are kept in registers (6 x 16: twelve AVX2
 * registers) while p runs over k: each step loads NV vectors of B's row p, broadcasts MR
 * elements of A's column p, and does MR * NV multiply-adds. Nothing is packed: B's rows
 * are read where they are (a block of 16 columns is one cache line per row), A's elements
 * one by one in any layout. The columns past the last whole vector go through a copy of
 * B padded with zeros to a vector, the rows past the last whole block through blocks of
 * fewer rows: every C element is still the same one sum over p in order.
 */
#include "gemm.h"
#include "op.h"

#include <string.h>

enum { MR = 6, V = 8, TAIL_K = 512 };

/* C's block of R rows and NV vectors; of the last vector only `last` columns are C's. */
static inline __attribute__((always_inline)) void
block(const int R, const int NV, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc, int last) {
    vf s[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const float *cv = c + r * ldc + v * V;
            if (!acc)
                s[r][v] = (vf){0};
            else if (v < NV - 1 || last == V)
                s[r][v] = VLOAD(cv);
            else {
                float t[V] = {0};
                memcpy(t, cv, sizeof(float) * last);
                s[r][v] = VLOAD(t);
            }
        }
    for (int p = 0; p < k; p++, b += ldb, a += acs) {
        vf bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) bv[v] = VLOAD(b + v * V);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            float ar = a[r * ars];
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++) s[r][v] += ar * bv[v];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            float *cv = c + r * ldc + v * V;
            if (v < NV - 1 || last == V)
                VSTORE(cv, s[r][v]);
            else {
                float t[V];
                VSTORE(t, s[r][v]);
                memcpy(cv, t, sizeof(float) * last);
            }
        }
}

/* R rows of C, all n columns: strips of two vectors, one, then the last n % V columns from
 * tb, B's copy padded with zeros (when there is one: k <= TAIL_K). Rows outside, columns
 * inside: the R rows of A stay in the L1 cache while B is read from L2, where a large A
 * (Winograd's U of 512 x 512 channels: 1 MB) would come from L3 again for each strip. */
static inline __attribute__((always_inline)) void rows(const int R, int n, int k, const float *a,
                                                       ptrdiff_t ars, ptrdiff_t acs, const float *b,
                                                       ptrdiff_t ldb, const float *tb, float *c,
                                                       ptrdiff_t ldc, int acc) {
    int j = 0;
    for (; j + 2 * V <= n; j += 2 * V) block(R, 2, k, a, ars, acs, b + j, ldb, c + j, ldc, acc, V);
    if (n - j >= V) {
        block(R, 1, k, a, ars, acs, b + j, ldb, c + j, ldc, acc, V);
        j += V;
    }
    if (j < n && tb) block(R, 1, k, a, ars, acs, tb, V, c + j, ldc, acc, n - j);
}

/* rows() for r < MR rows (R constant in each copy); inlined, as rows() and block(), into
 * each of gemm's clones */
static inline __attribute__((always_inline)) void rest(int r, int n, int k, const float *a,
                                                       ptrdiff_t ars, ptrdiff_t acs, const float *b,
                                                       ptrdiff_t ldb, const float *tb, float *c,
                                                       ptrdiff_t ldc, int acc) {
    switch (r) {
    case 5:
        rows(5, n, k, a, ars, acs, b, ldb, tb, c, ldc, acc);
        break;
    case 4:
        rows(4, n, k, a, ars, acs, b, ldb, tb, c, ldc, acc);
        break;
    case 3:
        rows(3, n, k, a, ars, acs, b, ldb, tb, c, ldc, acc);
        break;
    case 2:
        rows(2, n, k, a, ars, acs, b, ldb, tb, c, ldc, acc);
        break;
    case 1:
        rows(1, n, k, a, ars, acs, b, ldb, tb, c, ldc, acc);
        break;
    default:
        break;
    }
}

/* static: the clones' resolver of an extern function would be exported from the shared
 * library (gcc 12 gives it default visibility whatever the function's) */
ON_VECTOR_CLONES static void gemm(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* an empty sum */
        for (int i = 0; i < m && !acc; i++) memset(c + i * ldc, 0, sizeof(float) * n);
        return;
    }
    int j = n / V * V; /* the last n - j < V columns: B's through a copy padded with zeros */
    float t[TAIL_K * V];
    const float *tb = NULL;
    if (j < n && k <= TAIL_K) {
        memset(t, 0, sizeof(float) * V * k);
        for (int p = 0; p < k; p++) memcpy(t + p * V, b + p * ldb + j, sizeof(float) * (n - j));
        tb = t;
    }
    int i = 0;
    for (; i + MR <= m; i += MR)
        rows(MR, n, k, a + i * ars, ars, acs, b, ldb, tb, c + i * ldc, ldc, acc);
    rest(m - i, n, k, a + i * ars, ars, acs, b, ldb, tb, c + i * ldc, ldc, acc);
    if (j == n || tb) return;
    /* a longer k: those columns TAIL_K rows of B at a time, each chunk adding to what the
     * one before left in C (the same sums: C holds them as floats either way) */
    for (int p0 = 0; p0 < k; p0 += TAIL_K) {
        int kk = k - p0 < TAIL_K ? k - p0 : TAIL_K;
        memset(t, 0, sizeof(float) * V * kk);
        for (int p = 0; p < kk; p++)
            memcpy(t + p * V, b + (p0 + p) * ldb + j, sizeof(float) * (n - j));
        for (i = 0; i + MR <= m; i += MR)
            rows(MR, n - j, kk, a + i * ars + p0 * acs, ars, acs, t, V, t, c + i * ldc + j, ldc,
                 acc || p0 > 0);
        rest(m - i, n - j, kk, a + i * ars + p0 * acs, ars, acs, t, V, t, c + i * ldc + j, ldc,
             acc || p0 > 0);
    }
}

void on_gemm(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
             ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc) {
    gemm(m, n, k, a, ars, acs, b, ldb, c, ldc, acc);
}
