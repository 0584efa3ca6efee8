/* optim.c - optimizers as flat loops over the contiguous parameter buffer, matching
 * torch.optim.SGD and torch.optim.AdamW. State (momentum, moments) is allocated on first
 * use and zeroed by on_model_init. The parameters of frozen layers (Keras trainable=False)
 * are skipped: the loops run over the runs of parameters between them. */
#include "../graph.h"

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

void on_sgd_step(on_model *m, float lr, float momentum, float weight_decay, int nesterov) {
    float *v = state(m);
    if (!v) return;
    size_t lo, hi;
    for (int k = 0; next_run(m, &k, &lo, &hi);)
        for (size_t i = lo; i < hi; i++) {
            float g = m->grads[i] + weight_decay * m->params[i];
            v[i] = momentum * v[i] + g;
            m->params[i] -= lr * (nesterov ? g + momentum * v[i] : v[i]);
        }
}

void on_adamw_step(on_model *m, float lr, float beta1, float beta2, float eps, float weight_decay,
                   long t) {
    float *mo = state(m);
    if (!mo) return;
    float *ve = mo + m->np;
    float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
    float step = lr / c1, sc2 = 1.0f / sqrtf(c2);
    size_t lo, hi;
    for (int k = 0; next_run(m, &k, &lo, &hi);)
        for (size_t i = lo; i < hi; i++) {
            float g = m->grads[i];
            m->params[i] *= 1.0f - lr * weight_decay;
            mo[i] = beta1 * mo[i] + (1 - beta1) * g;
            ve[i] = beta2 * ve[i] + (1 - beta2) * g * g;
            m->params[i] -= step * mo[i] / (sqrtf(ve[i]) * sc2 + eps);
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
