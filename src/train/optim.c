/* optim.c - optimizers as flat loops over the contiguous parameter buffer, matching
 * torch.optim.SGD and torch.optim.AdamW. State (momentum, moments) is allocated on first
 * use and zeroed by on_model_init. The parameters of frozen layers (Keras trainable=False)
 * are skipped: the loops run over the runs of parameters between them. */
#include "../graph.h"
#include "../ops/op.h" /* ON_VECTOR_CLONES */

#include <math.h>
#include <stdlib.h>

static float *state(on_model *m) {
    if (!m->opt_state) m->opt_state = calloc(2 * m->np + 1, sizeof(float));
    return m->opt_state;
}

/* The next run [*lo, *hi) of parameters to update at or after *hi: trainable tensors of
 * layers that are not frozen (tensors lie in params in their order). 0 when none is left. */
static int next_run(const on_model *m, int *t, size_t *lo, size_t *hi) {
    for (; *t < m->nt; (*t)++) {
        const on_tensor *x = &m->tensors[*t];
        if (!x->d.trainable || m->nodes[x->node].a.frozen) continue;
        *lo = x->off;
        *hi = x->off + x->d.size;
        for ((*t)++; *t < m->nt; (*t)++) { /* merge the contiguous ones that follow */
            const on_tensor *y = &m->tensors[*t];
            if (!y->d.trainable) continue;
            if (m->nodes[y->node].a.frozen || y->off != *hi) break;
            *hi += y->d.size;
        }
        return 1;
    }
    return 0;
}

/* A thread's unit of work in the update loops: elementwise, so the result is the same at
 * any thread count. */
enum { BLOCK = 16384 };

ON_VECTOR_CLONES static void sgd_run(float *p, const float *gr, float *v, size_t n, float lr,
                                     float momentum, float weight_decay, int nesterov) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = gr[i] + weight_decay * p[i];
        v[i] = momentum * v[i] + g;
        p[i] -= lr * (nesterov ? g + momentum * v[i] : v[i]);
    }
}

ON_VECTOR_CLONES static void adamw_run(float *p, const float *gr, float *mo, float *ve, size_t n,
                                       float decay, float beta1, float beta2, float step, float sc2,
                                       float eps) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = gr[i];
        p[i] *= decay;
        mo[i] = beta1 * mo[i] + (1 - beta1) * g;
        ve[i] = beta2 * ve[i] + (1 - beta2) * g * g;
        p[i] -= step * mo[i] / (sqrtf(ve[i]) * sc2 + eps);
    }
}

void on_sgd_step(on_model *m, float lr, float momentum, float weight_decay, on_momentum nesterov) {
    float *v = state(m);
    if (!v) return;
    size_t lo, hi;
    for (int k = 0; next_run(m, &k, &lo, &hi);) {
        long blocks = (long)((hi - lo + BLOCK - 1) / BLOCK);
#pragma omp parallel for schedule(static) num_threads(m->threads) if (blocks > 1)
        for (long b = 0; b < blocks; b++) {
            size_t i = lo + (size_t)b * BLOCK, n = hi - i < BLOCK ? hi - i : BLOCK;
            sgd_run(m->params + i, m->grads + i, v + i, n, lr, momentum, weight_decay,
                    nesterov != ON_MOMENTUM_PLAIN);
        }
    }
}

void on_adamw_step(on_model *m, float lr, float beta1, float beta2, float eps, float weight_decay,
                   long t) {
    float *mo = state(m);
    if (!mo) return;
    float *ve = mo + m->np;
    float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
    float step = lr / c1, sc2 = 1.0f / sqrtf(c2), decay = 1.0f - lr * weight_decay;
    size_t lo, hi;
    for (int k = 0; next_run(m, &k, &lo, &hi);) {
        long blocks = (long)((hi - lo + BLOCK - 1) / BLOCK);
#pragma omp parallel for schedule(static) num_threads(m->threads) if (blocks > 1)
        for (long b = 0; b < blocks; b++) {
            size_t i = lo + (size_t)b * BLOCK, n = hi - i < BLOCK ? hi - i : BLOCK;
            adamw_run(m->params + i, m->grads + i, mo + i, ve + i, n, decay, beta1, beta2, step,
                      sc2, eps);
        }
    }
}

float on_clip_grad_norm(on_model *m, float max_norm) {
    double s = 0;
    for (size_t i = 0; i < m->np; i++) s += (double)m->grads[i] * m->grads[i];
    float norm = (float)sqrt(s);
    if (max_norm > 0 && norm > max_norm) {
        float k = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < m->np; i++) m->grads[i] *= k;
    }
    return norm;
}
