/* test_loss.c - the training loss beyond softmax cross-entropy: binary classification
 * (Dense(1) + sigmoid, binary cross-entropy from the logit), Keras's kernel / bias /
 * activity regularizers (their value against a hand computation, their gradients by finite
 * differences), and frozen layers (parameters and a frozen BatchNorm's statistics
 * bit-identical after training, the others changed). Golden values of the binary loss
 * against PyTorch are in test_golden (loss_bce_*). */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const on_op *op(const char *name) {
    return on_op_find(name);
}

/* Deterministic values in [-1, 1). */
static float rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*s >> 40) / 8388608.0f - 1.0f;
}

/* A flat data set of n samples of d features; label 1 when w . x > 0 (w fixed): linearly
 * separable. */
static on_dataset separable(int n, int d, uint64_t seed) {
    on_dataset s = {.n = n, .classes = 2, .shape = {1, d, 1, 1}};
    s.x = malloc(sizeof(float) * (size_t)n * d);
    s.y = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        double dot = 0;
        for (int j = 0; j < d; j++) {
            float v = rnd(&seed);
            s.x[(size_t)i * d + j] = v;
            dot += v * (j % 2 ? -0.7 : 1.0 + 0.1 * j);
        }
        s.y[i] = dot > 0;
    }
    return s;
}

static void test_binary_learns(void) {
    on_error err;
    on_dataset tr = separable(600, 8, 1), te = separable(300, 8, 2);
    on_model *m = on_model_from_spec("input(8) dense(16) relu dense(1) sigmoid", &err);
    CHECK(m != NULL, "binary model: %s", err.msg);
    if (!m) return;
    on_model_init(m, 3);
    double l0, a0, l1, a1;
    CHECK(!on_evaluate(m, &te, 64, &l0, &a0, NULL, &err), "evaluate before: %s", err.msg);
    on_train_cfg c = on_train_defaults();
    c.epochs = 8;
    c.batch = 32;
    c.lr = 1e-2f;
    CHECK(!on_train(m, &tr, NULL, &c, NULL, NULL, &err), "binary training: %s", err.msg);
    long conf[4] = {0};
    CHECK(!on_evaluate(m, &te, 64, &l1, &a1, conf, &err), "evaluate after: %s", err.msg);
    printf("binary: test accuracy %.3f -> %.3f, loss %.4f -> %.4f\n", a0, a1, l0, l1);
    CHECK(a1 > 0.9, "a binary classifier learns a separable set: accuracy %.3f (chance 0.5)", a1);
    CHECK(l1 < l0 * 0.5, "the binary cross-entropy falls: %.4f -> %.4f", l0, l1);
    CHECK(conf[0] + conf[1] + conf[2] + conf[3] == te.n && conf[0] + conf[3] == lround(a1 * te.n),
          "the confusion matrix of a binary classifier counts p > 0.5 as class 1");
    /* data with three classes: a clear error naming both numbers */
    on_dataset three = tr;
    three.classes = 3;
    CHECK(on_train(m, &three, NULL, &c, NULL, NULL, &err) && strstr(err.msg, "3 classes") &&
              strstr(err.msg, "binary classifier") && strstr(err.msg, "2 classes"),
          "binary model on 3 classes: %s", err.msg);
    on_model_free(m);
    on_dataset_free(&tr);
    on_dataset_free(&te);
}

/* A final sigmoid saturated far beyond float's range of 1 - p: the loss from the logit is
 * finite and exact, the gradient (p - y)/n. */
static void test_binary_saturated(void) {
    on_error err;
    on_model *m = on_model_from_spec("input(2) dense(1) sigmoid", &err);
    if (!m || on_model_compile(m, 2, &err)) {
        CHECK(0, "model: %s", err.msg);
        return;
    }
    on_model_init(m, 1);
    float *w = on_model_tensor_data(m, on_model_tensor_find(m, "dense.weight"));
    float *b = on_model_tensor_data(m, on_model_tensor_find(m, "dense.bias"));
    w[0] = 20, w[1] = 20, *b = 0;
    float x[4] = {1, 1, -1, -1}; /* logits 40 and -40 */
    int y[2] = {0, 1};           /* both wrong */
    on_model_forward(m, x, 2, ON_TRAIN);
    float loss = on_model_loss(m, y, 0.0f);
    on_model_zero_grad(m);
    on_model_backward(m);
    const float *gw = on_model_tensor_grad(m, on_model_tensor_find(m, "dense.weight"));
    CHECK(fabsf(loss - 40.0f) < 1e-4f, "saturated sigmoid: loss %g (40 from the logit)", loss);
    /* dL/dw = mean((p - y) x) = ((1 - 0) * 1 + (0 - 1) * -1) / 2 = 1 */
    CHECK(fabsf(gw[0] - 1.0f) < 1e-5f && fabsf(gw[1] - 1.0f) < 1e-5f,
          "saturated sigmoid: gradient (%g, %g), expected (1, 1)", gw[0], gw[1]);
    on_model_free(m);
}

/* Model built through the C API with regularizers on its layers. */
static on_model *reg_model(int binary, on_error *err) {
    on_model *m = on_model_new((on_shape){1, 5, 1, 1}, err);
    if (!m) return NULL;
    on_attrs a = on_attrs_default(op("dense"));
    a.units = 4;
    a.reg_l1[0] = 0.02f, a.reg_l2[0] = 0.05f; /* kernel */
    a.reg_l2[1] = 0.1f;                       /* bias */
    a.reg_l1[2] = 0.03f, a.reg_l2[2] = 0.04f; /* activity of the dense output */
    on_attrs t = on_attrs_default(op("tanh"));
    t.reg_l1[2] = 0.05f, t.reg_l2[2] = 0.02f;
    on_attrs d = on_attrs_default(op("dense"));
    d.units = binary ? 1 : 3;
    d.reg_l1[1] = 0.07f;
    on_attrs s = on_attrs_default(op("sigmoid"));
    s.reg_l2[2] = 0.3f; /* activity of the final sigmoid: chained through its slope */
    if (on_model_add(m, op("dense"), &a, NULL, err) < 0 ||
        on_model_add(m, op("tanh"), &t, NULL, err) < 0 ||
        on_model_add(m, op("dense"), &d, NULL, err) < 0 ||
        (binary && on_model_add(m, op("sigmoid"), &s, NULL, err) < 0) ||
        on_model_compile(m, 3, err)) {
        on_model_free(m);
        return NULL;
    }
    on_model_init(m, 11);
    /* biases away from 0 (l1's kink) */
    for (int i = 0; i < on_model_num_tensors(m); i++)
        if (strstr(on_model_tensor_name(m, i), ".bias")) {
            float *p = on_model_tensor_data(m, i);
            for (size_t j = 0; j < on_model_tensor_size(m, i); j++) p[j] = 0.1f + 0.05f * j;
        }
    return m;
}

static double sum_pen(const float *v, size_t n, double l1, double l2) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += l1 * fabs(v[i]) + l2 * (double)v[i] * v[i];
    return s;
}

static void test_regularizers(int binary) {
    on_error err;
    on_model *m = reg_model(binary, &err);
    CHECK(m != NULL, "regularized model: %s", err.msg);
    if (!m) return;
    uint64_t seed = 5;
    float x[15];
    for (int i = 0; i < 15; i++) x[i] = 2 * rnd(&seed);
    int y[3] = {1, 0, binary ? 1 : 2};
    on_model_forward(m, x, 3, ON_TRAIN);
    float loss = on_model_loss(m, y, 0.0f);
    /* by hand: the data loss of the output, then each regularizer */
    const float *out = on_model_output(m);
    double hand = 0;
    if (binary)
        for (int i = 0; i < 3; i++) hand -= (y[i] ? log(out[i]) : log(1 - out[i])) / 3;
    else
        hand = on_softmax_xent(out, y, 3, 3, 0.0f, NULL);
    float *w0 = on_model_tensor_data(m, on_model_tensor_find(m, "dense.weight"));
    float *b0 = on_model_tensor_data(m, on_model_tensor_find(m, "dense.bias"));
    float *b1 = on_model_tensor_data(m, on_model_tensor_find(m, "dense_1.bias"));
    hand +=
        sum_pen(w0, 20, 0.02, 0.05) + sum_pen(b0, 4, 0, 0.1) + sum_pen(b1, binary ? 1 : 3, 0.07, 0);
    hand += sum_pen(m->nodes[1].y, 12, 0.03, 0.04) / 3 + sum_pen(m->nodes[2].y, 12, 0.05, 0.02) / 3;
    if (binary) hand += sum_pen(out, 3, 0, 0.3) / 3;
    CHECK(fabs(loss - hand) < 1e-5 * fmax(1, fabs(hand)), "%s: regularized loss %.7f, by hand %.7f",
          binary ? "binary" : "softmax", loss, hand);
    /* gradients by central differences of on_model_loss, over every parameter */
    on_model_zero_grad(m);
    on_model_backward(m);
    float *g = malloc(sizeof(float) * m->np);
    memcpy(g, m->grads, sizeof(float) * m->np);
    double worst = 0;
    for (size_t i = 0; i < m->np; i++) {
        float keep = m->params[i], h = 1e-3f;
        m->params[i] = keep + h;
        on_model_forward(m, x, 3, ON_TRAIN);
        double lp = on_model_loss(m, y, 0.0f);
        m->params[i] = keep - h;
        on_model_forward(m, x, 3, ON_TRAIN);
        double lm = on_model_loss(m, y, 0.0f);
        m->params[i] = keep;
        double num = (lp - lm) / (2 * h), e = fabs(num - g[i]) / fmax(0.05, fabs(num));
        if (e > worst) worst = e;
    }
    printf("%s regularized loss: gradient check, largest relative error %.2e\n",
           binary ? "binary" : "softmax", worst);
    CHECK(worst < 2e-2, "%s: regularized gradients match finite differences (worst %.2e)",
          binary ? "binary" : "softmax", worst);
    /* without activity regularizers, the backward's gradients differ from the data loss's
     * alone by exactly l1 sign(v) + 2 l2 v of the kernel and bias regularizers */
    for (int i = 1; i < m->nn; i++) m->nodes[i].a.reg_l1[2] = m->nodes[i].a.reg_l2[2] = 0;
    for (int pass = 0; pass < 2; pass++) {
        on_model_forward(m, x, 3, ON_TRAIN);
        on_model_loss(m, y, 0.0f);
        if (pass) m->reg_pending = 0; /* as after on_model_set_output_grad */
        on_model_zero_grad(m);
        on_model_backward(m);
        if (!pass) memcpy(g, m->grads, sizeof(float) * m->np);
    }
    double bad = 0;
    struct {
        const char *name;
        double l1, l2;
    } regs[] = {{"dense.weight", 0.02, 0.05}, {"dense.bias", 0, 0.1}, {"dense_1.bias", 0.07, 0}};
    for (int r = 0; r < 3; r++) {
        int ti = on_model_tensor_find(m, regs[r].name);
        const float *v = on_model_tensor_data(m, ti);
        size_t off = m->tensors[ti].off;
        for (size_t j = 0; j < on_model_tensor_size(m, ti); j++) {
            double want = regs[r].l1 * ((v[j] > 0) - (v[j] < 0)) + 2 * regs[r].l2 * v[j];
            bad = fmax(bad, fabs(g[off + j] - m->grads[off + j] - want));
        }
    }
    CHECK(bad < 1e-6, "kernel and bias regularizers add l1 sign(w) + 2 l2 w (worst %.2e)", bad);
    double other = 0; /* dense_1.weight has no regularizer: no difference */
    int t1 = on_model_tensor_find(m, "dense_1.weight");
    for (size_t j = 0; j < on_model_tensor_size(m, t1); j++)
        other = fmax(other, fabs(g[m->tensors[t1].off + j] - m->grads[m->tensors[t1].off + j]));
    CHECK(other == 0, "an unregularized kernel gets no regularizer gradient (%.2e)", other);
    free(g);
    on_model_free(m);
}

/* Frozen layers: a frozen dense and a frozen BatchNorm keep their parameters and running
 * statistics bit for bit through AdamW (with weight decay) and SGD; the others change. */
static void test_frozen(int opt) {
    on_error err;
    on_model *m = on_model_from_spec("input(6) dense(8) bn relu dense(8) bn relu dense(3)", &err);
    CHECK(m != NULL, "model: %s", err.msg);
    if (!m) return;
    m->nodes[1].a.frozen = 1; /* dense */
    m->nodes[2].a.frozen = 1; /* its batchnorm */
    on_model_init(m, 4);
    /* running statistics away from their initial 0 / 1 so that an update would show */
    for (int i = 0; i < on_model_num_tensors(m); i++)
        if (strstr(on_model_tensor_name(m, i), "running_")) {
            float *p = on_model_tensor_data(m, i);
            for (size_t j = 0; j < on_model_tensor_size(m, i); j++) p[j] = 0.5f + 0.1f * j;
        }
    size_t total = m->np + m->ns;
    float *before = malloc(sizeof(float) * total);
    memcpy(before, m->params, sizeof(float) * m->np);
    memcpy(before + m->np, m->state, sizeof(float) * m->ns);
    on_dataset d = separable(200, 6, 9);
    d.classes = 3;
    for (int i = 0; i < d.n; i++) d.y[i] = (d.y[i] + (d.x[(size_t)i * 6] > 0.5f)) % 3;
    on_train_cfg c = on_train_defaults();
    c.epochs = 2;
    c.batch = 32;
    c.opt = opt;
    c.wd = 0.1f;
    CHECK(!on_train(m, &d, NULL, &c, NULL, NULL, &err), "training with frozen layers: %s", err.msg);
    for (int i = 0; i < on_model_num_tensors(m); i++) {
        const char *nm = on_model_tensor_name(m, i);
        const on_tensor *t = &m->tensors[i];
        const float *now = on_model_tensor_data(m, i);
        const float *was = before + (t->d.trainable ? 0 : m->np) + t->off;
        int same = !memcmp(now, was, sizeof(float) * t->d.size);
        int frozen = m->nodes[t->node].a.frozen;
        CHECK(frozen ? same : !same, "%s %s: %s is %s after training", opt ? "adamw" : "sgd",
              frozen ? "frozen" : "trainable", nm, same ? "unchanged" : "changed");
    }
    /* a frozen BatchNorm runs in inference mode in training too: the train-mode forward of
     * the first layers equals the eval-mode one */
    on_model_compile(m, 4, &err);
    float x[24];
    uint64_t s = 3;
    for (int i = 0; i < 24; i++) x[i] = rnd(&s);
    on_model_forward(m, x, 4, ON_TRAIN);
    float y1[32];
    memcpy(y1, m->nodes[2].y, sizeof y1);
    on_model_forward(m, x, 4, ON_EVAL);
    CHECK(!memcmp(y1, m->nodes[2].y, sizeof y1),
          "a frozen batchnorm computes the same in training as at inference");
    free(before);
    on_dataset_free(&d);
    on_model_free(m);
}

int main(void) {
    on_set_threads(1);
    test_binary_learns();
    test_binary_saturated();
    test_regularizers(0);
    test_regularizers(1);
    test_frozen(ON_OPT_ADAMW);
    test_frozen(ON_OPT_SGD);
    return check_done();
}
