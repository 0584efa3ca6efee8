/* regularize.c - Keras's kernel, bias and activity regularizers in the training loss, and
 * frozen layers (Keras trainable=False).
 *
 * A regularizer is l1 * sum|v| + l2 * sum v^2 (Keras's L1L2: no factor 1/2). Kernel ([0] of
 * on_attrs.reg_l1 / reg_l2) applies to a layer's "weight" tensor, bias ([1]) to its "bias";
 * activity ([2]) to the layer's output, summed over the whole batch and divided by the batch
 * size, as Keras 2's Layer._handle_activity_regularization does ("batch-agnostic"). Keras 2
 * counts the regularizers of frozen layers in the loss too (Layer.losses has no trainable
 * test); their gradients are never applied. The gradient of |v| at 0 is 0 (tf.sign).
 */
#include "../graph.h"

#include <math.h>
#include <string.h>

/* Which regularizer slot tensor t falls under: 0 kernel, 1 bias, -1 none. */
static int slot_of(const on_tensor *t) {
    if (!t->d.trainable) return -1;
    const char *dot = strrchr(t->name, '.');
    const char *p = dot ? dot + 1 : t->name;
    return !strcmp(p, "weight") ? 0 : !strcmp(p, "bias") ? 1 : -1;
}

static double penalty(const float *v, size_t n, float l1, float l2) {
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s1 += fabs((double)v[i]);
        s2 += (double)v[i] * v[i];
    }
    return l1 * s1 + l2 * s2;
}

static float sgn(float v) {
    return (float)((v > 0) - (v < 0));
}

double on_reg_loss(const on_model *m) {
    double total = 0;
    for (int t = 0; t < m->nt; t++) {
        const on_tensor *tt = &m->tensors[t];
        int k = slot_of(tt);
        const on_attrs *a = &m->nodes[tt->node].a;
        if (k >= 0 && (a->reg_l1[k] != 0 || a->reg_l2[k] != 0))
            total += penalty(m->params + tt->off, tt->d.size, a->reg_l1[k], a->reg_l2[k]);
    }
    for (int i = 1; i < m->nn && m->n > 0; i++) {
        const on_node *nd = &m->nodes[i];
        if (nd->a.reg_l1[2] == 0 && nd->a.reg_l2[2] == 0) continue;
        total +=
            penalty(nd->y, (size_t)m->n * on_shape_size(nd->ys), nd->a.reg_l1[2], nd->a.reg_l2[2]) /
            m->n;
    }
    return total;
}

void on_reg_activity_grad(const on_model *m, int i, float *dy, float chain_sigmoid) {
    const on_node *nd = &m->nodes[i];
    float l1 = nd->a.reg_l1[2], l2 = nd->a.reg_l2[2], inv = 1.0f / (float)m->n;
    if ((l1 == 0 && l2 == 0) || !dy) return;
    size_t len = (size_t)m->n * on_shape_size(nd->ys);
    for (size_t j = 0; j < len; j++) {
        float y = nd->y[j], g = (l1 * sgn(y) + 2 * l2 * y) * inv;
        /* a final sigmoid skipped by the loss: dy is its input's gradient */
        dy[j] += chain_sigmoid ? g * y * (1 - y) : g;
    }
}

void on_reg_param_grads(on_model *m) {
    for (int t = 0; t < m->nt; t++) {
        const on_tensor *tt = &m->tensors[t];
        int k = slot_of(tt);
        const on_attrs *a = &m->nodes[tt->node].a;
        if (k < 0 || a->frozen || (a->reg_l1[k] == 0 && a->reg_l2[k] == 0)) continue;
        const float *w = m->params + tt->off;
        float *g = m->grads + tt->off, l1 = a->reg_l1[k], l2 = a->reg_l2[k];
        for (size_t j = 0; j < tt->d.size; j++) g[j] += l1 * sgn(w[j]) + 2 * l2 * w[j];
    }
}

void on_frozen_zero_grads(on_model *m) {
    for (int t = 0; t < m->nt; t++) {
        const on_tensor *tt = &m->tensors[t];
        if (tt->d.trainable && m->nodes[tt->node].a.frozen)
            memset(m->grads + tt->off, 0, sizeof(float) * tt->d.size);
    }
}

int on_node_trains(const on_node *nd, int train) {
    /* Keras 2 (TF >= 2.0): BatchNormalization with trainable=False runs in inference mode,
     * using and keeping its moving statistics, whatever `training` is */
    return train && !(nd->a.frozen && nd->op && !strcmp(nd->op->name, "batchnorm"));
}
