/* embedding.c - token ids to vectors (Keras Embedding, PyTorch nn.Embedding).
 *
 * The input is a sequence of L token ids stored as floats, shape (L); the output is the
 * channels-first signal (D, L) that a Conv1D reads: y[d][l] = W[id_l][d], with the weight
 * W (vocab, D) as PyTorch lays it out. Fields: vocab (Keras input_dim), units = D (Keras
 * output_dim). Ids must be whole numbers in [0, vocab): check() refuses anything else
 * before the forward, naming the id and the vocabulary size. Ids are not differentiable:
 * the input gradient is 0. The weight starts uniform in [-1, 1].
 */
#include "op.h"

#include <math.h>
#include <string.h>

static int emb_shape(const on_attrs *a, on_shape xs, on_shape *ys, on_error *err) {
    if (a->vocab < 1 || a->units < 1)
        return on_fail(err, "needs a vocabulary size and a vector size >= 1, got vocab=%d units=%d",
                       a->vocab, a->units);
    if ((double)a->vocab * a->units > (double)(1 << 28))
        return on_fail(err, "a %d x %d weight is too large", a->vocab, a->units);
    if (xs.rank != 1) return on_fail(err, "needs a sequence of token ids (L)");
    *ys = (on_shape){.rank = 2, .c = a->units, .h = 1, .w = xs.c};
    return 0;
}

static int emb_params(const on_attrs *a, on_shape xs, on_shape ys, on_param_desc out[4]) {
    (void)xs;
    (void)ys;
    out[0] = (on_param_desc){.name = "weight",
                             .size = (size_t)a->vocab * a->units,
                             .trainable = 1,
                             .init = ON_INIT_FANIN,
                             .fan_in = 1,
                             .ndims = 2,
                             .dims = {a->vocab, a->units}};
    return 1;
}

static int emb_check(const on_call *c, on_error *err) {
    int L = c->xs.c;
    for (long i = 0; i < (long)c->n * L; i++) {
        float v = c->x[i];
        if (v != floorf(v) || !(v >= 0 && v < (float)c->a->vocab))
            return on_fail(err,
                           "token id %g (sample %ld, position %ld) is %s the vocabulary of %d "
                           "(ids 0 to %d)",
                           (double)v, i / L, i % L,
                           v != floorf(v) ? "not a whole id of" : "outside", c->a->vocab,
                           c->a->vocab - 1);
    }
    return 0;
}

/* ids (N,L), W (V,D) -> y (N,D,L) */
static void emb_fwd(const on_call *c) {
    int L = c->xs.c, D = c->a->units;
    for (int s = 0; s < c->n; s++)
        for (int l = 0; l < L; l++) {
            const float *w = c->p[0] + (size_t)c->x[(size_t)s * L + l] * D;
            float *y = c->y + (size_t)s * D * L + l;
            for (int d = 0; d < D; d++) y[(size_t)d * L] = w[d];
        }
}

static void emb_bwd(const on_call *c) {
    int L = c->xs.c, D = c->a->units;
    for (int s = 0; s < c->n; s++)
        for (int l = 0; l < L; l++) {
            float *dw = c->dp[0] + (size_t)c->x[(size_t)s * L + l] * D;
            const float *dy = c->dy + (size_t)s * D * L + l;
            for (int d = 0; d < D; d++) dw[d] += dy[(size_t)d * L];
        }
    if (c->dx) memset(c->dx, 0, sizeof(float) * c->n * L);
}

static on_cost emb_cost(const on_attrs *a, on_shape xs, on_shape ys) {
    (void)a;
    double in = (double)on_shape_size(xs), out = (double)on_shape_size(ys);
    return (on_cost){.flops_bwd = out, .bytes_fwd = 4 * (in + 2 * out), .bytes_bwd = 12 * out};
}

const on_op on_op_embedding = {.name = "embedding",
                               .title = "embedding (token ids to vectors)",
                               .ninputs = 1,
                               .spatial = 1,
                               .defaults = {.vocab = 0, .units = 0},
                               .args = "vocab units",
                               .shape = emb_shape,
                               .params = emb_params,
                               .forward = emb_fwd,
                               .backward = emb_bwd,
                               .cost = emb_cost,
                               .check = emb_check};
