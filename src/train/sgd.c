/* sgd.c - SGD with momentum and L2 weight decay, as torch.optim.SGD: one flat loop over
 * the contiguous parameter buffer. The momentum buffer is allocated on first use. */
#include "../graph.h"

#include <stdlib.h>

void on_sgd_step(on_model *m, float lr, float momentum, float weight_decay) {
    if (!m->opt_state && !(m->opt_state = calloc(2 * m->np + 1, sizeof(float)))) return;
    float *v = m->opt_state;
    for (size_t i = 0; i < m->np; i++) {
        float g = m->grads[i] + weight_decay * m->params[i];
        v[i] = momentum * v[i] + g;
        m->params[i] -= lr * v[i];
    }
}
