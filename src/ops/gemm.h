/* gemm.h - ordnet's own matrix product: for Winograd's 16 or 36 small products per chunk
 * of tiles, where OpenBLAS's set-up per call (packing both operands, taking its buffer
 * under a lock) costs as much as the arithmetic; and for the other convolution kernels'
 * products too (on_product): all of them on a CPU with AVX-512, the short and small ones on
 * an AVX2-only CPU. */
#ifndef ON_GEMM_H
#define ON_GEMM_H

#include <stddef.h>

/* C (m x n) = A (m x k) . B (k x n), or C += A . B if acc. A's element (i, p) is
 * a[i * ars + p * acs], so A may be read transposed (ars = 1); B is row-major (row p at
 * b + p * ldb, n consecutive floats), C too (row i at c + i * ldc). Each C element is one
 * sum over p in order, from 0 (or from C's value), a multiply-add per step: the same bits
 * for any m, n and blocking, on one machine. */
void on_gemm(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
             ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc);

/* Does on_gemm take its AVX-512 kernel here (the CPU has it, ON_CONV_NO_AVX512 is not set)?
 * Its results are the same bits as the AVX2 kernel's. */
int on_gemm_wide(void);

/* C (m x n) = A . B (+ C if acc) for the products of im2col, 1x1 and tap-by-tap
 * convolution, A read as in on_gemm with ars or acs 1: on_gemm where its AVX-512 kernel
 * runs, and on an AVX2-only CPU where k <= 128 or m n k <= 16e6 (gemm.c's by_gemm), else
 * OpenBLAS (also under ON_CONV_BLAS_PRODUCTS, for A/B and tests). On a CPU with AVX-512,
 * gemm.c was as fast as OpenBLAS's own AVX-512 kernels and 1.2-1.5x faster than the AVX2
 * ones OpenBLAS runs where its core type is set to Haswell (as on this project's machines);
 * its AVX2 kernel, which packs nothing, was 13% slower than OpenBLAS's on ResNet-50 there,
 * and on Zen 3 faster on short and small products only. */
void on_product(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs, const float *b,
                ptrdiff_t ldb, float *c, ptrdiff_t ldc, int acc);

/* C = bias + A . B, bias[i] added to row i (none: NULL); then, where roff is not 0, plus
 * the residual at each value's position + roff (a residual add after a convolution: another
 * tensor of C's layout); then, where clamp = {lo, hi}, each value v made
 * v > lo ? (v > hi ? hi : v) : lo (a ReLU after it). The bits of C set to the bias,
 * on_product adding to it, then the residual added and the clamp; but where gemm.c's kernel
 * runs all of it happens in registers, with no pass over C of its own. */
void on_product_bias(int m, int n, int k, const float *a, ptrdiff_t ars, ptrdiff_t acs,
                     const float *b, ptrdiff_t ldb, const float *bias, ptrdiff_t roff,
                     const float *clamp, float *c, ptrdiff_t ldc);

#endif
