/* gemm.c - C = A . B for the convolution kernels' small products (gemm.h).
 *
 * Blocks of R rows and NV vectors of C are kept in registers (6 x 16 with AVX2: twelve
 * registers; 8 x 32 with AVX-512: sixteen of its 32) while p runs over k: each step loads
 * NV vectors of B's row p, broadcasts R elements of A's column p, and does R * NV
 * multiply-adds. Nothing is packed: B's rows are read where they are, A's elements one by
 * one in any layout. The columns past the last whole vector go through a copy of B padded
 * with zeros to 8, the rows past the last whole block through blocks of fewer rows. A B
 * larger than L2 is taken in panels of columns (PANEL_FLOATS), each read from memory once
 * and from L2 by every block of rows: a 1x1 convolution of 256 channels on a 56 x 56 image
 * (B: 3.2 MB) ran 1.35x faster so; a k over SPLIT_K in chunks of B's rows, so that a
 * panel keeps 128 columns or more.
 *
 * Every C element is one sum over p in order, from 0 (or C's value), one fused
 * multiply-add a step, whatever the block, the vector width or the lane it is in: the
 * AVX-512 kernel, chosen at run time where the CPU has it (twice the multiply-adds a cycle
 * on a CPU with 512-bit units), gives the same bits as the AVX2 one. The baseline clone
 * (no FMA: a multiply, then an add) is the exception, as for every vector loop (op.h).
 */
#include "gemm.h"
#include "conv_variant.h"
#include "op.h"

#include <cblas.h>
#include <string.h>

enum {
    MR = 6,
    MR_WIDE = 8,
    V = 8,
    SPLIT_K = 512,
    PANEL_FLOATS = 65536,
    THIN_N = 64,
    LONG_K = 128
}; /* rows a block (AVX2, AVX-512), floats a vector, B's rows a product takes at once
    * (product()), B's floats a panel (256 KB: in L2 with A's block and C's); fetch_rows()'s
    * limits */

#define GEMM_PRAGMA(x) _Pragma(#x)

/* C's block of R rows and NV vectors of VL floats (type VT; VTU for unaligned access);
 * of the last vector only `last` columns are C's. Inlined into each caller, with R and NV
 * constant, so that the sums stay in registers. The loop over p unrolled UNROLL times: with
 * AVX2 by 4, gemm.c's products took 0.86x-0.98x the time (one thread, Zen 3: ResNet's and
 * the reference model's shapes), one 1.00x-1.03x (256 x 784 x 64); ResNet-50 at batch 1
 * 0.944x, ResNet-18 0.929x, ResNet-50 at batch 8 0.976x, MobileNet v2 0.981x, the reference
 * model (batch 256, one thread) 0.940x (lib_ab, 9 rounds); training within 2%, either way.
 * The AVX-512 kernel as it was (not measured: no such CPU here). */
#define BLOCK(NAME, VT, VTU, VI, VL, RMAX, UNROLL)                                                 \
    static inline __attribute__((always_inline)) void NAME(                                        \
        const int R, const int NV, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,            \
        const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp,      \
        float *c, ptrdiff_t ldc, int acc, int last) {                                              \
        VT s[RMAX][2];                                                                             \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                       \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                                 \
            const float *cv = c + r * ldc + v * VL;                                                \
            if (!acc)                                                                              \
                s[r][v] = bias ? bias[r] - (VT){0} : (VT){0};                                      \
            else if (v < NV - 1 || last == VL)                                                     \
                s[r][v] = *(const VTU *)cv;                                                        \
            else {                                                                                 \
                float t[VL] = {0};                                                                 \
                memcpy(t, cv, sizeof(float) * last);                                               \
                s[r][v] = *(const VTU *)t;                                                         \
            }                                                                                      \
        }                                                                                          \
        if (roff) /* the residual, read after the sums: asked for now, to come while they are      \
                   * computed (a tensor of a few layers before, from L3 or memory). A bottleneck   \
                   * block alone (1024->256->256->1024 on 14x14, batch 8) took 0.961x-0.971x the   \
                   * time so, ResNet-50 at batch 8 0.968x-0.996x, at batch 1 0.995x-1.022x */      \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                   \
                _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                             \
                __builtin_prefetch(c + r * ldc + v * VL + roff, 0, 3);                             \
                __builtin_prefetch(c + r * ldc + v * VL + roff + VL - 1, 0, 3);                    \
            }                                                                                      \
        GEMM_PRAGMA(GCC unroll UNROLL) for (int p = 0; p < k; p++, b += ldb, a += acs) {           \
            VT bv[2];                                                                              \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) bv[v] =                           \
                *(const VTU *)(b + v * VL);                                                        \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {                                 \
                float ar = a[r * ars];                                                             \
                _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) s[r][v] += ar * bv[v];        \
            }                                                                                      \
        }                                                                                          \
        if (roff) /* + the residual at C's position + roff */                                      \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                   \
                _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                             \
                const float *rv = c + r * ldc + v * VL + roff;                                     \
                if (v < NV - 1 || last == VL)                                                      \
                    s[r][v] += *(const VTU *)rv;                                                   \
                else {                                                                             \
                    float t[VL] = {0};                                                             \
                    memcpy(t, rv, sizeof(float) * last);                                           \
                    s[r][v] += *(const VTU *)t;                                                    \
                }                                                                                  \
            }                                                                                      \
        if (clamp) {                                                                               \
            VT lo = clamp[0] - (VT){0}, hi = clamp[1] - (VT){0};                                   \
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                   \
                _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++)                               \
                    ON_VCLAMP(VT, VI, s[r][v], lo, hi);                                            \
        }                                                                                          \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)                                       \
            _Pragma("GCC unroll 2") for (int v = 0; v < NV; v++) {                                 \
            float *cv = c + r * ldc + v * VL;                                                      \
            if (v < NV - 1 || last == VL)                                                          \
                *(VTU *)cv = s[r][v];                                                              \
            else {                                                                                 \
                float t[VL];                                                                       \
                *(VTU *)t = s[r][v];                                                               \
                memcpy(cv, t, sizeof(float) * last);                                               \
            }                                                                                      \
        }                                                                                          \
    }

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));
typedef int vi8 __attribute__((vector_size(32)));
typedef int vi16 __attribute__((vector_size(64)));

BLOCK(block8, vf, vfu, vi8, V, MR_WIDE, 4)
BLOCK(block16, v16, v16u, vi16, 16, MR_WIDE, 1)

/* R rows of C, all n columns: strips of 32 and 16 columns (wide: AVX-512 vectors), of 16
 * and 8 (AVX2), then the last n % 8 columns from tb, B's copy padded with zeros (where
 * there are such columns). Rows outside, columns inside: the R rows of A stay in the L1
 * cache while B is read from L2, where a large A (Winograd's U of 512 x 512 channels: 1 MB)
 * would come from L3 again for each strip. */
static inline __attribute__((always_inline)) void
rows(const int wide, const int R, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
     const float *b, ptrdiff_t ldb, const float *tb, const float *bias, ptrdiff_t roff,
     const float *clamp, float *c, ptrdiff_t ldc, int acc) {
    int j = 0;
    if (wide) {
        for (; j + 32 <= n; j += 32)
            block16(R, 2, k, a, ars, acs, b + j, ldb, bias, roff, clamp, c + j, ldc, acc, 16);
        if (n - j >= 16) {
            block16(R, 1, k, a, ars, acs, b + j, ldb, bias, roff, clamp, c + j, ldc, acc, 16);
            j += 16;
        }
    } else {
        for (; j + 2 * V <= n; j += 2 * V)
            block8(R, 2, k, a, ars, acs, b + j, ldb, bias, roff, clamp, c + j, ldc, acc, V);
    }
    if (n - j >= V) {
        block8(R, 1, k, a, ars, acs, b + j, ldb, bias, roff, clamp, c + j, ldc, acc, V);
        j += V;
    }
    if (j < n && tb) block8(R, 1, k, a, ars, acs, tb, V, bias, roff, clamp, c + j, ldc, acc, n - j);
}

/* R rows of A toward the cache (L2), a line at a time: all_rows() asks for the next block's
 * rows before a block of a thin product (V to THIN_N columns) of long rows (k >= LONG_K).
 * There each block reads its rows of A for few columns, so the misses on A, which at batch
 * 1 comes from memory (the weights of ResNet's 7x7 and 14x14 layers, Winograd's saved U),
 * were not hidden by arithmetic: at batch 1 ResNet-18 took 0.97x the time so, MobileNet v2
 * 0.97x, ResNet-50 0.99x; at batch 8 (wider products) it was no faster, hence the limits. */
static inline __attribute__((always_inline)) void fetch_rows(const float *a, int R, int k,
                                                             ptrdiff_t ars, ptrdiff_t acs) {
    if (acs == 1)
        for (int r = 0; r < R; r++)
            for (int p = 0; p < k; p += 16) __builtin_prefetch(a + r * ars + p, 0, 2);
    else if (ars == 1)
        for (int p = 0; p < k; p++) __builtin_prefetch(a + p * acs, 0, 2);
}

/* All m rows: blocks of `full` rows, then one of the m % full left (R constant in each copy
 * of rows(), inlined, as block8() and block16(), into each kernel); fetch: the next block's
 * rows of A asked for where fetch_rows() says (lanes(), whose A is in L1, leaves it out).
 * nb: the next panel of B (nw columns of the same k rows), NULL where there is none: asked
 * for toward L2 a share of its rows with each block of rows, so that it arrives while this
 * panel's blocks run, where it came with the first block's reads, which waited on memory
 * (L3 or the other core's cache); bench/lib_ab.sh, 2 threads: ResNet-50 at batch 8
 * 0.967x-0.993x the time (six runs), at batch 1 0.994x-0.996x, ResNet-18 0.908x-1.001x at
 * batch 8, 0.962x-1.035x at batch 1 (the machine moved by 4% between rounds), MobileNet v2
 * 0.992x and 0.971x; the reference model on one thread 0.976x-1.010x. Also the next chunk
 * of k's first panel with the last panel: ResNet-50 1.022x at batch 8, 1.008x at batch 1. */
static inline __attribute__((always_inline)) void
all_rows(const int wide, const int full, const int fetch, int m, int n, int k, const float *a,
         ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t ldb, const float *tb,
         const float *bias, ptrdiff_t roff, const float *clamp, float *c, ptrdiff_t ldc, int acc,
         const float *nb, int nw) {
    int i = 0, blocks = m / full;
    for (; i + full <= m; i += full) {
        if (nb) { /* the next panel's rows [p0, p1): this block's share */
            int q = i / full, p0 = (int)((long)k * q / blocks);
            int p1 = (int)((long)k * (q + 1) / blocks);
            for (int p = p0; p < p1; p++)
                for (int x = 0; x < nw; x += 16) __builtin_prefetch(nb + p * ldb + x, 0, 2);
        }
        /* n >= V: not the columns past the last vector */
        if (fetch && n >= V && n <= THIN_N && k >= LONG_K) {
            int nr = m - i - full < full ? m - i - full : full;
            if (nr > 0) fetch_rows(a + (i + full) * ars, nr, k, ars, acs);
        }
        rows(wide, full, n, k, a + i * ars, ars, acs, b, ldb, tb, bias ? bias + i : NULL, roff,
             clamp, c + i * ldc, ldc, acc);
    }
    a += i * ars;
    c += i * ldc;
    bias = bias ? bias + i : NULL;
    switch (m - i) { /* R constant in each case, for block8() and block16() */
    case 7:
        if (7 < full) rows(wide, 7, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 6:
        if (6 < full) rows(wide, 6, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 5:
        if (5 < full) rows(wide, 5, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 4:
        if (4 < full) rows(wide, 4, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 3:
        if (3 < full) rows(wide, 3, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 2:
        if (2 < full) rows(wide, 2, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    case 1:
        if (1 < full) rows(wide, 1, n, k, a, ars, acs, b, ldb, tb, bias, roff, clamp, c, ldc, acc);
        break;
    default:
        break;
    }
}

/* C's m x n values v -> v + the residual at v's position + roff (where roff), then
 * v > lo ? (v > hi ? hi : v) : lo (where clamp = {lo, hi}) */
ON_WIDE_CLONES static void finish_rows(int m, int n, ptrdiff_t roff, const float *clamp, float *c,
                                       ptrdiff_t ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = c[i * ldc + j] + (roff ? c[i * ldc + j + roff] : 0.0f);
            if (clamp) v = on_clamp(v, clamp[0], clamp[1]);
            c[i * ldc + j] = v;
        }
}

/* The product of k rows of B (k up to SPLIT_K: see product()), by one kernel */
static inline __attribute__((always_inline)) void
product_k(const int wide, int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
          const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp,
          float *c, ptrdiff_t ldc, int acc) {
    const int full = wide ? MR_WIDE : MR;
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { /* an empty sum */
        for (int i = 0; i < m && !acc; i++)
            for (int j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[i] : 0.0f;
        if (roff || clamp) finish_rows(m, n, roff, clamp, c, ldc);
        return;
    }
    int j = n / V * V; /* the last n - j < V columns: B's through a copy padded with zeros */
    float t[SPLIT_K * V];
    const float *tb = NULL;
    if (j < n) {
        memset(t, 0, sizeof(float) * V * k);
        for (int p = 0; p < k; p++) memcpy(t + p * V, b + p * ldb + j, sizeof(float) * (n - j));
        tb = t;
    }
    /* B in panels of at most PANEL_FLOATS (whole vectors; the last one takes the tail):
     * each panel stays in L2 while every row block of A passes over it */
    int nc = PANEL_FLOATS / k / 32 * 32;
    for (int j0 = 0; j0 < n; j0 += nc) {
        int w = n - j0 <= nc + V ? n - j0 : nc;
        int nw = n - j0 - w <= nc + V ? n - j0 - w : nc;
        all_rows(wide, full, 1, m, w, k, a, ars, acs, b + j0, ldb, w == n - j0 ? tb : NULL, bias,
                 roff, clamp, c + j0, ldc, acc, w == n - j0 ? NULL : b + j0 + w, nw);
        if (w == n - j0) break;
    }
}

/* The whole product, by one kernel (wide or not): a k longer than SPLIT_K in chunks of
 * rows of B, each adding to what the one before left in C (the same sums: C holds them as
 * floats either way), the residual and the clamp with the last. A panel of B (PANEL_FLOATS)
 * then has 128 columns or more: past k = 2048 it was all of B, read from L3 by every block
 * of rows (ResNet-50's 3x3 stride-2 layers, 2304 and 4608 rows). Chunks of at most 512
 * rows: ResNet-50 at batch 1 0.971x-0.988x the time on 2 threads, 0.978x on 1, at batch 8
 * 0.991x, ResNet-18 at batch 8 0.960x, at batch 1 0.997x (lib_ab); at most 256: ResNet-50
 * at batch 1 1.027x; 768, 1152: 0.996x, 0.989x. */
static inline __attribute__((always_inline)) void
product(const int wide, int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
        const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp,
        float *c, ptrdiff_t ldc, int acc) {
    int chunks = k > SPLIT_K ? (k + SPLIT_K - 1) / SPLIT_K : 1;
    for (int q = 0, p0 = 0; q < chunks; q++) {
        int p1 = (int)((long)k * (q + 1) / chunks);
        product_k(wide, m, n, p1 - p0, a + p0 * acs, ars, acs, b + p0 * ldb, ldb, bias,
                  p1 == k ? roff : 0, p1 == k ? clamp : NULL, c, ldc, acc || q > 0);
        p0 = p1;
    }
}

/* static: the clones' resolver of an extern function would be exported from the shared
 * library (gcc 12 gives it default visibility whatever the function's) */
ON_VECTOR_CLONES static void gemm(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                                  const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff,
                                  const float *clamp, float *c, ptrdiff_t ldc, int acc) {
    product(0, m, n, k, a, ars, acs, b, ldb, bias, roff, clamp, c, ldc, acc);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(ORDNET_NO_CLONES)
#define HAVE_WIDE 1
#include <immintrin.h>

/* lanes(): A's columns transposed at a time, so that the transposed block (8 KB) and the
 * part of B it meets (64 of B's rows of 49-52 floats: 13 KB) both stay in L1 (48 KB here);
 * at 256 (32 KB and 50 KB) they did not: ResNet-50 at batch 1 took 0.977x-0.998x the time
 * with 64 on two threads, 0.969x-0.994x on one (lib_ab, against 256), 128 0.985x-0.989x,
 * 32 1.021x on its last stage. And the shortest k it takes: below, block_mixed's
 * broadcasts of A cost little (with 64 there, MobileNet v2 at batch 1 took 1.011x). */
enum { LANES_KC = 64, LANES_MIN_K = 256 };

/* R rows (R <= MR) of C's n = 48 + l columns, l from 1 to 8: three AVX-512 vectors and one
 * AVX2 vector a row, the last read and written through a mask (mk: its l columns). The
 * blocks of rows() would take a block of 32 columns, one of 16 and one of 8 (the last from
 * B's copy padded with zeros), each broadcasting A's elements again: with ResNet's 7x7
 * images at batch 1 (n = 49, the products of its last stage) the one last column cost as
 * much as 16. The same sums, in the same order, as every other block: the same bits. */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
block_mixed(const int R, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
            ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp, float *c,
            ptrdiff_t ldc, int acc, __mmask8 mk) {
    v16 s[MR][3];
    vf t[MR];
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        const float *cr = c + r * ldc;
        float b0 = bias ? bias[r] : 0.0f;
        _Pragma("GCC unroll 3") for (int v = 0; v < 3; v++) {
            if (acc)
                s[r][v] = *(const v16u *)(cr + 16 * v);
            else
                s[r][v] = bias ? b0 - (v16){0} : (v16){0};
        }
        t[r] = acc ? (vf)_mm256_maskz_loadu_ps(mk, cr + 48) : bias ? b0 - (vf){0} : (vf){0};
    }
    for (int p = 0; p < k; p++, b += ldb, a += acs) {
        v16 b0 = *(const v16u *)b, b1 = *(const v16u *)(b + 16), b2 = *(const v16u *)(b + 32);
        vf b3 = (vf)_mm256_maskz_loadu_ps(mk, b + 48);
        _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
            float ar = a[r * ars];
            s[r][0] += ar * b0;
            s[r][1] += ar * b1;
            s[r][2] += ar * b2;
            t[r] += ar * b3;
        }
    }
    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {
        float *cr = c + r * ldc;
        if (roff) {
            _Pragma("GCC unroll 3") for (int v = 0; v < 3; v++) s[r][v] +=
                *(const v16u *)(cr + 16 * v + roff);
            t[r] += (vf)_mm256_maskz_loadu_ps(mk, cr + 48 + roff);
        }
        if (clamp) {
            v16 lo = clamp[0] - (v16){0}, hi = clamp[1] - (v16){0};
            vf lo8 = clamp[0] - (vf){0}, hi8 = clamp[1] - (vf){0};
            _Pragma("GCC unroll 3") for (int v = 0; v < 3; v++)
                ON_VCLAMP(v16, vi16, s[r][v], lo, hi);
            ON_VCLAMP(vf, vi8, t[r], lo8, hi8);
        }
        _Pragma("GCC unroll 3") for (int v = 0; v < 3; v++) {
            *(v16u *)(cr + 16 * v) = s[r][v];
        }
        _mm256_mask_storeu_ps(cr + 48, mk, (__m256)t[r]);
    }
}

/* The whole product of 49 to 56 columns by block_mixed: blocks of MR rows, then one of the
 * m % MR left; A's next rows asked for as all_rows() does for thin products */
__attribute__((target("arch=x86-64-v4"))) static void
mixed(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
      ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp, float *c, ptrdiff_t ldc,
      int acc) {
    __mmask8 mk = (__mmask8)((1u << (n - 48)) - 1);
    for (int i = 0; i < m; i += MR) {
        int R = m - i < MR ? m - i : MR, nr = m - i - MR < MR ? m - i - MR : MR;
        if (k >= LONG_K && nr > 0) fetch_rows(a + (i + MR) * ars, nr, k, ars, acs);
        const float *ai = a + i * ars, *bi = bias ? bias + i : NULL;
        float *ci = c + i * ldc;
        switch (R) { /* R constant in each case */
#define MIXED_CASE(K)                                                                              \
    case K:                                                                                        \
        block_mixed(K, k, ai, ars, acs, b, ldb, bi, roff, clamp, ci, ldc, acc, mk);                \
        break
            MIXED_CASE(1);
            MIXED_CASE(2);
            MIXED_CASE(3);
            MIXED_CASE(4);
            MIXED_CASE(5);
            MIXED_CASE(6);
#undef MIXED_CASE
        default:
            break;
        }
    }
}

/* r[j] = column j of the 16 x 16 block whose rows are r[0..16), in registers: pairs of
 * floats, of doubles, then of 128-bit lanes, twice */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void tr16(__m512 r[16]) {
    __m512 t[16];
    _Pragma("GCC unroll 8") for (int f = 0; f < 16; f += 2) {
        t[f] = _mm512_unpacklo_ps(r[f], r[f + 1]);
        t[f + 1] = _mm512_unpackhi_ps(r[f], r[f + 1]);
    }
    /* r[f + j]: column 4 l + j of rows f..f+3 in each 128-bit lane l */
    _Pragma("GCC unroll 4") for (int f = 0; f < 16; f += 4)
        _Pragma("GCC unroll 2") for (int j = 0; j < 2; j++) {
        __m512d x = _mm512_castps_pd(t[f + j]), y = _mm512_castps_pd(t[f + 2 + j]);
        r[f + 2 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, y));
        r[f + 2 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, y));
    }
    _Pragma("GCC unroll 2") for (int f = 0; f < 16; f += 8)
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
        t[f + j] = _mm512_shuffle_f32x4(r[f + j], r[f + 4 + j], 0x88);
        t[f + 4 + j] = _mm512_shuffle_f32x4(r[f + j], r[f + 4 + j], 0xdd);
    }
    _Pragma("GCC unroll 8") for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

/* at (kk x 32) = the 32 rows of A from a (acs = 1) transposed: at[p 32 + f] = a[f ars + p];
 * the block the next call will take, from next (NULL: none), asked for meanwhile: A's 32
 * rows are 32 streams from memory, which the hardware prefetcher did not follow */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
transpose32(const float *a, ptrdiff_t ars, int kk, const float *next, float *at) {
    int p = 0;
    for (; p + 16 <= kk; p += 16) _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            __m512 r[16];
            _Pragma("GCC unroll 16") for (int f = 0; f < 16; f++) {
                r[f] = _mm512_loadu_ps(a + (16 * h + f) * ars + p);
                if (next) __builtin_prefetch(next + (16 * h + f) * ars + p, 0, 3);
            }
            tr16(r);
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)
                _mm512_store_ps(at + (p + j) * 32 + 16 * h, r[j]);
        }
    for (; p < kk; p++)
        for (int f = 0; f < 32; f++) at[p * 32 + f] = a[f * ars + p];
}

/* C's 32 rows from c, columns [0, n), = C^T (ct: n x 32) transposed, plus the residual at
 * roff and clamped: by 16 x 16 blocks, the last n % 16 columns one by one */
static inline __attribute__((always_inline, target("arch=x86-64-v4"))) void
untranspose32(const float *ct, int n, ptrdiff_t roff, const float *clamp, float *c, ptrdiff_t ldc) {
    int j = 0;
    for (; j + 16 <= n; j += 16) _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++) {
            __m512 r[16];
            _Pragma("GCC unroll 16") for (int q = 0; q < 16; q++) r[q] =
                _mm512_load_ps(ct + (j + q) * 32 + 16 * h);
            tr16(r);
            _Pragma("GCC unroll 16") for (int f = 0; f < 16; f++) {
                float *cr = c + (16 * h + f) * ldc + j;
                v16 v = (v16)r[f];
                if (roff) v += *(const v16u *)(cr + roff);
                if (clamp) {
                    v16 lo = clamp[0] - (v16){0}, hi = clamp[1] - (v16){0};
                    ON_VCLAMP(v16, vi16, v, lo, hi);
                }
                *(v16u *)cr = v;
            }
        }
    for (; j < n; j++)
        for (int f = 0; f < 32; f++) {
            float v = roff ? ct[j * 32 + f] + c[f * ldc + j + roff] : ct[j * 32 + f];
            c[f * ldc + j] = clamp ? on_clamp(v, clamp[0], clamp[1]) : v;
        }
}

/* C's m x n (n from 49 to 52: ResNet's 7x7 images at batch 1) with the rows of C, the
 * filters, in the vector lanes: for each 32 rows of A, C^T (n x 32) = B^T A^T, A's rows
 * transposed LANES_KC columns at a time into a block that stays in L1, B read as A is by
 * the other blocks (its elements one by one), by block16's sums in blocks of 7 rows of C^T
 * where n is 49 (a block of one row waits on its sums' latency), else of 8. Along n,
 * block_mixed computes 56 columns for 49 and keeps 6 rows of A: alone, one thread, the 7x7
 * 1x1 512 -> 2048 layer took 0.87x the time so, 2048 -> 512 0.90x, the 3x3 stride-2 512 ->
 * 512 0.92x (at 56 columns, where block_mixed wastes no lane, 1.02x: not there, nor where A
 * is short). C^T starts at the bias or C's values and each chunk of A's columns adds to it:
 * every C value is the same sum over p in order, from the same start, as in every other
 * block, then the residual and the clamp: the same bits. */
__attribute__((target("arch=x86-64-v4"))) static void
lanes(int m, int n, int k, const float *a, ptrdiff_t ars, const float *b, ptrdiff_t ldb,
      const float *bias, ptrdiff_t roff, const float *clamp, float *c, ptrdiff_t ldc, int acc) {
    float ct[52 * 32] __attribute__((aligned(64))), at[LANES_KC * 32] __attribute__((aligned(64)));
    for (int i = 0; i + 32 <= m; i += 32) {
        if (acc)
            for (int j = 0; j < n; j++)
                for (int f = 0; f < 32; f++) ct[j * 32 + f] = c[(i + f) * ldc + j];
        else {
            v16 b0 = {0}, b1 = {0};
            if (bias) b0 = *(const v16u *)(bias + i), b1 = *(const v16u *)(bias + i + 16);
            for (int j = 0; j < n; j++) {
                *(v16 *)(ct + j * 32) = b0;
                *(v16 *)(ct + j * 32 + 16) = b1;
            }
        }
        for (int p0 = 0; p0 < k; p0 += LANES_KC) {
            int kk = k - p0 < LANES_KC ? k - p0 : LANES_KC;
            const float *next = p0 + LANES_KC < k ? a + i * ars + p0 + LANES_KC
                                : i + 64 <= m     ? a + (i + 32) * ars
                                                  : NULL;
            transpose32(a + i * ars + p0, ars, kk, next, at);
            const float *bp = b + p0 * ldb;
            if (n == 49)
                for (int j = 0; j < n; j += 7)
                    rows(1, 7, 32, kk, bp + j, 1, ldb, at, 32, NULL, NULL, 0, NULL, ct + j * 32, 32,
                         1);
            else
                all_rows(1, MR_WIDE, 0, n, 32, kk, bp, 1, ldb, at, 32, NULL, NULL, 0, NULL, ct, 32,
                         1, NULL, 0);
        }
        untranspose32(ct, n, roff, clamp, c + i * ldc, ldc);
    }
}

__attribute__((target("arch=x86-64-v4"))) static void
gemm_wide(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
          ptrdiff_t ldb, const float *bias, ptrdiff_t roff, const float *clamp, float *c,
          ptrdiff_t ldc, int acc) {
    if (n > 48 && n <= 56 && k > 0) {
        int done = 0; /* rows by lanes(): whole 32s of them, A's rows contiguous */
        if (n <= 52 && acs == 1 && k >= LANES_MIN_K && !(on_conv_variant & ON_CONV_NO_LANES)) {
            done = m / 32 * 32;
            lanes(done, n, k, a, ars, b, ldb, bias, roff, clamp, c, ldc, acc);
        }
        mixed(m - done, n, k, a + done * ars, ars, acs, b, ldb, bias ? bias + done : NULL, roff,
              clamp, c + done * ldc, ldc, acc);
    } else
        product(1, m, n, k, a, ars, acs, b, ldb, bias, roff, clamp, c, ldc, acc);
}
#endif

int on_gemm_wide(void) {
#ifdef HAVE_WIDE
    return !(on_conv_variant & ON_CONV_NO_AVX512) && __builtin_cpu_supports("x86-64-v4");
#else
    return 0;
#endif
}

/* Whether im2col's, 1x1's and the taps' products (on_product) take gemm.c's kernel, not
 * OpenBLAS's: always where it has AVX-512; on an AVX2-only CPU (Zen 3) where the sum is short
 * (k <= 128) or the product small (m n k <= 16e6 multiply-adds). gemm.c packs nothing, and
 * where B's rows are many and A large, OpenBLAS's packed kernel is faster (conv_ab, Zen 3, 2
 * threads: ResNet-50's 1x1 1024 -> 512 on 14x14 1.23x-1.27x the time by gemm.c, 2048 -> 512
 * on 7x7 1.19x-1.36x, the 3x3 stride-2 layers 1.09x-1.37x); short and small products it
 * takes without OpenBLAS's packing and calls: ResNet's 1x1 64 -> 256 on 56x56 0.84x-0.89x,
 * MobileNet v2's stem 0.23x, its 1x1 16 -> 96 on 112x112 0.25x. Whole models by this rule
 * (bench/lib_ab.sh, 2 threads, against OpenBLAS for all): MobileNet v2 0.58x at batch 1,
 * 0.71x at batch 8; ResNet-50 0.91x at batch 8; ResNet-18 0.95x at batch 8; at batch 1 the
 * ResNets within the noise (0.96x-1.04x); gemm.c for every product was ResNet-50 1.04x at
 * batch 1 against k <= 128 alone, MobileNet v2 0.85x. The choice is each product's (where
 * the threads split a layer at batch 1, each share's): on such a CPU a model's last bits at
 * batch 1 differ between one thread and two (`ordnet run`, MobileNet v2 and ResNet-18), as
 * they did with every such product by OpenBLAS; for a given thread count they are the same. */
static int by_gemm(int m, int n, int k) {
    return !(on_conv_variant & ON_CONV_BLAS_PRODUCTS) &&
           (on_gemm_wide() || k <= 128 || (double)m * n * k <= 16e6);
}

static void gemm_bias(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                      const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff,
                      const float *clamp, float *c, ptrdiff_t ldc, int acc) {
#ifdef HAVE_WIDE
    if (on_gemm_wide()) {
        gemm_wide(m, n, k, a, ars, acs, b, ldb, bias, roff, clamp, c, ldc, acc);
        return;
    }
#endif
    gemm(m, n, k, a, ars, acs, b, ldb, bias, roff, clamp, c, ldc, acc);
}

void on_gemm(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
             ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc) {
    gemm_bias(m, n, k, a, ars, acs, b, ldb, NULL, 0, NULL, c, ldc, acc);
}

void on_product_bias(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff,
                     const float *clamp, float *c, ptrdiff_t ldc) {
    if (by_gemm(m, n, k)) {
        gemm_bias(m, n, k, a, ars, acs, b, ldb, bias, roff, clamp, c, ldc, 0);
        return;
    }
    for (int i = 0; i < m; i++) /* C = the bias, then C += A B */
        for (int j = 0; j < n; j++) c[i * ldc + j] = bias ? bias[i] : 0.0f;
    on_product(m, n, k, a, ars, acs, b, ldb, c, ldc, 1);
    if (roff || clamp) finish_rows(m, n, roff, clamp, c, ldc);
}

void on_product(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
                ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc) {
    if (by_gemm(m, n, k))
        gemm_bias(m, n, k, a, ars, acs, b, ldb, NULL, 0, NULL, c, ldc, acc);
    else { /* a[i ars + p acs]: A as written (lda = ars) where acs = 1 and its rows are at
            * least k apart, else A^T (lda = acs; ars = 1). With one row or column both may
            * be 1: then only A^T gives OpenBLAS a valid lda. */
        int as_is = acs == 1 && ars >= k;
        cblas_sgemm(CblasRowMajor, as_is ? CblasNoTrans : CblasTrans, CblasNoTrans, m, n, k, 1.0f,
                    a, (int)(as_is ? ars : acs), b, (int)ldb, acc ? 1.0f : 0.0f, c, (int)ldc);
    }
}
