/* merge.c - ops with several inputs: the elementwise merges (add, multiply, subtract,
 * divide, average, maximum, minimum) and concatenation.
 *
 * Elementwise merges take inputs of the output's shape, or per-channel gates: an input
 * of C values ((C), (C,1) or (C,1,1)) is broadcast over the positions of channel c, as a
 * squeeze-and-excitation block multiplies its (C,1,1) gate into (C,H,W) features. The
 * output has the shape of the first largest input.
 *
 * Backward adds into an input's gradient when another consumer wrote it first
 * (c->dx_add[k]); inputs are handled one after another, so a node that feeds a merge
 * twice (add(x, x)) gets both contributions. A gate's gradient sums over the positions.
 *
 * Maximum and minimum send the gradient to the first input holding the extreme (as
 * TensorFlow's maximum; PyTorch splits ties evenly); a NaN wins, so NaN propagates.
 */
#include "op.h"

#include <math.h>
#include <string.h>

enum { M_ADD, M_MUL, M_SUB, M_DIV, M_AVG, M_MAX, M_MIN };

/* An input of C values that is not itself of the output's shape: one value a channel. */
static int is_gate(on_shape x, on_shape y) {
    return !on_shape_equal(x, y) && x.c == y.c && on_shape_size(x) == (size_t)y.c;
}

static int ew_shape(const on_shape *xs, int n, on_shape *ys, on_error *err) {
    int big = 0;
    for (int k = 1; k < n; k++)
        if (on_shape_size(xs[k]) > on_shape_size(xs[big])) big = k;
    *ys = xs[big];
    for (int k = 0; k < n; k++)
        if (!on_shape_equal(xs[k], *ys) && !is_gate(xs[k], *ys)) {
            char a[48], b[48];
            return on_fail(err,
                           "input %d has shape %s: each input must have the shape %s or be a "
                           "per-channel gate of %d values",
                           k + 1, on_shape_str(xs[k], a, sizeof a), on_shape_str(*ys, b, sizeof b),
                           ys->c);
        }
    return 0;
}

static int any_shape(const on_attrs *a, const on_shape *xs, int n, on_shape *ys, on_error *err) {
    (void)a;
    return ew_shape(xs, n, ys, err);
}

static int two_shape(const on_attrs *a, const on_shape *xs, int n, on_shape *ys, on_error *err) {
    (void)a;
    if (n != 2) return on_fail(err, "takes exactly 2 inputs, got %d", n);
    return ew_shape(xs, n, ys, err);
}

/* Input k's values for row r (sample x channel) of S positions: S values, or one. */
static const float *row_of(const on_call *c, int k, size_t r, size_t S, size_t *step) {
    int g = is_gate(c->xsin[k], c->ys);
    *step = g ? 0 : 1;
    return c->xin[k] + (g ? r : r * S);
}

/* The extreme's input at position p of row r (maximum: sign 1, minimum: -1). */
static int winner(const on_call *c, size_t r, size_t S, size_t p, int sign) {
    int best = 0;
    size_t st;
    float b = row_of(c, 0, r, S, &st)[p * st];
    for (int k = 1; k < c->nin && b == b; k++) {
        float v = row_of(c, k, r, S, &st)[p * st];
        if (v != v || (sign > 0 ? v > b : v < b)) b = v, best = k;
    }
    return best;
}

typedef struct ew_job {
    const on_call *c;
    int kind;
} ew_job;

/* Rows (sample, channel) [r0, r1) of ew_forward */
ON_WIDE_CLONES static void ew_rows(const void *ctx, long r0, long r1) {
    const on_call *c = ((const ew_job *)ctx)->c;
    int kind = ((const ew_job *)ctx)->kind;
    size_t S = (size_t)c->ys.h * c->ys.w;
    for (size_t r = (size_t)r0; r < (size_t)r1; r++) {
        float *y = c->y + r * S;
        size_t st;
        const float *x = row_of(c, 0, r, S, &st);
        for (size_t p = 0; p < S; p++) y[p] = x[p * st];
        for (int k = 1; k < c->nin; k++) {
            x = row_of(c, k, r, S, &st);
            switch (kind) {
            case M_ADD:
            case M_AVG:
                if (st) { /* the common case (a residual add): a vector loop */
#pragma omp simd
                    for (size_t p = 0; p < S; p++) y[p] += x[p];
                } else
                    for (size_t p = 0; p < S; p++) y[p] += x[0];
                break;
            case M_MUL:
                for (size_t p = 0; p < S; p++) y[p] *= x[p * st];
                break;
            case M_SUB:
                for (size_t p = 0; p < S; p++) y[p] -= x[p * st];
                break;
            case M_DIV:
                for (size_t p = 0; p < S; p++) y[p] /= x[p * st];
                break;
            case M_MAX:
                for (size_t p = 0; p < S; p++)
                    if (y[p] == y[p] && (x[p * st] != x[p * st] || x[p * st] > y[p]))
                        y[p] = x[p * st];
                break;
            case M_MIN:
                for (size_t p = 0; p < S; p++)
                    if (y[p] == y[p] && (x[p * st] != x[p * st] || x[p * st] < y[p]))
                        y[p] = x[p * st];
                break;
            }
        }
        if (kind == M_AVG)
            for (size_t p = 0; p < S; p++) y[p] /= (float)c->nin;
    }
}

static void ew_forward(const on_call *c, int kind) {
    size_t S = (size_t)c->ys.h * c->ys.w, rows = (size_t)c->n * c->ys.c;
    ew_job jb = {c, kind};
    on_parallel_range(c->threads, rows * S > ON_PAR_MIN, (long)rows, ew_rows, &jb);
}

/* d(output)/d(input k) at position p of row r, times dy. */
static float ew_grad(const on_call *c, int kind, int k, size_t r, size_t S, size_t p, float dy) {
    size_t st;
    switch (kind) {
    case M_ADD:
        return dy;
    case M_AVG:
        return dy / (float)c->nin;
    case M_SUB:
        return k == 0 ? dy : -dy;
    case M_DIV: {
        float x0 = row_of(c, 0, r, S, &st)[p * st];
        float x1 = row_of(c, 1, r, S, &st)[p * st];
        return k == 0 ? dy / x1 : -dy * x0 / (x1 * x1);
    }
    case M_MUL: {
        float g = dy;
        for (int j = 0; j < c->nin; j++)
            if (j != k) g *= row_of(c, j, r, S, &st)[p * st];
        return g;
    }
    default: /* M_MAX, M_MIN */
        return winner(c, r, S, p, kind == M_MAX ? 1 : -1) == k ? dy : 0.0f;
    }
}

static void ew_backward(const on_call *c, int kind) {
    size_t S = (size_t)c->ys.h * c->ys.w, rows = (size_t)c->n * c->ys.c;
    for (int k = 0; k < c->nin; k++) { /* in order: see the top of the file */
        float *dx = c->dxin[k];
        if (!dx) continue;
        int gate = is_gate(c->xsin[k], c->ys), add = c->dx_add[k];
#pragma omp parallel for schedule(static) num_threads(c->threads) if (rows * S > ON_PAR_MIN)
        for (size_t r = 0; r < rows; r++) {
            const float *dy = c->dy + r * S;
            if (gate) {
                double s = 0; /* a sum over up to H*W positions: in double */
                for (size_t p = 0; p < S; p++) s += ew_grad(c, kind, k, r, S, p, dy[p]);
                dx[r] = add ? dx[r] + (float)s : (float)s;
            } else if (kind == M_ADD && !add) {
                memcpy(dx + r * S, dy, sizeof(float) * S);
            } else {
                float *d = dx + r * S;
                for (size_t p = 0; p < S; p++) {
                    float g = ew_grad(c, kind, k, r, S, p, dy[p]);
                    d[p] = add ? d[p] + g : g;
                }
            }
        }
    }
}

#define EW_OP(NAME, KIND, TITLE, SHAPE, FLOPS)                                                     \
    static void NAME##_fwd(const on_call *c) {                                                     \
        ew_forward(c, KIND);                                                                       \
    }                                                                                              \
    static void NAME##_bwd(const on_call *c) {                                                     \
        ew_backward(c, KIND);                                                                      \
    }                                                                                              \
    static on_cost NAME##_cost(const on_attrs *a, on_shape xs, on_shape ys) {                      \
        (void)a;                                                                                   \
        (void)xs;                                                                                  \
        on_cost k = on_cost_elementwise(ys, FLOPS);                                                \
        k.bytes_fwd *= 1.5;                                                                        \
        return k;                                                                                  \
    }                                                                                              \
    const on_op on_op_##NAME = {.name = #NAME,                                                     \
                                .title = TITLE,                                                    \
                                .ninputs = ON_NINPUTS_ANY,                                         \
                                .shape_n = SHAPE,                                                  \
                                .forward = NAME##_fwd,                                             \
                                .backward = NAME##_bwd,                                            \
                                .cost = NAME##_cost};

EW_OP(add, M_ADD, "add (residual sum)", any_shape, 1)
EW_OP(multiply, M_MUL, "elementwise product (gates)", any_shape, 1)
EW_OP(subtract, M_SUB, "difference of two inputs", two_shape, 1)
EW_OP(divide, M_DIV, "quotient of two inputs", two_shape, 1)
EW_OP(average, M_AVG, "elementwise mean", any_shape, 2)
EW_OP(maximum, M_MAX, "elementwise maximum", any_shape, 1)
EW_OP(minimum, M_MIN, "elementwise minimum", any_shape, 1)

/* ----- concatenation ----- */

/* The per-sample dimensions channels first: rank 3 (c,h,w), 2 (c,w), 1 (c). */
static int dims_of(on_shape s, int d[3]) {
    d[0] = s.c;
    d[1] = s.rank == 3 ? s.h : s.w;
    d[2] = s.w;
    return s.rank;
}

static int axis_of(const on_attrs *a, int rank) {
    return a->axis < 0 ? a->axis + rank : a->axis;
}

static int concat_shape(const on_attrs *a, const on_shape *xs, int n, on_shape *ys, on_error *err) {
    int rank = xs[0].rank, ax = axis_of(a, rank), d0[3], d[3];
    if (ax < 0 || ax >= rank)
        return on_fail(err, "axis %d is outside the per-sample rank %d", a->axis, rank);
    dims_of(xs[0], d0);
    int total = 0;
    for (int k = 0; k < n; k++) {
        if (dims_of(xs[k], d) != rank)
            return on_fail(err, "input %d has rank %d, input 1 rank %d", k + 1, xs[k].rank, rank);
        for (int i = 0; i < rank; i++)
            if (i != ax && d[i] != d0[i]) {
                char s1[48], s2[48];
                return on_fail(err,
                               "input %d has shape %s, input 1 %s: they may differ only on "
                               "axis %d",
                               k + 1, on_shape_str(xs[k], s1, sizeof s1),
                               on_shape_str(xs[0], s2, sizeof s2), ax);
            }
        total += d[ax];
    }
    *ys = xs[0];
    if (ax == 0)
        ys->c = total;
    else if (ax == 1 && rank == 3)
        ys->h = total;
    else
        ys->w = total;
    return 0;
}

/* Per sample, input k is `outer` blocks of len_k floats, placed at column off_k of the
 * output's `outer` blocks of len floats. */
static void concat_geom(const on_call *c, int k, size_t *outer, size_t *len_k, size_t *len) {
    int d[3], ax = axis_of(c->a, c->ys.rank), rank = dims_of(c->ys, d), dk[3];
    dims_of(c->xsin[k], dk);
    *outer = 1;
    for (int i = 0; i < ax; i++) *outer *= (size_t)d[i];
    size_t inner = 1;
    for (int i = ax + 1; i < rank; i++) inner *= (size_t)d[i];
    *len_k = (size_t)dk[ax] * inner;
    *len = (size_t)d[ax] * inner;
}

static void concat_fwd(const on_call *c) {
    size_t ysz = on_shape_size(c->ys), off = 0;
    for (int k = 0; k < c->nin; k++) {
        size_t outer, lk, len, xsz = on_shape_size(c->xsin[k]);
        concat_geom(c, k, &outer, &lk, &len);
        size_t blocks = (size_t)c->n * outer;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (blocks * lk > ON_PAR_MIN)
        for (size_t b = 0; b < blocks; b++) {
            size_t s = b / outer, o = b % outer;
            memcpy(c->y + s * ysz + o * len + off, c->xin[k] + s * xsz + o * lk,
                   sizeof(float) * lk);
        }
        off += lk;
    }
}

static void concat_bwd(const on_call *c) {
    size_t ysz = on_shape_size(c->ys), off = 0;
    for (int k = 0; k < c->nin; k++) {
        size_t outer, lk, len, xsz = on_shape_size(c->xsin[k]);
        concat_geom(c, k, &outer, &lk, &len);
        float *dx = c->dxin[k];
        int add = c->dx_add[k];
        size_t blocks = (size_t)c->n * outer;
        if (dx) {
#pragma omp parallel for schedule(static) num_threads(c->threads) if (blocks * lk > ON_PAR_MIN)
            for (size_t b = 0; b < blocks; b++) {
                size_t s = b / outer, o = b % outer;
                const float *g = c->dy + s * ysz + o * len + off;
                float *d = dx + s * xsz + o * lk;
                if (add)
                    for (size_t j = 0; j < lk; j++) d[j] += g[j];
                else
                    memcpy(d, g, sizeof(float) * lk);
            }
        }
        off += lk;
    }
}

static on_cost concat_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)xs;
    return on_cost_elementwise(ys, 0);
}

const on_op on_op_concat = {.name = "concat",
                            .title = "concatenation",
                            .ninputs = ON_NINPUTS_ANY,
                            .args = "axis",
                            .shape_n = concat_shape,
                            .forward = concat_fwd,
                            .backward = concat_bwd,
                            .cost = concat_cost};
