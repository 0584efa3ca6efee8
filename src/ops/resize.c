/* resize.c - upsampling of 1-D signals and images (Keras UpSampling1D/2D, ONNX Resize in
 * nearest and linear modes, PyTorch's F.interpolate with scale_factor).
 *
 * The output size is floor(in * scale) per axis, as PyTorch computes it from a scale
 * factor; scales may be fractional (and below 1). Source positions follow PyTorch 1.13's
 * CPU kernels in float arithmetic, so that nearest picks the same element:
 *   nearest:  src = min(floor(dst * s), in - 1) with s = 1/scale (dst itself when the
 *             size is kept, dst/2 when it doubles);
 *   linear, align_corners = 0: src = max(s (dst + 0.5) - 0.5, 0) with s = 1/scale;
 *   linear, align_corners = 1: src = dst (in - 1) / (out - 1) (the scale only sets the size);
 * a linear output mixes src0 = floor(src) and src0 + 1 (src0 at the last element) with
 * weights 1 - l and l, l = src - src0. 2-D linear is bilinear: the product of both axes.
 * Fields: mode (ON_RESIZE_NEAREST or ON_RESIZE_LINEAR), align_corners, scale_h, scale_w
 * (1-D: scale_w only).
 */
#include "op.h"

#include <math.h>
#include <string.h>

/* floor(in * scale), or -1 when the scale is not a positive finite number. */
static int out_size(int in, float scale) {
    if (!(scale > 0) || isinf(scale)) return -1;
    double o = floor((double)in * (double)scale);
    return o > (double)(1 << 28) ? -1 : (int)o;
}

static int resize_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->mode != ON_RESIZE_NEAREST && a->mode != ON_RESIZE_LINEAR)
        return on_fail(err, "unknown mode %d (nearest or linear)", a->mode);
    int two_d = xs.rank == 3;
    int p = two_d ? out_size(xs.h, a->scale_h) : 1, q = out_size(xs.w, a->scale_w);
    if (p < 1 || q < 1)
        return on_fail(err,
                       "scale (%g,%g) gives an empty or invalid output (size = floor(in * scale))",
                       two_d ? a->scale_h : 1.0, a->scale_w);
    *ys = xs;
    ys->h = p;
    ys->w = q;
    return 0;
}

/* Where output index dst reads along one axis: i0, i1 and the weight l of i1. */
typedef struct tap {
    int i0, i1;
    float l;
} tap;

static tap tap_of(const on_attrs *a, int dst, int in, int out, float scale) {
    tap t = {0, 0, 0.0f};
    if (a->mode == ON_RESIZE_NEAREST) {
        if (out == in)
            t.i0 = dst;
        else if (out == 2 * in)
            t.i0 = dst >> 1;
        else {
            float s = (float)(1.0 / (double)scale);
            int i = (int)floorf((float)dst * s);
            t.i0 = i < in - 1 ? i : in - 1;
        }
        t.i1 = t.i0;
        return t;
    }
    float src;
    if (a->align_corners) {
        float s = out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
        src = s * (float)dst;
    } else {
        float s = (float)(1.0 / (double)scale);
        src = s * ((float)dst + 0.5f) - 0.5f;
        if (src < 0) src = 0;
    }
    t.i0 = (int)src;
    if (t.i0 > in - 1) t.i0 = in - 1;
    t.i1 = t.i0 + (t.i0 < in - 1);
    float l = src - (float)t.i0;
    t.l = l < 0 ? 0 : l > 1 ? 1 : l;
    return t;
}

/* The column taps of an output row, computed once per call for rows up to COLS_MAX wide
 * (else per element). */
enum { COLS_MAX = 2048 };

/* x (N,C,H,W) -> y (N,C,P,Q); backward: dx = the transposed map of dy. */
static void resize_run(const on_call *c, int backward) {
    const on_attrs *a = c->a;
    int H = c->xs.h, W = c->xs.w, P = c->ys.h, Q = c->ys.w;
    long planes = (long)c->n * c->xs.c;
    size_t hw = (size_t)H * W, pq = (size_t)P * Q;
    float sh = c->xs.rank == 3 ? a->scale_h : 1.0f;
    if (backward && !c->dx) return;
    tap cols[COLS_MAX];
    int table = Q <= COLS_MAX;
    for (int q = 0; table && q < Q; q++) cols[q] = tap_of(a, q, W, Q, a->scale_w);
#pragma omp parallel for schedule(static) num_threads(c->threads) if (planes * pq > ON_PAR_MIN)
    for (long pl = 0; pl < planes; pl++) {
        if (backward) memset(c->dx + pl * hw, 0, sizeof(float) * hw);
        for (int p = 0; p < P; p++) {
            tap r = tap_of(a, p, H, P, sh);
            size_t o = pl * pq + (size_t)p * Q;
            size_t i0 = pl * hw + (size_t)r.i0 * W, i1 = pl * hw + (size_t)r.i1 * W;
            if (a->mode == ON_RESIZE_NEAREST) {
                for (int q = 0; q < Q; q++) {
                    int k = table ? cols[q].i0 : tap_of(a, q, W, Q, a->scale_w).i0;
                    if (backward)
                        c->dx[i0 + k] += c->dy[o + q];
                    else
                        c->y[o + q] = c->x[i0 + k];
                }
                continue;
            }
            for (int q = 0; q < Q; q++) {
                tap t = table ? cols[q] : tap_of(a, q, W, Q, a->scale_w);
                float w00 = (1 - r.l) * (1 - t.l), w01 = (1 - r.l) * t.l;
                float w10 = r.l * (1 - t.l), w11 = r.l * t.l;
                if (backward) {
                    float d = c->dy[o + q];
                    c->dx[i0 + t.i0] += w00 * d;
                    c->dx[i0 + t.i1] += w01 * d;
                    c->dx[i1 + t.i0] += w10 * d;
                    c->dx[i1 + t.i1] += w11 * d;
                } else {
                    const float *x = c->x;
                    c->y[o + q] = w00 * x[i0 + t.i0] + w01 * x[i0 + t.i1] + w10 * x[i1 + t.i0] +
                                  w11 * x[i1 + t.i1];
                }
            }
        }
    }
}

static void resize_fwd(const on_call *c) {
    resize_run(c, 0);
}
static void resize_bwd(const on_call *c) {
    resize_run(c, 1);
}

/* Nearest only copies values (ON_PROP_COPIES); linear mixes them with weights >= 0 that
 * sum to 1 (ON_PROP_CONVEX). */
static unsigned resize_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    return a->mode == ON_RESIZE_NEAREST ? ON_PROP_COPIES : ON_PROP_CONVEX;
}

static on_cost resize_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    double in = (double)on_shape_size(xs), out = (double)on_shape_size(ys);
    double f = a->mode == ON_RESIZE_NEAREST ? 0 : 7;
    return (on_cost){.flops_fwd = f * out,
                     .flops_bwd = (f + 1) * out,
                     .bytes_fwd = 4 * (in + out),
                     .bytes_bwd = 4 * (2 * in + out)};
}

#define RESIZE(nm, title_, sp, sh_)                                                                \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = ON_PROP_COPIES,                                             \
                              .ninputs = 1,                                                        \
                              .spatial = sp,                                                       \
                              .defaults = {.scale_h = sh_, .scale_w = 2},                          \
                              .args = "scale_factor mode align_corners",                           \
                              .props_of = resize_props_of,                                         \
                              .shape = resize_shape,                                               \
                              .forward = resize_fwd,                                               \
                              .backward = resize_bwd,                                              \
                              .cost = resize_cost};

/* clang-format off */
RESIZE(upsample2d, "2-D upsampling (nearest, bilinear)", 3, 2)
RESIZE(upsample1d, "1-D upsampling (nearest, linear)", 2, 1)
/* clang-format on */
