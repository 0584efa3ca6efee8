/* activation.c - elementwise activations: one ACT() line each.
 *
 * A line gives the name, f(x) with parameter `a`, f'(x) from x, y = f(x) and a, the
 * algebraic properties (docs/ORDERING.md) and the default parameter. The macro makes
 * single-pass forward and backward loops the compiler can vectorize. PReLU, whose slope
 * is a learned per-channel parameter, reuses the LeakyReLU formulas with a per-channel a.
 */
#include "op.h"

#include <math.h>
#include <string.h>

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static inline float sigm(float x) {
    return 1.0f / (1.0f + expf(-x));
}
/* clip(a x + b, 0, 1): PyTorch's hardsigmoid with a = 1/6, b = 1/2 (relu6(x+3)/6), Keras 2's
 * and ONNX's with a = 0.2, b = 0.5 */
static inline float hsig(float x, float a, float b) {
    float t = a * x + b;
    return t > 0 ? (t < 1 ? t : 1.0f) : 0.0f;
}
/* PyTorch's hardswish, in its order of operations: x * relu6(x + 3) / 6 */
static inline float hswish(float x) {
    float r = x + 3.0f;
    r = r > 0 ? (r < 6.0f ? r : 6.0f) : 0.0f;
    return x * r / 6.0f;
}
static inline float softplus(float x, float b) {
    return b * x > 20.0f ? x : log1pf(expf(b * x)) / b; /* PyTorch's threshold 20 */
}

static int act_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    /* rescaling's (0 for every other activation) */
    if (!isfinite(a->scale) || !isfinite(a->offset))
        return on_fail(err, "scale and offset must be finite, got %g and %g", a->scale, a->offset);
    *ys = xs;
    return 0;
}

/* Channels and the size of one channel plane, for per-channel parameters. */
static void planes(on_shape s, int *ch, size_t *inner) {
    *ch = s.c;
    *inner = on_shape_size(s) / (size_t)s.c;
}

/* Rows (sample, channel) [r0, r1) of the call ctx, split over threads for big tensors
 * (on_parallel_range): the loops below run on each row. */
#define FOR_ROWS                                                                                   \
    const on_call *c = ctx;                                                                        \
    int ch;                                                                                        \
    size_t inner;                                                                                  \
    planes(c->xs, &ch, &inner);                                                                    \
    for (long r = r0; r < r1; r++)
#define SPLIT_ROWS(fn)                                                                             \
    int ch;                                                                                        \
    size_t inner;                                                                                  \
    planes(c->xs, &ch, &inner);                                                                    \
    long rows = (long)c->n * ch;                                                                   \
    on_parallel_range(c->threads, rows *(long)inner > ON_PAR_MIN, rows, fn, c)

/* Generates name_fwd and name_bwd. A is the parameter expression for channel ci. */
#define ACT_KERNELS(nm, A, F, DF)                                                                  \
    ON_WIDE_CLONES static void nm##_fwd_rows(const void *ctx, long r0, long r1) {                  \
        FOR_ROWS {                                                                                 \
            int ci = (int)(r % ch);                                                                \
            float a = (A);                                                                         \
            (void)a;                                                                               \
            (void)ci;                                                                              \
            const float *xp = c->x + r * inner;                                                    \
            float *yp = c->y + r * inner;                                                          \
            _Pragma("omp simd") for (size_t j = 0; j < inner; j++) {                               \
                float x = xp[j];                                                                   \
                yp[j] = (F);                                                                       \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void nm##_fwd(const on_call *c) {                                                       \
        SPLIT_ROWS(nm##_fwd_rows);                                                                 \
    }                                                                                              \
    ON_WIDE_CLONES static void nm##_bwd_rows(const void *ctx, long r0, long r1) {                  \
        FOR_ROWS {                                                                                 \
            int ci = (int)(r % ch);                                                                \
            float a = (A);                                                                         \
            (void)a;                                                                               \
            (void)ci;                                                                              \
            const float *xp = c->x + r * inner, *yp = c->y + r * inner, *g = c->dy + r * inner;    \
            float *dx = c->dx + r * inner;                                                         \
            _Pragma("omp simd") for (size_t j = 0; j < inner; j++) {                               \
                float x = xp[j], y = yp[j];                                                        \
                (void)y;                                                                           \
                (void)x;                                                                           \
                dx[j] = g[j] * (DF);                                                               \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void nm##_bwd(const on_call *c) {                                                       \
        if (!c->dx) return;                                                                        \
        SPLIT_ROWS(nm##_bwd_rows);                                                                 \
    }

/* The clamps: f(x) = min(max(x, lo), hi). */
static int relu_clamp(const on_attrs *a, float *lo, float *hi) {
    (void)a;
    *lo = 0;
    *hi = INFINITY;
    return 1;
}
static int relu6_clamp(const on_attrs *a, float *lo, float *hi) {
    (void)a;
    *lo = 0;
    *hi = 6;
    return 1;
}
static int hardtanh_clamp(const on_attrs *a, float *lo, float *hi) {
    *lo = a->lo;
    *hi = a->hi;
    return a->lo <= a->hi;
}
/* clip(a x + b, 0, 1) is the clamp to [0,1] when a = 1, b = 0 */
static int hsig_clamp(const on_attrs *a, float *lo, float *hi) {
    *lo = 0;
    *hi = 1;
    return a->alpha == 1 && a->offset == 0;
}
static int leaky_clamp(const on_attrs *a, float *lo, float *hi) {
    return a->alpha == 0 && relu_clamp(a, lo, hi);
}
#define CLAMP_relu relu_clamp
#define CLAMP_relu6 relu6_clamp
#define CLAMP_hardtanh hardtanh_clamp
#define CLAMP_leaky_relu leaky_clamp
#define CLAMP_hard_sigmoid hsig_clamp
#define CLAMP_hard_swish NULL
#define CLAMP_softsign NULL
#define CLAMP_exponential NULL
#define CLAMP_rescaling NULL
#define CLAMP_identity NULL
#define CLAMP_elu NULL
#define CLAMP_selu NULL
#define CLAMP_celu NULL
#define CLAMP_tanh NULL
#define CLAMP_sigmoid NULL
#define CLAMP_softplus NULL
#define CLAMP_gelu NULL
#define CLAMP_silu NULL
#define CLAMP_mish NULL
/* Which may write over their input (op.h's ON_IN_PLACE_OVER): the clamps, whose derivatives
 * read only y */
#define IN_PLACE_relu ON_IN_PLACE_OVER
#define IN_PLACE_relu6 ON_IN_PLACE_OVER
#define IN_PLACE_hardtanh ON_IN_PLACE_OVER
#define IN_PLACE_leaky_relu 0
#define IN_PLACE_hard_sigmoid 0
#define IN_PLACE_hard_swish 0
#define IN_PLACE_softsign 0
#define IN_PLACE_exponential 0
#define IN_PLACE_rescaling 0
#define IN_PLACE_identity 0
#define IN_PLACE_elu 0
#define IN_PLACE_selu 0
#define IN_PLACE_celu 0
#define IN_PLACE_tanh 0
#define IN_PLACE_sigmoid 0
#define IN_PLACE_softplus 0
#define IN_PLACE_gelu 0
#define IN_PLACE_silu 0
#define IN_PLACE_mish 0

/* argument names of each activation (ACT() pastes ARGS_name) */
#define ARGS_leaky_relu "alpha"
#define ARGS_elu "alpha"
#define ARGS_celu "alpha"
#define ARGS_softplus "beta"
#define ARGS_hardtanh "min_val max_val"
#define ARGS_hard_sigmoid "alpha offset"
#define ARGS_hard_swish ""
#define ARGS_softsign ""
#define ARGS_exponential ""
#define ARGS_rescaling "scale offset"
#define ARGS_identity ""
#define ARGS_relu ""
#define ARGS_selu ""
#define ARGS_tanh ""
#define ARGS_sigmoid ""
#define ARGS_relu6 ""
#define ARGS_gelu ""
#define ARGS_silu ""
#define ARGS_mish ""

#define P_MONO (ON_PROP_ELEMENTWISE | ON_PROP_MONO_UP)
#define P_ZH (ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG)

/* Parameter-dependent properties of the leaky family: monotone iff slope >= 0,
 * idempotent iff the slope is 0 (ReLU) or 1 (identity). */
static unsigned leaky_props(float s) {
    unsigned p = ON_PROP_ELEMENTWISE | P_ZH | ON_PROP_LEAKY;
    if (s >= 0) p |= ON_PROP_MONO_UP;
    if (s == 0 || s == 1) p |= ON_PROP_IDEMPOTENT;
    if (s == 1) p |= ON_PROP_AFFINE;
    return p;
}
static unsigned leaky_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    return leaky_props(a->alpha);
}
static unsigned prelu_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)a;
    unsigned r = ON_PROP_ELEMENTWISE | ON_PROP_PER_CHANNEL | P_ZH | ON_PROP_MONO_UP | ON_PROP_LEAKY;
    for (int i = 0; i < xs.c; i++)
        if (!(p[0][i] >= 0)) r &= ~ON_PROP_MONO_UP;
    return r;
}
/* ELU / CELU: monotone and zero-fixed for alpha >= 0. */
static unsigned elu_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    return ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | (a->alpha >= 0 ? ON_PROP_MONO_UP : 0);
}
/* Hardtanh keeps 0 fixed iff lo <= 0 <= hi; it is always monotone and idempotent. */
static unsigned hardtanh_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    return P_MONO | ON_PROP_IDEMPOTENT | (a->lo <= 0 && a->hi >= 0 ? ON_PROP_ZERO_FIXED : 0) |
           (a->lo == -a->hi ? ON_PROP_ODD : 0);
}

/* Hard sigmoid clip(a x + b, 0, 1): non-decreasing for a >= 0, non-increasing for a <= 0;
 * f(0) = clip(b, 0, 1) is 0 iff b <= 0. */
static unsigned hsig_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    unsigned r = ON_PROP_ELEMENTWISE;
    if (a->alpha >= 0) r |= ON_PROP_MONO_UP;
    if (a->alpha <= 0) r |= ON_PROP_MONO_DOWN;
    if (a->offset <= 0) r |= ON_PROP_ZERO_FIXED;
    if (a->alpha == 1 && a->offset == 0) r |= ON_PROP_IDEMPOTENT; /* the clamp to [0,1] */
    return r;
}
/* Rescaling x * s + b: affine; non-decreasing for s >= 0, non-increasing for s <= 0; linear
 * (zero-fixed, positively homogeneous) when b = 0. Never declared the identity: with s = 1,
 * b = 0 it still turns -0 into +0, so it is not x bit for bit. */
static unsigned rescaling_props_of(const on_attrs *a, const float *const *p, on_shape xs) {
    (void)p;
    (void)xs;
    unsigned r = ON_PROP_ELEMENTWISE | ON_PROP_AFFINE;
    if (a->scale >= 0) r |= ON_PROP_MONO_UP;
    if (a->scale <= 0) r |= ON_PROP_MONO_DOWN;
    if (a->offset == 0) r |= ON_PROP_ZERO_FIXED | ON_PROP_POS_HOMOG | ON_PROP_ODD;
    if (a->offset == 0 && a->scale >= 0) r |= ON_PROP_SIGN_KEEPING;
    return r;
}

static int prelu_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)a;
    (void)ys;
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)xs.c,
                             .trainable = 1,
                             .init = ON_INIT_CONST,
                             .init_value = 0.25f,
                             .ndims = 1,
                             .dims = {xs.c}};
    return 1;
}

static on_cost act_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 1);
}
static on_cost act_cost_exp(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 8); /* transcendental: counted as ~8 flops */
}

#define ACT(nm, title_, F, DF, props_, props_of_, cost_, ...)                                      \
    ACT_KERNELS(nm, c->a->alpha, F, DF)                                                            \
    const on_op on_op_##nm = {.name = #nm,                                                         \
                              .title = title_,                                                     \
                              .props = props_,                                                     \
                              .ninputs = 1,                                                        \
                              .defaults = {__VA_ARGS__},                                           \
                              .args = ARGS_##nm,                                                   \
                              .clamp_of = CLAMP_##nm,                                              \
                              .in_place = IN_PLACE_##nm,                                           \
                              .props_of = props_of_,                                               \
                              .shape = act_shape,                                                  \
                              .forward = nm##_fwd,                                                 \
                              .backward = nm##_bwd,                                                \
                              .cost = cost_};

/* clang-format off */
ACT(identity, "identity", x, 1.0f,
    P_MONO | P_ZH | ON_PROP_AFFINE | ON_PROP_IDEMPOTENT | ON_PROP_LEAKY, NULL, act_cost)
/* The clamps' derivatives read the output y (the same value for every x): in inference a
 * convolution may run them in its stores and leave their input unwritten (graph.c's
 * fuse_into), and an input gradient may follow such a forward. */
ACT(relu, "ReLU", x > 0 ? x : 0.0f, y > 0 ? 1.0f : 0.0f,
    P_MONO | P_ZH | ON_PROP_IDEMPOTENT | ON_PROP_LEAKY, NULL, act_cost)
ACT(leaky_relu, "LeakyReLU", x > 0 ? x : a * x, x > 0 ? 1.0f : a,
    ON_PROP_ELEMENTWISE | P_ZH | ON_PROP_LEAKY | ON_PROP_PARAM_DEPENDENT, leaky_props_of, act_cost,
    .alpha = 0.01f)
ACT(elu, "ELU", x > 0 ? x : a * expm1f(x), x > 0 ? 1.0f : y + a,
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_PARAM_DEPENDENT, elu_props_of, act_cost_exp,
    .alpha = 1.0f)
ACT(selu, "SELU", SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1f(x)),
    x > 0 ? SELU_SCALE : y + SELU_SCALE * SELU_ALPHA,
    P_MONO | ON_PROP_ZERO_FIXED, NULL, act_cost_exp)
ACT(celu, "CELU", x > 0 ? x : a * expm1f(x / a), x > 0 ? 1.0f : expf(x / a),
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_PARAM_DEPENDENT, elu_props_of, act_cost_exp,
    .alpha = 1.0f)
ACT(tanh, "tanh", tanhf(x), 1.0f - y * y, P_MONO | ON_PROP_ZERO_FIXED | ON_PROP_ODD, NULL,
    act_cost_exp)
ACT(sigmoid, "sigmoid", sigm(x), y * (1.0f - y), P_MONO, NULL, act_cost_exp)
ACT(hardtanh, "hardtanh", x > c->a->lo ? (x > c->a->hi ? c->a->hi : x) : c->a->lo,
    (y > c->a->lo && y < c->a->hi) ? 1.0f : 0.0f,
    P_MONO | ON_PROP_IDEMPOTENT | ON_PROP_ZERO_FIXED | ON_PROP_PARAM_DEPENDENT, hardtanh_props_of,
    act_cost, .lo = -1.0f, .hi = 1.0f)
ACT(relu6, "ReLU6", x > 0 ? (x > 6.0f ? 6.0f : x) : 0.0f, (y > 0 && y < 6.0f) ? 1.0f : 0.0f,
    P_MONO | ON_PROP_IDEMPOTENT | ON_PROP_ZERO_FIXED, NULL, act_cost)
ACT(softplus, "softplus", softplus(x, a), a * x > 20.0f ? 1.0f : sigm(a * x), P_MONO, NULL,
    act_cost_exp, .alpha = 1.0f)
ACT(gelu, "GELU", 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)),
    0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x),
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_SIGN_KEEPING, NULL, act_cost_exp)
ACT(silu, "SiLU (swish)", x * sigm(x), sigm(x) * (1.0f + x * (1.0f - sigm(x))),
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_SIGN_KEEPING, NULL, act_cost_exp)
ACT(mish, "Mish", x * tanhf(log1pf(expf(x))),
    tanhf(log1pf(expf(x))) + x * sigm(x) * (1.0f - tanhf(log1pf(expf(x))) * tanhf(log1pf(expf(x)))),
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_SIGN_KEEPING, NULL, act_cost_exp)
/* Added with the round-2 layers. hard_sigmoid defaults to PyTorch's (a = 1/6, b = 1/2);
 * hard_sigmoid(0.2, 0.5) is Keras 2's and ONNX's default. hard_swish is not monotone (its
 * minimum is at -1.5), so it does not move across a max-pool; it is non-decreasing on x >= 0. */
ACT(hard_sigmoid, "hard sigmoid", hsig(x, a, c->a->offset),
    (a * x + c->a->offset > 0 && a * x + c->a->offset < 1) ? a : 0.0f,
    P_MONO | ON_PROP_PARAM_DEPENDENT, hsig_props_of, act_cost, .alpha = 1.0f / 6.0f, .offset = 0.5f)
ACT(hard_swish, "hard swish", hswish(x), x < -3.0f ? 0.0f : (x <= 3.0f ? x / 3.0f + 0.5f : 1.0f),
    ON_PROP_ELEMENTWISE | ON_PROP_ZERO_FIXED | ON_PROP_SIGN_KEEPING | ON_PROP_MONO_UP_POS, NULL,
    act_cost)
ACT(softsign, "softsign", x / (1.0f + fabsf(x)), 1.0f / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))),
    P_MONO | ON_PROP_ZERO_FIXED | ON_PROP_SIGN_KEEPING | ON_PROP_ODD, NULL, act_cost)
ACT(exponential, "exponential", expf(x), y, P_MONO, NULL, act_cost_exp)
/* Keras Rescaling: an affine map with one scale and one offset (attributes, not weights) */
/* always + offset: a zero offset turns -0 into +0, so a negative scale never makes a -0 that a
 * pool's ties could order differently from the swapped order's */
ACT(rescaling, "rescaling (x * scale + offset)", x * c->a->scale + c->a->offset, c->a->scale,
    ON_PROP_ELEMENTWISE | ON_PROP_AFFINE | ON_PROP_PARAM_DEPENDENT, rescaling_props_of, act_cost,
    .scale = 1.0f, .offset = 0.0f)
/* clang-format on */

/* PReLU: LeakyReLU with a learned slope per channel. */
ACT_KERNELS(prelu, c->p[0][ci], x > 0 ? x : a * x, x > 0 ? 1.0f : a)

static void prelu_backward(const on_call *c) {
    prelu_bwd(c);
    int ch;
    size_t inner;
    planes(c->xs, &ch, &inner);
    for (int ci = 0; ci < ch; ci++) { /* fixed order: independent of threads */
        double s = 0;
        for (int i = 0; i < c->n; i++) {
            const float *x = c->x + ((size_t)i * ch + ci) * inner,
                        *g = c->dy + ((size_t)i * ch + ci) * inner;
            for (size_t j = 0; j < inner; j++)
                if (x[j] <= 0) s += (double)g[j] * x[j];
        }
        c->dp[0][ci] += (float)s;
    }
}

const on_op on_op_prelu = {.name = "prelu",
                           .title = "PReLU",
                           .props = ON_PROP_ELEMENTWISE | ON_PROP_PER_CHANNEL | P_ZH |
                                    ON_PROP_LEAKY | ON_PROP_PARAM_DEPENDENT,
                           .ninputs = 1,
                           .props_of = prelu_props_of,
                           .shape = act_shape,
                           .params = prelu_params,
                           .forward = prelu_fwd,
                           .backward = prelu_backward,
                           .cost = act_cost};
