/* im2col.c - see im2col.h. */
#include "im2col.h"

#include <string.h>

enum { COL_CHUNK = 1 << 16 };

int on_im2col_chunk_rows(int K, int P, int Q) {
    long r = COL_CHUNK / ((long)K * Q);
    return r < 1 ? 1 : r > P ? P : (int)r;
}

void on_valid_cols(int off, int sw, int w, int Q, int *q0, int *q1) {
    int lo = off < 0 ? (-off + sw - 1) / sw : 0;         /* first q with q*sw + off >= 0 */
    int hi = w - off <= 0 ? 0 : (w - off + sw - 1) / sw; /* first q with q*sw + off >= w */
    *q0 = lo < Q ? lo : Q;
    *q1 = hi < *q0 ? *q0 : hi > Q ? Q : hi;
}

/* r[q] = x[2q] for q in [0, n), avail floats readable from x: eight at a time, the even
 * lanes of two vectors, the last eight overlapping the ones before where n is not a
 * multiple of eight (a scalar rest was half of the copy of rows of 14). Inlined: called
 * through the clones' dispatch for each such row, the copies were a quarter of a 3x3
 * stride-2 layer at batch 1, where each thread builds the whole matrix. */
static inline __attribute__((always_inline)) void copy_stride2(const float *x, int n, int avail,
                                                               float *r) {
    int q = 0;
    for (; q + 8 <= n && 2 * q + 16 <= avail; q += 8) {
        vf lo = VLOAD(x + 2 * q), hi = VLOAD(x + 2 * q + 8);
        VSTORE(r + q, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
    }
    if (q < n && n >= 8 && 2 * n <= avail) { /* the last eight, from x[2 (n - 8)] */
        vf lo = VLOAD(x + 2 * n - 16), hi = VLOAD(x + 2 * n - 8);
        VSTORE(r + n - 8, __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14));
        return;
    }
    for (; q < n; q++) r[q] = x[2 * q];
}

void on_im2col(const float *x, const on_attrs *a, const on_geom *g, int k0, int k1, int p0, int p1,
               float *col) {
    on_im2col_ld(x, a, g, k0, k1, p0, p1, col, (size_t)(p1 - p0) * g->q);
}

/* on_im2col_ld's loop, in clones (copy_stride2 inlined into each) */
ON_VECTOR_CLONES static void im2col_rows(const float *x, const on_attrs *a, const on_geom *g,
                                         int k0, int k1, int p0, int p1, float *col, size_t n) {
    for (int k = k0; k < k1; k++) {
        int ci = k / (a->kh * a->kw), ky = k / a->kw % a->kh, kx = k % a->kw;
        float *row = col + (size_t)k * n;
        const float *xc = x + (size_t)ci * g->h * g->w;
        int off = kx * a->dw - g->pl, q0, q1;
        on_valid_cols(off, a->sw, g->w, g->q, &q0, &q1);
        for (int p = p0; p < p1; p++) {
            int iy = p * a->sh - g->pt + ky * a->dh;
            float *r = row + (size_t)(p - p0) * g->q;
            if (iy < 0 || iy >= g->h) {
                memset(r, 0, sizeof(float) * g->q);
                continue;
            }
            const float *xr = xc + (size_t)iy * g->w;
            /* rows are short (tens of floats): loops, not memcpy/memset calls */
            for (int q = 0; q < q0; q++) r[q] = 0.0f;
            if (a->sw == 1) {
                const float *xo = xr + off;
#pragma omp simd
                for (int q = q0; q < q1; q++) r[q] = xo[q];
            } else if (a->sw == 2) /* readable: to the end of the channel's plane */
                copy_stride2(xr + 2 * q0 + off, q1 - q0, (g->h - iy) * g->w - (2 * q0 + off),
                             r + q0);
            else
                for (int q = q0; q < q1; q++) r[q] = xr[q * a->sw + off];
            for (int q = q1; q < g->q; q++) r[q] = 0.0f;
        }
    }
}

void on_im2col_ld(const float *x, const on_attrs *a, const on_geom *g, int k0, int k1, int p0,
                  int p1, float *col, size_t n) {
    im2col_rows(x, a, g, k0, k1, p0, p1, col, n);
}

void on_col2im(const float *col, const on_attrs *a, const on_geom *g, int c, int p0, int p1,
               float *dx) {
    size_t n = (size_t)(p1 - p0) * g->q;
    for (int ci = 0; ci < c; ci++)
        for (int ky = 0; ky < a->kh; ky++)
            for (int kx = 0; kx < a->kw; kx++) {
                const float *row = col + (size_t)((ci * a->kh + ky) * a->kw + kx) * n;
                float *xc = dx + (size_t)ci * g->h * g->w;
                for (int p = p0; p < p1; p++) {
                    int iy = p * a->sh - g->pt + ky * a->dh;
                    if (iy < 0 || iy >= g->h) continue;
                    const float *r = row + (size_t)(p - p0) * g->q;
                    float *xr = xc + (size_t)iy * g->w;
                    int off = kx * a->dw - g->pl, q0, q1;
                    on_valid_cols(off, a->sw, g->w, g->q, &q0, &q1);
                    if (a->sw == 1) {
                        float *xo = xr + off;
#pragma omp simd
                        for (int q = q0; q < q1; q++) xo[q] += r[q];
                    } else
                        for (int q = q0; q < q1; q++) xr[q * a->sw + off] += r[q];
                }
            }
}
