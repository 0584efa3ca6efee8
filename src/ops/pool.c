/* pool.c - max, min and average pooling over 1-D and 2-D windows; global average pool.
 *
 * Semantics follow PyTorch: stride 0 means the window size; padding is ignored by max
 * and min; average pooling divides by the window clipped to the padded input when
 * count_include_pad is set (PyTorch's default), else by the number of real elements
 * (Keras's 'same'); ceil_mode drops a last window that would start in the right padding.
 * Max and min pick the first extreme element of a window, in the forward and backward.
 */
#include "op.h"
#include "conv_variant.h"
#include "geom.h"

#include <math.h>
#include <string.h>

static int pool_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    on_geom g;
    if (on_geom_make(a, xs, 0, &g, err)) return -1;
    *ys = xs;
    ys->h = g.p;
    ys->w = g.q;
    return 0;
}

/* Window p,q of the output: rows [y0,y1), cols [x0,x1) after clipping to the input, and
 * the divisor average pooling uses. */
typedef struct win {
    int y0, y1, x0, x1;
    float div;
} win;

static win window(const on_attrs *a, const on_geom *g, int p, int q) {
    win w;
    int hs = p * g->sh - g->pt, ws = q * g->sw - g->pl;
    int he = hs + a->kh, we = ws + a->kw;
    if (he > g->h + g->pb) he = g->h + g->pb;
    if (we > g->w + g->pr) we = g->w + g->pr;
    int padded = (he - hs) * (we - ws);
    w.y0 = hs < 0 ? 0 : hs;
    w.x0 = ws < 0 ? 0 : ws;
    w.y1 = he > g->h ? g->h : he;
    w.x1 = we > g->w ? g->w : we;
    w.div = (float)(a->count_include_pad ? padded : (w.y1 - w.y0) * (w.x1 - w.x0));
    return w;
}

/* The larger of a and b, or b when b is NaN: folding it over a window in order gives the
 * value of its first largest element, a NaN where there is one. */
static inline float max_nan(float a, float b) {
    return ((b > a) | (b != b)) ? b : a;
}

/* Index of the first extreme element of window w in plane x; sign = 1 max, -1 min. */
static int extreme(const float *x, int W, win w, float sign) {
    int best = w.y0 * W + w.x0;
    float bv = sign * x[best];
    for (int i = w.y0; i < w.y1; i++)
        for (int j = w.x0; j < w.x1; j++) {
            float v = sign * x[i * W + j];
            if (v > bv || (isnan(v) && !isnan(bv))) { /* the first NaN, as max4_pos */
                bv = v;
                best = i * W + j;
            }
        }
    return best;
}

/* The common case, max-pool 2x2 stride 2 without padding, four outputs at a time. Of the
 * window's four values (r0[2q], r0[2q+1], r1[2q], r1[2q+1]) the first largest wins; a NaN
 * beats any number (as in PyTorch) and the first NaN wins among NaNs. The forward keeps
 * the winner's position (0..3, one byte per output) in `saved` when it has it, so that the
 * backward only scatters dy; otherwise the backward finds the winner again from x. */
static inline int max4_pos(float v0, float v1, float v2, float v3) {
    float v[4] = {v0, v1, v2, v3}, m = v0;
    int k = 0;
    for (int j = 1; j < 4; j++) { /* selects, not branches: the data decide */
        int take = (v[j] > m) | ((v[j] != v[j]) & (m == m));
        m = take ? v[j] : m;
        k = take ? j : k;
    }
    return k;
}

#ifdef __SSE4_1__
#include <smmintrin.h>
/* Outputs q .. q+3 of one output row: their values into y, positions into pos. */
static inline void max4x4(const float *r0, const float *r1, float *y, unsigned char *pos) {
    __m128 a0 = _mm_loadu_ps(r0), a1 = _mm_loadu_ps(r0 + 4);
    __m128 b0 = _mm_loadu_ps(r1), b1 = _mm_loadu_ps(r1 + 4);
    __m128 v[4] = {_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                   _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)),
                   _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                   _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
    __m128 m = v[0], k = _mm_setzero_ps();
    /* without NaNs (nearly always) a plain comparison decides */
    int nan = _mm_movemask_ps(_mm_or_ps(_mm_cmpunord_ps(a0, a1), _mm_cmpunord_ps(b0, b1)));
#pragma GCC unroll 4
    for (int j = 1; j < 4; j++) {
        __m128 take = _mm_cmpgt_ps(v[j], m);
        if (nan)
            take =
                _mm_or_ps(take, _mm_andnot_ps(_mm_cmpunord_ps(m, m), _mm_cmpunord_ps(v[j], v[j])));
        m = _mm_blendv_ps(m, v[j], take);
        k = _mm_blendv_ps(k, _mm_set1_ps((float)j), take);
    }
    _mm_storeu_ps(y, m);
    __m128i i32 = _mm_cvtps_epi32(k);
    __m128i i8 = _mm_packus_epi16(_mm_packs_epi32(i32, i32), _mm_setzero_si128());
    int word = _mm_cvtsi128_si32(i8);
    memcpy(pos, &word, 4);
}

/* The first of a, b where both are numbers (a on ties: -0 before +0 stays -0), else a NaN. */
static inline __m128 first_max(__m128 a, __m128 b) {
    return _mm_or_ps(_mm_max_ps(b, a), _mm_cmpunord_ps(a, b));
}

/* max4x4's values without the positions (inference): the same numbers, a NaN where the
 * window has one (all ones, not the window's own NaN). Row by row, then down: the order
 * that keeps "first largest" for ties of -0 and +0. */
static inline void max4x4_values(const float *r0, const float *r1, float *y) {
    __m128 a0 = _mm_loadu_ps(r0), a1 = _mm_loadu_ps(r0 + 4);
    __m128 b0 = _mm_loadu_ps(r1), b1 = _mm_loadu_ps(r1 + 4);
    __m128 top = first_max(_mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)),
                           _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)));
    __m128 bottom = first_max(_mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                              _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm_storeu_ps(y, first_max(top, bottom));
}

/* max4x4_values, then on_clamp: v > lo ? v : lo, then that > hi ? hi : that (lo <= hi) */
static inline void max4x4_clamped(const float *r0, const float *r1, __m128 lo, __m128 hi,
                                  float *y) {
    max4x4_values(r0, r1, y);
    __m128 v = _mm_loadu_ps(y);
    v = _mm_blendv_ps(lo, v, _mm_cmpgt_ps(v, lo));
    _mm_storeu_ps(y, _mm_blendv_ps(v, hi, _mm_cmpgt_ps(v, hi)));
}

/* dy of outputs q .. q+3 to the winners' places in rows d0, d1 (others get 0). */
static inline void scatter4(const float *dy, const unsigned char *pos, float *d0, float *d1) {
    int word;
    memcpy(&word, pos, 4);
    __m128 g = _mm_loadu_ps(dy);
    __m128i p = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(word));
    /* written out: gcc kept a loop over an array of four here, through the stack */
#define AT(j) _mm_and_ps(g, _mm_castsi128_ps(_mm_cmpeq_epi32(p, _mm_set1_epi32(j))))
    __m128 e0 = AT(0), e1 = AT(1), e2 = AT(2), e3 = AT(3);
#undef AT
    _mm_storeu_ps(d0, _mm_unpacklo_ps(e0, e1));
    _mm_storeu_ps(d0 + 4, _mm_unpackhi_ps(e0, e1));
    _mm_storeu_ps(d1, _mm_unpacklo_ps(e2, e3));
    _mm_storeu_ps(d1 + 4, _mm_unpackhi_ps(e2, e3));
}
#endif

typedef struct max2x2_job {
    const on_call *c;
    const on_geom *g;
    int backward;
} max2x2_job;

/* Planes [pl0, pl1) of the call */
static void max2x2_planes(const void *ctx, long pl0, long pl1) {
    const max2x2_job *jb = ctx;
    const on_call *c = jb->c;
    const on_geom *g = jb->g;
    int backward = jb->backward;
    size_t hw = (size_t)g->h * g->w, pq = (size_t)g->p * g->q;
    int W = g->w, P = g->p, Q = g->q, odd = (g->h & 1) || (W & 1);
    /* positions are kept in training only; a backward after an inference forward finds
     * the winners again */
    unsigned char *saved =
        c->saved && c->train ? (unsigned char *)c->saved + (size_t)c->sample0 * pq * c->xs.c : NULL;
    for (long pl = pl0; pl < pl1; pl++) {
        const float *x = c->x + pl * hw;
        if (backward && odd) memset(c->dx + pl * hw, 0, sizeof(float) * hw);
        for (int p = 0; p < P; p++) {
            const float *r0 = x + (size_t)2 * p * W, *r1 = r0 + W;
            size_t o = pl * pq + (size_t)p * Q;
            unsigned char *pos = saved ? saved + o : NULL;
            int q = 0;
            if (!backward) {
                float *y = c->y + o;
#ifdef __SSE4_1__
                __m128 lo = _mm_set1_ps(c->clamp_lo), hi = _mm_set1_ps(c->clamp_hi);
                if (pos) {
                    for (; q + 4 <= Q; q += 4) max4x4(r0 + 2 * q, r1 + 2 * q, y + q, pos + q);
                } else if (c->clamp) {
                    for (; q + 4 <= Q; q += 4)
                        max4x4_clamped(r0 + 2 * q, r1 + 2 * q, lo, hi, y + q);
                } else {
                    for (; q + 4 <= Q; q += 4) max4x4_values(r0 + 2 * q, r1 + 2 * q, y + q);
                }
                if (q < Q && Q >= 4) { /* the last 1-3 windows: the last 4 again */
                    int e = Q - 4;
                    if (pos)
                        max4x4(r0 + 2 * e, r1 + 2 * e, y + e, pos + e);
                    else if (c->clamp)
                        max4x4_clamped(r0 + 2 * e, r1 + 2 * e, lo, hi, y + e);
                    else
                        max4x4_values(r0 + 2 * e, r1 + 2 * e, y + e);
                    q = Q;
                }
#endif
                for (; q < Q; q++) {
                    int k = max4_pos(r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1]);
                    y[q] = (k < 2 ? r0 : r1)[2 * q + (k & 1)];
                    if (c->clamp) y[q] = on_clamp(y[q], c->clamp_lo, c->clamp_hi);
                    if (pos) pos[q] = (unsigned char)k;
                }
                continue;
            }
            const float *dy = c->dy + o;
            float *d0 = c->dx + pl * hw + (size_t)2 * p * W, *d1 = d0 + W;
#ifdef __SSE4_1__
            for (; pos && q + 4 <= Q; q += 4) scatter4(dy + q, pos + q, d0 + 2 * q, d1 + 2 * q);
            if (pos && q < Q && Q >= 4) { /* the last 1-3 windows: the last 4 again */
                int e = Q - 4;
                scatter4(dy + e, pos + e, d0 + 2 * e, d1 + 2 * e);
                q = Q;
            }
#endif
            for (; q < Q; q++) {
                int k = pos ? pos[q] : max4_pos(r0[2 * q], r0[2 * q + 1], r1[2 * q], r1[2 * q + 1]);
                d0[2 * q] = k == 0 ? dy[q] : 0.0f;
                d0[2 * q + 1] = k == 1 ? dy[q] : 0.0f;
                d1[2 * q] = k == 2 ? dy[q] : 0.0f;
                d1[2 * q + 1] = k == 3 ? dy[q] : 0.0f;
            }
        }
    }
}

static void max2x2(const on_call *c, const on_geom *g, int backward) {
    long planes = (long)c->n * c->xs.c;
    max2x2_job jb = {c, g, backward};
    on_parallel_range(c->threads, planes * g->h * g->w > ON_PAR_MIN, planes, max2x2_planes, &jb);
}

/* The 2x2 fast path keeps one byte per output (rounded up to floats). */
static size_t max_saved(const on_attrs *a, on_shape xs, on_shape ys, int n) {
    (void)a;
    (void)xs;
    return ((size_t)n * on_shape_size(ys) + 3) / 4;
}

/* Forward of any window, separably: for each output row, the window's rows are reduced
 * into one row (a vector loop along it), then the outputs reduce their columns of it.
 * Max and min give the same value as a whole-window fold (a NaN if the window has one; of
 * tied -0 and +0 the first in this order: down each column, then across); average sums in
 * another order. Max and min reduce the columns as vector loops too: the reduced row is
 * kept with -inf in the padding around it, split into `sw` phases (phase r holds columns
 * r, r + sw, ...), so that tap t of every output is one contiguous run of a phase (a loop
 * per output over its few columns, with a select per element on the data, made ResNet's
 * 3x3 stride-2 max-pool take half as long as the 7x7 convolution before it). Reduced rows
 * up to ROW_MAX wide (they are on the stack). */
enum { ROW_MAX = 4096 };

/* Max (or min, sign -1) over the columns of the reduced row `row` (W wide) for the Q
 * outputs of one output row, into y. */
static inline __attribute__((always_inline)) void reduce_columns(const float *row, const on_geom *g,
                                                                 int kw, float sign, float *y) {
    int s = g->sw, Q = g->q, L = Q + (kw - 1) / s + 1; /* a phase's length */
    float ph[2 * ROW_MAX + 64];
    for (int r = 0; r < s; r++) { /* phase r, element i: padded column i s + r */
        float *o = ph + r * L;
        int i0 = g->pl > r ? (g->pl - r + s - 1) / s : 0; /* the first in the row */
        int i1 = g->w + g->pl > r ? (g->w + g->pl - r + s - 1) / s : 0;
        if (i1 > L) i1 = L;
        if (i0 > i1) i0 = i1;
        for (int i = 0; i < i0; i++) o[i] = -INFINITY;
#pragma omp simd
        for (int i = i0; i < i1; i++) o[i] = row[i * s + r - g->pl];
        for (int i = i1; i < L; i++) o[i] = -INFINITY;
    }
    float m[ROW_MAX];
    for (int q = 0; q < Q; q++) m[q] = -INFINITY;
    for (int t = 0; t < kw; t++) {
        const float *src = ph + (t % s) * L + t / s;
#pragma omp simd
        for (int q = 0; q < Q; q++) m[q] = max_nan(m[q], src[q]);
    }
#pragma omp simd
    for (int q = 0; q < Q; q++) y[q] = sign * m[q];
}

/* r = max_nan(r, b) lane by lane, in place (as op.h's ON_VCLAMP: vectors pass between
 * functions only by pointer) */
#define VMAX_NAN(r, b)                                                                             \
    do {                                                                                           \
        vi m_ = ((b) > (r)) | ((b) != (b));                                                        \
        (r) = (vf)((m_ & (vi)(b)) | (~m_ & (vi)(r)));                                              \
    } while (0)

/* reduce_columns for a 3-wide window at stride 2 with one column of padding on the left
 * (ResNet's 3x3 max-pool after its stem): output q folds columns 2q - 1, 2q, 2q + 1 as
 * reduce_columns does (from -inf, in that order, -inf for the padding), 8 outputs by two
 * overlapping loads and three shuffles (the phases' strided copy left the generic loop a
 * gather: the pool took 5x ONNX Runtime's time). row[-1] and row[W .. 2 Q + 1) are -inf. */
static inline __attribute__((always_inline)) void max_columns_3s2(const float *row, int Q,
                                                                  float *y) {
    vf ninf = (vf){0} - INFINITY;
    int q = 0;
    for (; q + 8 <= Q; q += 8) {
        const float *r = row + 2 * q;
        vf a0 = VLOAD(r - 1), a1 = VLOAD(r + 7), b0 = VLOAD(r), b1 = VLOAD(r + 8);
        vf left = __builtin_shufflevector(a0, a1, 0, 2, 4, 6, 8, 10, 12, 14);
        vf mid = __builtin_shufflevector(b0, b1, 0, 2, 4, 6, 8, 10, 12, 14);
        vf right = __builtin_shufflevector(b0, b1, 1, 3, 5, 7, 9, 11, 13, 15);
        vf m = ninf;
        VMAX_NAN(m, left);
        VMAX_NAN(m, mid);
        VMAX_NAN(m, right);
        VSTORE(y + q, m);
    }
    for (; q < Q; q++)
        y[q] = max_nan(max_nan(max_nan(-INFINITY, row[2 * q - 1]), row[2 * q]), row[2 * q + 1]);
}

/* Does max_columns_3s2 take this geometry? */
static int is_3s2(int kind, const on_attrs *a, const on_geom *g) {
    return kind == ON_POOL_MAX && a->kw == 3 && g->sw == 2 && g->pl == 1 && 2 * g->q + 1 <= ROW_MAX;
}

/* Does reduce_columns take this geometry? */
static int columns_fit(const on_attrs *a, const on_geom *g) {
    return g->w <= ROW_MAX && g->q <= ROW_MAX && g->sw >= 1 &&
           (size_t)g->sw * ((size_t)g->q + (size_t)(a->kw - 1) / g->sw + 1) <= 2 * ROW_MAX + 64;
}

/* A row of n outputs clamped as on_clamp does, in vectors (a ReLU after the pool: a pass of
 * its own over the output, a call to on_shape_size each value, was 10% of ResNet's stem and
 * pool) */
static inline __attribute__((always_inline)) void clamp_row(float *y, int n, float lo, float hi) {
    vf vlo = (vf){0} + lo, vhi = (vf){0} + hi;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        vf v = VLOAD(y + j);
        ON_VCLAMP(vf, vi, v, vlo, vhi);
        VSTORE(y + j, v);
    }
    for (; j < n; j++) y[j] = on_clamp(y[j], lo, hi);
}

/* The columns of one output row's windows, one output at a time, from the reduced row (the
 * average's windows whole: its divisor counts the padding or not) */
static void columns_one_by_one(const on_call *c, const on_geom *g, int kind, int p, win w0,
                               const float *row, float sign, float *y) {
    for (int q = 0; q < g->q; q++) {
        win w = kind == ON_POOL_AVG ? window(c->a, g, p, q) : w0;
        if (kind != ON_POOL_AVG) { /* the columns only */
            int ws = q * g->sw - g->pl, we = ws + c->a->kw;
            w.x0 = ws < 0 ? 0 : ws;
            w.x1 = we > g->w ? g->w : we;
        }
        float m = row[w.x0];
        if (kind == ON_POOL_AVG) {
            for (int j = w.x0 + 1; j < w.x1; j++) m += row[j];
            y[q] = m / w.div;
        } else {
            for (int j = w.x0 + 1; j < w.x1; j++) m = max_nan(m, row[j]);
            y[q] = sign * m;
        }
    }
}

typedef struct rows_job {
    const on_call *c;
    const on_geom *g;
    int kind;
} rows_job;

/* Planes [pl0, pl1) of pool_forward_rows */
ON_VECTOR_CLONES static void forward_rows_planes(const void *ctx, long pl0, long pl1) {
    const rows_job *jb = ctx;
    const on_call *c = jb->c;
    const on_geom *g = jb->g;
    int kind = jb->kind;
    size_t hw = (size_t)g->h * g->w, pq = (size_t)g->p * g->q;
    float sign = kind == ON_POOL_MIN ? -1.0f : 1.0f;
    int W = g->w, vec = kind != ON_POOL_AVG && columns_fit(c->a, g);
    int s2 = is_3s2(kind, c->a, g) && !(on_conv_variant & ON_CONV_NO_POOL_3S2);
    float buf[ROW_MAX + 32], *row = buf + 8; /* row[-8, -1] and past W: max_columns_3s2's */
    if (s2)
        for (int j = -8; j < ROW_MAX + 24; j++) row[j] = -INFINITY;
    for (long pl = pl0; pl < pl1; pl++) {
        const float *x = c->x + pl * hw;
        for (int p = 0; p < g->p; p++) {
            win w0 = window(c->a, g, p, 0); /* its rows hold for the whole output row */
            const float *r = x + (size_t)w0.y0 * W;
            if (kind == ON_POOL_AVG) {
#pragma omp simd
                for (int j = 0; j < W; j++) row[j] = r[j];
                for (int i = w0.y0 + 1; i < w0.y1; i++) {
                    r += W;
#pragma omp simd
                    for (int j = 0; j < W; j++) row[j] += r[j];
                }
            } else if (s2) { /* the same folds, each column's rows in registers at once */
                int j = 0, nr = w0.y1 - w0.y0;
                vf sg = (vf){0} + sign;
                for (; j + 8 <= W; j += 8) {
                    vf v = sg * VLOAD(r + j);
                    for (int i = 1; i < nr; i++) {
                        vf b = sg * VLOAD(r + (size_t)i * W + j);
                        VMAX_NAN(v, b);
                    }
                    VSTORE(row + j, v);
                }
                for (; j < W; j++) {
                    float v = sign * r[j];
                    for (int i = 1; i < nr; i++) v = max_nan(v, sign * r[(size_t)i * W + j]);
                    row[j] = v;
                }
            } else {
#pragma omp simd
                for (int j = 0; j < W; j++) row[j] = sign * r[j];
                for (int i = w0.y0 + 1; i < w0.y1; i++) {
                    r += W;
#pragma omp simd
                    for (int j = 0; j < W; j++) row[j] = max_nan(row[j], sign * r[j]);
                }
            }
            float *y = c->y + pl * pq + (size_t)p * g->q;
            if (s2)
                max_columns_3s2(row, g->q, y);
            else if (vec)
                reduce_columns(row, g, c->a->kw, sign, y);
            else
                columns_one_by_one(c, g, kind, p, w0, row, sign, y);
            if (c->clamp) clamp_row(y, g->q, c->clamp_lo, c->clamp_hi);
        }
    }
}

static void pool_forward_rows(const on_call *c, const on_geom *g, int kind) {
    long planes = (long)c->n * c->xs.c;
    rows_job jb = {c, g, kind};
    on_parallel_range(c->threads, planes * g->h * g->w > ON_PAR_MIN, planes, forward_rows_planes,
                      &jb);
}

static void pool_direct(const on_call *c, const on_geom *g, int kind, int backward);

/* The 2x2, stride-2 max-pool without padding, which max2x2() runs */
static int is_max2x2(int kind, const on_attrs *a, const on_geom *g) {
    return kind == ON_POOL_MAX && a->kh == 2 && a->kw == 2 && g->sh == 2 && g->sw == 2 &&
           !(g->pt | g->pb | g->pl | g->pr) && g->p * 2 <= g->h && g->q * 2 <= g->w;
}

static void max_fwd(const on_call *c);

int on_pool_is_max2x2(const on_op *op, const on_attrs *a, on_shape xs) {
    on_geom g;
    return op->forward == max_fwd && xs.rank == 3 && !on_geom_make(a, xs, 0, &g, NULL) &&
           is_max2x2(ON_POOL_MAX, a, &g);
}

/* x (N,C,H,W) -> y (N,C,P,Q); in inference then clamped where c->clamp (a ReLU after it:
 * the 2x2 max-pool in its stores, the others in a pass over y) */
static void pool_run(const on_call *c, int kind, int backward) {
    on_geom g;
    on_geom_make(c->a, c->xs, 0, &g, NULL);
    if (is_max2x2(kind, c->a, &g)) {
        if (!backward || c->dx) max2x2(c, &g, backward);
        return;
    }
    if (!backward && g.w <= ROW_MAX) {
        pool_forward_rows(c, &g, kind); /* clamps in its rows */
        return;
    }
    pool_direct(c, &g, kind, backward);
    size_t ny = (size_t)c->n * on_shape_size(c->ys);
    if (!backward && c->clamp)
        for (size_t i = 0; i < ny; i++) c->y[i] = on_clamp(c->y[i], c->clamp_lo, c->clamp_hi);
}

/* Any window, any padding, one window at a time (the backward of windows other than 2x2,
 * and rows longer than ROW_MAX) */
static void pool_direct(const on_call *c, const on_geom *ge, int kind, int backward) {
    on_geom g = *ge;
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)g.h * g.w, pq = (size_t)g.p * g.q;
    if (backward && !c->dx) return;
    float sign = kind == ON_POOL_MIN ? -1.0f : 1.0f;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (planes * hw > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        const float *x = c->x + pl * hw;
        if (backward) memset(c->dx + pl * hw, 0, sizeof(float) * hw);
        for (int p = 0; p < g.p; p++)
            for (int q = 0; q < g.q; q++) {
                win w = window(c->a, &g, p, q);
                size_t o = pl * pq + (size_t)p * g.q + q;
                if (kind != ON_POOL_AVG && backward) {
                    c->dx[pl * hw + extreme(x, g.w, w, sign)] += c->dy[o];
                } else if (kind != ON_POOL_AVG) { /* the value only: no branches on data */
                    float m = sign * x[w.y0 * g.w + w.x0];
                    for (int i = w.y0; i < w.y1; i++)
                        for (int j = w.x0; j < w.x1; j++) m = max_nan(m, sign * x[i * g.w + j]);
                    c->y[o] = sign * m;
                } else if (backward) {
                    float d = c->dy[o] / w.div;
                    for (int i = w.y0; i < w.y1; i++)
                        for (int j = w.x0; j < w.x1; j++) c->dx[pl * hw + i * g.w + j] += d;
                } else {
                    float s = 0;
                    for (int i = w.y0; i < w.y1; i++)
                        for (int j = w.x0; j < w.x1; j++) s += x[i * g.w + j];
                    c->y[o] = s / w.div;
                }
            }
    }
}

static void max_fwd(const on_call *c) {
    pool_run(c, ON_POOL_MAX, 0);
}
static void max_bwd(const on_call *c) {
    pool_run(c, ON_POOL_MAX, 1);
}
static void min_fwd(const on_call *c) {
    pool_run(c, ON_POOL_MIN, 0);
}
static void min_bwd(const on_call *c) {
    pool_run(c, ON_POOL_MIN, 1);
}
static void avg_fwd(const on_call *c) {
    pool_run(c, ON_POOL_AVG, 0);
}
static void avg_bwd(const on_call *c) {
    pool_run(c, ON_POOL_AVG, 1);
}

static on_cost pool_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    double out = (double)on_shape_size(ys), in = (double)on_shape_size(xs);
    return (on_cost){.flops_fwd = out * a->kh * a->kw,
                     .flops_bwd = out * a->kh * a->kw,
                     .bytes_fwd = 4 * (in + out),
                     .bytes_bwd = 4 * (2 * in + out)};
}

#define POOL(nm, title_, kind, fwd, bwd, sp, kh_, saved_)                                          \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = ON_PROP_POOL | ON_PROP_PER_CHANNEL,                         \
                              .pool_kind = kind,                                                   \
                              .ninputs = 1,                                                        \
                              .spatial = sp,                                                       \
                              .fuses = ON_FUSES_CLAMP,                                             \
                              .in_place = ON_IN_PLACE_UNDER, /* backward: x, positions, dy */      \
                              .defaults = {.kh = kh_, .kw = 2, .count_include_pad = 1},            \
                              .args = "size stride padding ceil_mode count_include_pad",           \
                              .shape = pool_shape,                                                 \
                              .saved_size = saved_,                                                \
                              .forward = fwd,                                                      \
                              .backward = bwd,                                                     \
                              .cost = pool_cost};

/* clang-format off */
POOL(maxpool2d, "2-D max pooling", ON_POOL_MAX, max_fwd, max_bwd, 3, 2, max_saved)
POOL(maxpool1d, "1-D max pooling", ON_POOL_MAX, max_fwd, max_bwd, 2, 1, NULL)
POOL(minpool2d, "2-D min pooling", ON_POOL_MIN, min_fwd, min_bwd, 3, 2, NULL)
POOL(minpool1d, "1-D min pooling", ON_POOL_MIN, min_fwd, min_bwd, 2, 1, NULL)
POOL(avgpool2d, "2-D average pooling", ON_POOL_AVG, avg_fwd, avg_bwd, 3, 2, NULL)
POOL(avgpool1d, "1-D average pooling", ON_POOL_AVG, avg_fwd, avg_bwd, 2, 1, NULL)
/* clang-format on */

/* Global average pooling: (C,H,W) or (C,L) -> (C). */
static int gap_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    (void)a;
    if (xs.rank < 2) return on_fail(err, "needs a spatial input (C,L) or (C,H,W)");
    *ys = (on_shape){.rank = 1, .c = xs.c, .h = 1, .w = 1};
    return 0;
}

static void gap_fwd(const on_call *c) {
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)c->xs.h * c->xs.w;
    for (long pl = 0; pl < planes; pl++) {
        float s = 0;
        for (size_t j = 0; j < hw; j++) s += c->x[pl * hw + j];
        c->y[pl] = s / (float)hw;
    }
}

static void gap_bwd(const on_call *c) {
    if (!c->dx) return;
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)c->xs.h * c->xs.w;
    for (long pl = 0; pl < planes; pl++) {
        float d = c->dy[pl] / (float)hw;
        for (size_t j = 0; j < hw; j++) c->dx[pl * hw + j] = d;
    }
}

static on_cost gap_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    double in = (double)on_shape_size(xs), out = (double)on_shape_size(ys);
    return (on_cost){
        .flops_fwd = in, .flops_bwd = in, .bytes_fwd = 4 * (in + out), .bytes_bwd = 4 * (in + out)};
}

const on_op on_op_global_avgpool = {.name = "global_avgpool",
                                    .title = "global average pooling",
                                    .props = ON_PROP_PER_CHANNEL | ON_PROP_GLOBAL,
                                    .pool_kind = ON_POOL_AVG,
                                    .ninputs = 1,
                                    .shape = gap_shape,
                                    .forward = gap_fwd,
                                    .backward = gap_bwd,
                                    .cost = gap_cost};

/* Global max pooling: (C,H,W) or (C,L) -> (C), the largest value of each plane. Ties and
 * NaN as max-pool: the first largest element wins, a NaN beats any number, and the
 * backward sends dy to that one element. */
static void gmp_fwd(const on_call *c) {
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)c->xs.h * c->xs.w;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (planes * hw > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        const float *x = c->x + pl * hw;
        float m = x[0];
        for (size_t j = 1; j < hw; j++) m = max_nan(m, x[j]);
        c->y[pl] = m;
    }
}

static void gmp_bwd(const on_call *c) {
    if (!c->dx) return;
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)c->xs.h * c->xs.w;
    win w = {0, c->xs.h, 0, c->xs.w, 1.0f};
#pragma omp parallel for schedule(static) num_threads(c->threads) if (planes * hw > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        memset(c->dx + pl * hw, 0, sizeof(float) * hw);
        c->dx[pl * hw + extreme(c->x + pl * hw, c->xs.w, w, 1.0f)] = c->dy[pl];
    }
}

const on_op on_op_global_maxpool = {.name = "global_maxpool",
                                    .title = "global max pooling",
                                    .props = ON_PROP_PER_CHANNEL | ON_PROP_GLOBAL,
                                    .pool_kind = ON_POOL_MAX,
                                    .ninputs = 1,
                                    .shape = gap_shape,
                                    .forward = gmp_fwd,
                                    .backward = gmp_bwd,
                                    .cost = gap_cost};
