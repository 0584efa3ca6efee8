/* dropout.c - inverted dropout: y = m * x / q, m ~ Bernoulli(q), q = 1 - rate.
 *
 * The mask is a pure function of (node key, step, element index) through a counter-based
 * generator (one 64-bit hash per four elements, 16 bits each: p is rounded to 1/65536),
 * so it costs no memory, the backward pass regenerates it instead of storing
 * it, and it is the same whatever the thread count. At eval time dropout is the identity.
 */
#include "op.h"

#include <string.h>

static int drop_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (!(a->rate >= 0 && a->rate <= 1))
        return on_fail(err, "rate must be in [0,1], got %g", a->rate);
    *ys = xs;
    return 0;
}

/* in (N,S) -> out (N,S); in = x forward, dy backward */
static void drop_apply(const on_call *c, const float *in, float *out) {
    size_t total = (size_t)c->n * on_shape_size(c->xs);
    if (!c->train || c->a->rate == 0) {
        if (out != in) memcpy(out, in, sizeof(float) * total);
        return;
    }
    float p = c->a->rate, scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    uint64_t key = on_mix64(c->key ^ on_mix64(c->step));
    /* one 64-bit hash gives four 16-bit uniforms: element i keeps when its draw >= p */
    uint32_t cut = (uint32_t)(p * 65536.0f + 0.5f);
    size_t groups = (total + 3) / 4;
#pragma omp parallel for schedule(static) num_threads(c->threads) if (total > ON_PAR_MIN)
    for (size_t gi = 0; gi < groups; gi++) {
        uint64_t z = on_mix64(key ^ (gi * 0xD1B54A32D192ED03ull));
        for (size_t i = gi * 4; i < gi * 4 + 4 && i < total; i++, z >>= 16)
            out[i] = (uint32_t)(z & 0xFFFF) >= cut ? in[i] * scale : 0.0f;
    }
}

static void drop_fwd(const on_call *c) {
    drop_apply(c, c->x, c->y);
}
static void drop_bwd(const on_call *c) {
    if (c->dx) drop_apply(c, c->dy, c->dx);
}

static on_cost drop_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    (void)ys;
    return on_cost_elementwise(xs, 2);
}

const on_op on_op_dropout = {.name = "dropout",
                             .title = "dropout (inverted)",
                             .props = ON_PROP_ELEMENTWISE | ON_PROP_STOCHASTIC |
                                      ON_PROP_TRAIN_DIFFERS | ON_PROP_ZERO_FIXED |
                                      ON_PROP_POS_HOMOG,
                             .ninputs = 1,
                             .defaults = {.rate = 0.5f},
                             .args = "rate seed",
                             .shape = drop_shape,
                             .forward = drop_fwd,
                             .backward = drop_bwd,
                             .cost = drop_cost};
