/* test_ops.c - edge cases of the engine: output sizes, shape errors that name the layer and
 * both shapes, dropout masks, batch sizes below the compiled one, determinism, costs. */
#include "check.h"
#include "graph.h"
#include "ops/conv_variant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 99;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

static on_model *build(const char *spec, int batch) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (!m || on_model_compile(m, batch, &err)) {
        printf("build '%s': %s\n", spec, err.msg);
        on_model_free(m);
        return NULL;
    }
    on_model_init(m, 1);
    return m;
}

static int shape_is(const char *spec, int c, int h, int w) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (!m) {
        printf("  %s: %s\n", spec, err.msg);
        return 0;
    }
    on_shape s = on_model_output_shape(m);
    on_model_free(m);
    if (s.c != c || s.h != h || s.w != w) printf("  %s: got (%d,%d,%d)\n", spec, s.c, s.h, s.w);
    return s.c == c && s.h == h && s.w == w;
}

/* Output sizes as PyTorch and Keras compute them. */
static void test_output_sizes(void) {
    CHECK(shape_is("input(7,7,1) maxpool2d", 1, 3, 3), "floor");
    CHECK(shape_is("input(7,7,1) maxpool2d(2,ceil_mode=1)", 1, 4, 4), "ceil");
    CHECK(shape_is("input(7,7,1) maxpool2d(3,2,1,ceil_mode=1)", 1, 4, 4), "ceil with padding");
    /* PyTorch drops a last window that would start in the right padding: 5 -> 3, not 4 */
    CHECK(shape_is("input(6,6,1) maxpool2d(2,2,1,ceil_mode=1)", 1, 4, 4), "ceil 6");
    CHECK(shape_is("input(5,5,1) avgpool2d(2,2,1,ceil_mode=1)", 1, 3, 3), "ceil start in pad");
    CHECK(shape_is("input(7,7,1) conv2d(2,3,stride=2,padding=same)", 2, 4, 4), "same stride 2");
    CHECK(shape_is("input(7,7,1) conv2d(2,3,dilation=2)", 2, 3, 3), "dilation");
    CHECK(shape_is("input(128,16) conv1d(64,5)", 64, 1, 124), "thread's conv1d");
    CHECK(shape_is("input(128,16) conv1d(64,5) maxpool", 64, 1, 62), "maxpool picks 1-D");
    CHECK(shape_is("input(28,28,1) conv2d(32,3,same) maxpool conv2d(64,3,same) maxpool flatten",
                   64 * 7 * 7, 1, 1),
          "reference model flatten");
    CHECK(shape_is("input(9,9,3) global_avgpool", 3, 1, 1), "gap");
}

static int error_has(const char *spec, const char *a, const char *b) {
    on_error err = {{0}};
    on_model *m = on_model_from_spec(spec, &err);
    on_model_free(m);
    int ok = !m && strstr(err.msg, a) && (!b || strstr(err.msg, b));
    if (!ok) printf("  %s -> '%s'\n", spec, m ? "(no error)" : err.msg);
    return ok;
}

static void test_errors(void) {
    CHECK(error_has("input(28,28,1) conv2d(8,3) dense(10)", "layer 'dense' (dense)", "(8,26,26)"),
          "dense on an image names the layer and shape");
    CHECK(error_has("input(2,2,1) conv2d(4,3)", "layer 'conv2d' (conv2d) with input (1,2,2)",
                    "larger than the padded input 2x2"),
          "kernel larger than input");
    CHECK(error_has("input(28,28,1) conv3d(3)", "spec:1:16:", "unknown layer 'conv3d' (supported:"),
          "unknown layer with column");
    CHECK(error_has("input(28,28,1) relu(filters=3)", "relu takes no argument 'filters'", NULL),
          "unknown argument");
    CHECK(error_has("input(28,28,1) conv2d(8,3,padding=sideways)", "bad value 'sideways'", NULL),
          "bad padding");
    CHECK(error_has("input(28,28,1) dropout(1.5)", "rate must be in [0,1]", NULL), "bad rate");
    CHECK(error_has("conv2d(8,3)", "spec:1:1:", "must start with input"), "no input");
    CHECK(error_has("input(28,28,1) conv2d(8,3", "spec:1:", "expected"), "unclosed paren");
    CHECK(error_has("input(10,1) conv2d(4,3)", "needs a 2-D input (C,H,W), got (1,10)", NULL),
          "2-D conv on a 1-D signal");
    CHECK(error_has("input(5,5,1) maxpool2d(2,2,2)", "padding", "smaller than the window"),
          "pool padding");
    CHECK(error_has("input(5,5,1) conv2d(0,3)", "bad value 0 for 'filters'", NULL), "0 filters");
    /* found by fuzzing: huge numbers, inf and nan, and parameter counts past the limit */
    CHECK(error_has("input(11111111111111,1) relu", "positive integers", NULL), "huge input");
    CHECK(error_has("input(28,28,1) conv2d(32,inf)", "bad value inf", NULL), "inf kernel");
    CHECK(error_has("input(28,28,1) maxpool(nan)", "bad value nan", NULL), "nan pool");
    CHECK(error_has("input(28,28,1) conv2d(32,3433,same)", "would need", "parameters"),
          "too many parameters refused before allocating");
    /* residual with mismatched shapes */
    on_error err;
    on_model *m = on_model_from_spec("input(8,8,3) conv2d(4,3,same) conv2d(5,3,same)", &err);
    int r = on_model_add_residual(m, 1, &err);
    CHECK(r < 0 && strstr(err.msg, "inputs (5,8,8) 'conv2d_1', (4,8,8) 'conv2d': input 2 has shape "
                                   "(4,8,8): each input must have the shape (5,8,8)"),
          "residual mismatch: %s", err.msg);
    on_model_free(m);
}

static void test_dropout(void) {
    on_model *m = build("input(1000) dropout(0.3)", 4);
    if (!m) return;
    float *x = malloc(sizeof(float) * 4000), *y1 = malloc(sizeof(float) * 4000);
    for (int i = 0; i < 4000; i++) x[i] = frand() + 2;
    on_model_forward(m, x, 4, 0);
    CHECK(!memcmp(on_model_output(m), x, sizeof(float) * 4000), "eval dropout is the identity");
    on_model_set_step(m, 10);
    on_model_forward(m, x, 4, 1);
    memcpy(y1, on_model_output(m), sizeof(float) * 4000);
    int zeros = 0, scaled = 1;
    for (int i = 0; i < 4000; i++) {
        if (y1[i] == 0)
            zeros++;
        else
            scaled &= fabsf(y1[i] - x[i] / 0.7f) < 1e-6f;
    }
    /* 4000 draws at p = 0.3: mean 1200, sd 29 */
    CHECK(zeros > 1200 - 120 && zeros < 1200 + 120, "dropout rate: %d zeros of 4000", zeros);
    CHECK(scaled, "kept values are x / (1 - p)");
    on_model_set_step(m, 10);
    on_model_forward(m, x, 4, 1);
    CHECK(!memcmp(on_model_output(m), y1, sizeof(float) * 4000), "same step, same mask");
    on_model_forward(m, x, 4, 1);
    CHECK(memcmp(on_model_output(m), y1, sizeof(float) * 4000), "next step, another mask");
    on_set_threads(1);
    on_model_set_step(m, 10);
    on_model_forward(m, x, 4, 1);
    CHECK(!memcmp(on_model_output(m), y1, sizeof(float) * 4000), "mask independent of threads");
    on_set_threads(2);
    free(x);
    free(y1);
    on_model_free(m);
}

/* dropout.c's AVX2 kernel draws the masks the C loops draw: the same output and, through the
 * keep bytes, the same input gradient, with runs that are not whole vectors, masks that start
 * mid-vector (a sample of 700 in a convolution's per-sample chain), several blocks, and rates
 * that keep almost all, almost none, or none. */
static void dropout_vector_bits(void) {
    static const struct {
        const char *spec;
        int n;
    } cases[] = {{"input(1000) dropout(0.3)", 3},
                 {"input(10,10,10) conv2d(7,1) dropout(0.3) flatten dense(2)", 5},
                 {"input(70,70,1) dropout(0.45)", 2},
                 {"input(333) dropout(1e-7)", 2},
                 {"input(333) dropout(0.9999)", 2},
                 {"input(100) dropout(1)", 1}};
    for (int k = 0; k < (int)(sizeof cases / sizeof *cases); k++) {
        float *out[2] = {NULL, NULL}, *dx[2] = {NULL, NULL};
        size_t yl = 0, xl = 0;
        int zeros = 0;
        for (int v = 0; v < 2; v++) {
            on_error err;
            on_model *m = on_model_from_spec(cases[k].spec, &err);
            if (m) on_model_want_input_grad(m, 1);
            if (!m || on_model_compile(m, cases[k].n, &err)) {
                CHECK(0, "%s: %s", cases[k].spec, m ? err.msg : "no model");
                on_model_free(m);
                break;
            }
            on_model_init(m, 4);
            on_model_set_step(m, 17);
            int n = cases[k].n;
            xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
            yl = (size_t)n * on_shape_size(on_model_output_shape(m));
            float *x = malloc(sizeof(float) * xl), *dy = malloc(sizeof(float) * yl);
            for (size_t i = 0; i < xl; i++) x[i] = (float)((i * 29) % 83) / 40.0f - 1.0f;
            for (size_t i = 0; i < yl; i++) dy[i] = (float)((i * 13) % 7) - 3.0f;
            on_conv_variant = v ? ON_CONV_NO_AVX2_DROPOUT : 0;
            on_model_forward(m, x, n, 1);
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            on_conv_variant = 0;
            out[v] = malloc(sizeof(float) * yl);
            dx[v] = malloc(sizeof(float) * xl);
            memcpy(out[v], on_model_output(m), sizeof(float) * yl);
            memcpy(dx[v], on_model_input_grad(m), sizeof(float) * xl);
            for (size_t i = 0; v && i < yl; i++) zeros += out[v][i] == 0;
            free(x);
            free(dy);
            on_model_free(m);
        }
        if (out[0] && out[1])
            CHECK(!memcmp(out[0], out[1], sizeof(float) * yl) &&
                      !memcmp(dx[0], dx[1], sizeof(float) * xl),
                  "%s: the AVX2 masks differ from the C loops' (%d of %zu outputs zero)",
                  cases[k].spec, zeros, yl);
        for (int v = 0; v < 2; v++) free(out[v]), free(dx[v]);
    }
}

/* The input's gradient, then every parameter's, after one forward (train or not) and
 * backward of spec on n fixed samples with on_conv_variant = variant (*len floats; NULL and
 * a failed check if it does not build) */
static float *grads_with(const char *spec, int n, int train, int variant, size_t *len) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m) on_model_want_input_grad(m, 1);
    on_conv_variant = variant; /* some are read when compiling */
    if (!m || on_model_compile(m, n, &err)) {
        on_conv_variant = 0;
        CHECK(0, "%s: %s", spec, m ? err.msg : "no model");
        on_model_free(m);
        return NULL;
    }
    on_conv_variant = 0;
    on_model_init(m, 6);
    on_model_set_step(m, 3);
    size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
    size_t yl = (size_t)n * on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * xl), *dy = malloc(sizeof(float) * yl);
    for (size_t i = 0; i < xl; i++) x[i] = (float)((i * 41) % 89) / 5.0f - 8.0f;
    for (size_t i = 0; i < yl; i++) dy[i] = (float)((i * 11) % 9) - 4.0f;
    on_conv_variant = variant;
    on_model_zero_grad(m);
    on_model_forward(m, x, n, train);
    on_model_set_output_grad(m, dy);
    on_model_backward(m);
    on_conv_variant = 0;
    *len = xl;
    for (int t = 0; t < on_model_num_tensors(m); t++)
        if (on_model_tensor_grad(m, t)) *len += on_model_tensor_size(m, t);
    float *g = malloc(sizeof(float) * *len);
    memcpy(g, on_model_input_grad(m), sizeof(float) * xl);
    size_t off = xl;
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        const float *d = on_model_tensor_grad(m, t);
        if (!d) continue;
        memcpy(g + off, d, sizeof(float) * on_model_tensor_size(m, t));
        off += on_model_tensor_size(m, t);
    }
    free(x);
    free(dy);
    on_model_free(m);
    return g;
}

/* How many of g's len floats are not zero, where a and b are the same bits (else -1) */
static int same_grads(const float *a, const float *b, size_t len) {
    if (!a || !b || memcmp(a, b, sizeof(float) * len)) return -1;
    int nonzero = 0;
    for (size_t i = 0; i < len; i++) nonzero += a[i] != 0;
    return nonzero;
}

/* A ReLU, ReLU6 or hardtanh below a BatchNorm: its derivative in the BatchNorm's input
 * gradient (graph.c's dclamp_below; in a backward chain the BatchNorm heads, 28x28 planes,
 * clamp_fuses) gives the bits of its own backward, every parameter's
 * gradient and the input's, in training and inference, with values at the clamps' bounds
 * (zeros, ReLU6's 6), where the clamp's input has another consumer (its gradient added) and
 * where the clamp's output has one (no fusion). */
static void dclamp_bits(void) {
    const char *specs[] = {
        "input(10,10,3) conv2d(8,3,same) relu bn flatten dense(4)",
        "input(10,10,3) conv2d(8,3,same) relu6 bn dropout(0.3) maxpool flatten dense(4)",
        "input(10,10,3) conv2d(8,3,same) hardtanh(-0.5,0.5) bn relu flatten dense(4)",
        "input(10,10,3) conv2d(8,3,same,name=c) relu bn add(c) flatten dense(4)",
        "input(10,10,3) conv2d(8,3,same) relu(name=r) bn add(r) flatten dense(4)",
        "input(28,28,1) conv2d(8,3,same) relu bn dropout(0.2) maxpool conv2d(16,3,same) relu bn "
        "dropout(0.2) maxpool flatten dense(10)"};
    for (int k = 0; k < 12; k++) {
        const char *spec = specs[k / 2];
        size_t len = 0;
        float *g0 = grads_with(spec, 3, k % 2, 0, &len);
        float *g1 = g0 ? grads_with(spec, 3, k % 2, ON_CONV_NO_DCLAMP, &len) : NULL;
        int nonzero = same_grads(g0, g1, len);
        CHECK(!g0 || nonzero > 0,
              "%s train %d: the clamp's derivative in the BatchNorm's backward changes the "
              "gradients (%d of %zu nonzero)",
              spec, k % 2, nonzero, len);
        free(g0);
        free(g1);
    }
}

/* The per-sample layers' backwards above a convolution run inside its backward, sample by
 * sample as it reads its dy (graph.c's dy_chain_below, on_call's dy_ready), leaving each
 * sample's dy in a thread's slot: the bits of running them first, and of leaving dy in the
 * batch's buffer, every parameter's gradient and the input's, on 1 and 2 threads; with one
 * layer above (a max-pool, a dropout) or a chain of them, above the direct and the Winograd
 * kernels (a sample in two chunks of tile rows, 12x12 tiles, too), and where the conv's
 * output has a second reader (no fusion). Also a BatchNorm heading such a chain (its backward
 * in two parts), and a training forward's BatchNorm or conv writing each sample to a thread's
 * slot where a max-pool reads it (train_slots; at batch 1 on 2 threads the threads share the
 * sample): the bits of the BatchNorm's pass and of the whole output written. */
static void dy_chain_bits(void) {
    const char *specs[] = {
        "input(28,28,1) conv2d(8,3,same) maxpool relu bn dropout(0.2) conv2d(16,3,same) "
        "dropout(0.2) relu bn maxpool flatten dense(10)",
        "input(12,12,3) conv2d(8,3,same) dropout(0.3) maxpool conv2d(8,3,same) relu maxpool "
        "flatten dense(4)",
        "input(10,10,6) conv2d(8,3,same) relu dropout(0.2) bn conv2d(8,3,same) maxpool flatten "
        "dense(4)",
        "input(10,10,3) conv2d(8,3,same,name=c) dropout(0.2) add(c) relu flatten dense(4)",
        "input(24,24,4) conv2d(8,3,same) maxpool relu flatten dense(4)",
        "input(20,20,3) conv2d(8,3,same) relu dropout(0.2) bn maxpool conv2d(8,3,same) relu bn "
        "flatten dense(4)",
        "input(20,20,3) conv2d(8,3,same) relu bn maxpool flatten dense(4)",
        "input(12,12,3) conv2d(8,3,same) bn maxpool relu conv2d(8,3,same) bn maxpool flatten "
        "dense(4)",
        "input(12,12,3) conv2d(8,3,same) dropout(0.3) maxpool relu conv2d(8,3,same) bn "
        "dropout(0.2) maxpool flatten dense(4)",
        "input(12,12,1) conv2d(8,3,same) maxpool relu conv2d(8,3,same) maxpool dropout(0.2) "
        "flatten dense(4)"};
    for (int k = 0; k < 22; k++) {
        /* the last spec also at batch 1 on 2 threads: the threads share the sample */
        const char *spec = specs[k < 20 ? k / 2 : 9];
        int n = k < 20 ? 5 : 1;
        size_t len = 0;
        on_set_threads(1 + k % 2);
        float *g0 = grads_with(spec, n, 1, 0, &len);
        float *g1 = g0 ? grads_with(spec, n, 1, ON_CONV_NO_DY_CHAIN, &len) : NULL;
        float *g2 = g0 ? grads_with(spec, n, 1, ON_CONV_NO_DY_SLOT, &len) : NULL;
        float *g3 = g0 ? grads_with(spec, n, 1, ON_CONV_NO_BN_CHAIN, &len) : NULL;
        float *g4 = g0 ? grads_with(spec, n, 1, ON_CONV_NO_TRAIN_SLOTS, &len) : NULL;
        int nonzero = same_grads(g0, g1, len), in_batch = same_grads(g0, g2, len);
        int bn_pass = same_grads(g0, g3, len), bn_out = same_grads(g0, g4, len);
        CHECK(!g0 || (nonzero > 0 && in_batch > 0 && bn_pass > 0 && bn_out > 0),
              "%s, %d thread(s): the layers' backwards inside the conv's change the gradients "
              "(%d of %zu nonzero; with dy in the batch's buffer: %d; BatchNorm a pass: %d; "
              "its whole output written: %d)",
              spec, 1 + k % 2, nonzero, len, in_batch, bn_pass, bn_out);
        free(g0);
        free(g1);
        free(g2);
        free(g3);
        free(g4);
    }
    on_set_threads(2);
}

/* A forward of n < batch samples equals the same samples compiled for batch n. */
static void test_partial_batch(void) {
    const char *spec = "input(9,9,2) conv2d(3,3,same) bn relu maxpool flatten dense(5)";
    on_model *a = build(spec, 8), *b = build(spec, 3);
    if (!a || !b) return;
    float x[3 * 162];
    for (int i = 0; i < 3 * 162; i++) x[i] = frand();
    on_model_forward(a, x, 3, 1);
    on_model_forward(b, x, 3, 1);
    CHECK(!memcmp(on_model_output(a), on_model_output(b), sizeof(float) * 15),
          "partial batch equals an exact batch");
    /* batch 1 with train-mode batchnorm over the spatial positions */
    on_model_forward(a, x, 1, 1);
    int labels[1] = {2};
    float loss = on_model_loss(a, labels, 0.1f);
    on_model_zero_grad(a);
    CHECK(on_model_backward(a) == 0 && isfinite(loss), "batch 1 trains: loss %g", loss);
    on_model_free(a);
    on_model_free(b);
}

/* The largest error of y (n x Out) = x W^T + b against sums in double, relative to the sum of
 * the terms' magnitudes */
static double dense_error(const float *w, const float *b, const float *x, const float *y, int n,
                          int In, int Out) {
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < Out; o++) {
            double r = b[o], s = fabs(b[o]);
            for (int j = 0; j < In; j++) {
                r += (double)w[(size_t)o * In + j] * x[(size_t)i * In + j];
                s += fabs((double)w[(size_t)o * In + j] * x[(size_t)i * In + j]);
            }
            double e = fabs(y[(size_t)i * Out + o] - r) / s;
            if (e > worst) worst = e;
        }
    return worst;
}

/* A dense layer's forward against a double sum: inputs of whole vectors, a tail, fewer
 * than one vector; outputs in whole blocks of dense.c's dot products and not (7), 16 (the
 * most it takes dot products for), 17 (sgemm); batches 1, 4 and 5 (an odd sample left).
 * And a classifier-sized layer (600 x 503: 300 K weights), which takes dot products at
 * these batches too, the threads splitting its outputs. Where the batch takes dot
 * products, each sample's outputs are the same bits as that sample alone (batch 1). */
static void test_dense_forward(void) {
    const int ins[] = {128, 150, 5}, outs[] = {7, 16, 17};
    for (int k = 0; k < 10; k++) {
        int In = k < 9 ? ins[k / 3] : 600, Out = k < 9 ? outs[k % 3] : 503;
        char spec[64];
        snprintf(spec, sizeof spec, "input(%d) dense(%d)", In, Out);
        on_model *m = build(spec, 5);
        if (!m) return;
        int wi = on_model_tensor_find(m, "dense.weight"),
            bi = on_model_tensor_find(m, "dense.bias");
        CHECK(wi >= 0 && bi >= 0, "%s: dense.weight and dense.bias", spec);
        if (wi < 0 || bi < 0) {
            on_model_free(m);
            return;
        }
        const float *w = on_model_tensor_data(m, wi), *b = on_model_tensor_data(m, bi);
        float x[5 * 600], alone[5 * 503];
        for (int i = 0; i < 5 * In; i++) x[i] = 2 * frand() - 1;
        for (int i = 0; i < 5; i++) {
            on_model_forward(m, x + i * In, 1, 0);
            memcpy(alone + i * Out, on_model_output(m), sizeof(float) * (size_t)Out);
        }
        for (int n = 1; n <= 5; n += n == 1 ? 3 : 1) {
            on_model_forward(m, x, n, 0);
            const float *y = on_model_output(m);
            double worst = dense_error(w, b, x, y, n, In, Out);
            CHECK(worst < 1e-6, "%s batch %d: dense output error %g of sum |w x|", spec, n, worst);
            if (Out <= 16 || In * Out >= 1 << 18)
                CHECK(!memcmp(y, alone, sizeof(float) * (size_t)(n * Out)),
                      "%s batch %d: each sample's outputs the same bits as alone", spec, n);
        }
        on_model_free(m);
    }
}

/* dense.c's dot products over a long input in chunks of elements, a group of samples at a
 * time (dots_range: SG = 16, KC = 512): 1100 inputs (chunks of 512, 512 and 72, then 4 one
 * by one), 7 and 16 outputs, a batch of 130 (each thread's 65 in groups of 16 and one of 1):
 * against a double sum (a fault that lost a chunk's sums failed it), and each sample the
 * same bits as alone, whatever its group and thread. Where the CPU has AVX-512 the batch's
 * groups go eight samples at a time through wide_range's pairs() and alone through dots():
 * a fault that scaled one half of pairs()' sums by 1 + 1e-7 failed it. */
static void test_dense_chunks(void) {
    const int In = 1100, N = 130, outs[] = {7, 16};
    for (int k = 0; k < 2; k++) {
        int Out = outs[k];
        char spec[64];
        snprintf(spec, sizeof spec, "input(%d) dense(%d)", In, Out);
        on_model *m = build(spec, N);
        if (!m) return;
        const float *w = on_model_tensor_data(m, on_model_tensor_find(m, "dense.weight"));
        const float *b = on_model_tensor_data(m, on_model_tensor_find(m, "dense.bias"));
        float *x = malloc(sizeof(float) * (size_t)N * In), *y = malloc(sizeof(float) * N * Out);
        if (!x || !y) {
            free(x), free(y), on_model_free(m);
            return;
        }
        for (int i = 0; i < N * In; i++) x[i] = 2 * frand() - 1;
        on_model_forward(m, x, N, 0);
        memcpy(y, on_model_output(m), sizeof(float) * (size_t)N * Out);
        double worst = dense_error(w, b, x, y, N, In, Out);
        CHECK(worst < 1e-6, "%s batch %d: dense output error %g of sum |w x|", spec, N, worst);
        int same = 1;
        for (int i = 0; i < N && same; i++) {
            on_model_forward(m, x + (size_t)i * In, 1, 0);
            same = !memcmp(y + i * Out, on_model_output(m), sizeof(float) * (size_t)Out);
            if (!same) printf("  sample %d differs from its batch-1 outputs\n", i);
        }
        CHECK(same, "%s batch %d: each sample's outputs the same bits as alone", spec, N);
        free(x), free(y);
        on_model_free(m);
    }
}

/* The dense backward (dx, dW, db) against sums in double, inputs with and without a
 * multiple of 8 values, few outputs (dense.c's columns) and many (OpenBLAS), small batches
 * and one the threads split; with few outputs the same bits on 1 and 2 threads. */
static void test_dense_backward(void) {
    const int ins[] = {1000, 150, 5}, outs[] = {7, 16, 17}, ns[] = {3, 40};
    for (int k = 0; k < 18; k++) {
        int In = ins[k / 6], Out = outs[k / 2 % 3], n = ns[k % 2];
        char spec[64];
        snprintf(spec, sizeof spec, "input(%d) dense(%d)", In, Out);
        size_t len = 0, xl = (size_t)n * In, wl = (size_t)Out * In;
        float *g[2] = {NULL, NULL};
        for (int t = 0; t < 2; t++) {
            on_set_threads(1 + t);
            g[t] = grads_with(spec, n, 1, 0, &len); /* dx, then dW, then db */
        }
        on_set_threads(2);
        on_model *m = build(spec, n);
        int wi = m ? on_model_tensor_find(m, "dense.weight") : -1;
        if (!g[0] || !g[1] || wi < 0 || len != xl + wl + (size_t)Out) {
            CHECK(0, "%s: gradients (%zu floats)", spec, len);
            free(g[0]), free(g[1]), on_model_free(m);
            continue;
        }
        on_model_init(m, 6); /* grads_with's weights, x and dy */
        const float *w = on_model_tensor_data(m, wi);
        float *x = malloc(sizeof(float) * xl), *dy = malloc(sizeof(float) * (size_t)n * Out);
        for (size_t i = 0; i < xl; i++) x[i] = (float)((i * 41) % 89) / 5.0f - 8.0f;
        for (int i = 0; i < n * Out; i++) dy[i] = (float)((i * 11) % 9) - 4.0f;
        double worst = 0;
        for (int i = 0; i < n; i++) /* dx = dy W */
            for (int j = 0; j < In; j++) {
                double r = 0, a = 0;
                for (int o = 0; o < Out; o++) {
                    r += (double)dy[i * Out + o] * w[(size_t)o * In + j];
                    a += fabs((double)dy[i * Out + o] * w[(size_t)o * In + j]);
                }
                double e = fabs(g[0][(size_t)i * In + j] - r) / (a + 1e-30);
                if (e > worst) worst = e;
            }
        for (int o = 0; o < Out; o++) { /* dW = dy^T x, db = sum dy */
            for (int j = 0; j < In; j++) {
                double r = 0, a = 0;
                for (int i = 0; i < n; i++) {
                    r += (double)dy[i * Out + o] * x[(size_t)i * In + j];
                    a += fabs((double)dy[i * Out + o] * x[(size_t)i * In + j]);
                }
                double e = fabs(g[0][xl + (size_t)o * In + j] - r) / (a + 1e-30);
                if (e > worst) worst = e;
            }
            double r = 0;
            for (int i = 0; i < n; i++) r += dy[i * Out + o];
            if (fabs(g[0][xl + wl + o] - r) > 1e-5 * n) worst = 1;
        }
        CHECK(worst < 1e-6, "%s batch %d: dense backward error %g of sum |terms|", spec, n, worst);
        if (Out <= 16)
            CHECK(!memcmp(g[0], g[1], sizeof(float) * len),
                  "%s batch %d: the backward's bits differ between 1 and 2 threads", spec, n);
        free(x), free(dy), free(g[0]), free(g[1]);
        on_model_free(m);
    }
}

/* The same seed gives bit-identical weights after some steps. */
static void train_steps(float *out, size_t *np) {
    on_model *m =
        build("input(8,8,1) conv2d(4,3,same) bn relu maxpool dropout(0.2) flatten dense(3)", 6);
    float x[6 * 64];
    int labels[6];
    uint64_t save = rng;
    rng = 5;
    for (int i = 0; i < 6 * 64; i++) x[i] = frand();
    for (int i = 0; i < 6; i++) labels[i] = i % 3;
    rng = save;
    for (int s = 0; s < 5; s++) {
        on_model_forward(m, x, 6, 1);
        on_model_loss(m, labels, 0.1f);
        on_model_zero_grad(m);
        on_model_backward(m);
        on_sgd_step(m, 0.1f, 0.9f, 1e-4f, 0);
    }
    *np = on_model_num_params(m);
    memcpy(out, m->params, sizeof(float) * *np);
    on_model_free(m);
}

static void test_determinism(void) {
    float a[4096], b[4096];
    size_t na, nb;
    train_steps(a, &na);
    train_steps(b, &nb);
    CHECK(na == nb && !memcmp(a, b, sizeof(float) * na), "same seed, same weights");
}

/* Fewer samples than threads: the threads share each sample's convolution (the stem-like
 * 7x7 stride-2 by chunks of output rows, the stride-2 3x3 by filters); it must agree with
 * one thread, and the max-pool positions kept for the backward must match those found
 * again from the input. The model is large enough (~60 MFLOP) that a forward of one sample
 * is split over the threads at all (a smaller one runs on one thread). */
static void test_threads_share_a_sample(void) {
    const char *spec = "input(160,160,3) conv2d(32,7,stride=2,padding=same) relu maxpool "
                       "conv2d(8,3,stride=2) flatten dense(4)";
    enum { IN = 160 * 160 * 3 };
    float *x = malloc(sizeof(float) * 2 * IN), out[2][4];
    for (int i = 0; i < 2 * IN; i++) x[i] = frand();
    for (int t = 1; t <= 2; t++) {
        on_set_threads(t);
        on_model *m = build(spec, 2);
        if (!m) {
            free(x);
            return;
        }
        on_model_forward(m, x, 1, 0);
        memcpy(out[t - 1], on_model_output(m), sizeof(float) * 4);
        on_model_free(m);
    }
    free(x);
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        double d = fabs(out[0][i] - out[1][i]) / (1e-6 + fabs(out[0][i]));
        if (d > worst) worst = d;
    }
    CHECK(worst < 1e-5, "1 sample on 2 threads = 1 thread: rel diff %.2g", worst);

    /* max-pool backward from the positions kept in a train forward = from the input found
     * again (an eval forward runs the pool inside the convolution's loop, keeping none) */
    on_error err;
    on_model *m = on_model_from_spec("input(9,10,2) conv2d(3,1) maxpool flatten dense(3)", &err);
    on_model_want_input_grad(m, 1);
    if (on_model_compile(m, 2, &err)) {
        printf("%s\n", err.msg);
        on_model_free(m);
        return;
    }
    on_model_init(m, 3);
    float x2[360];
    for (int i = 0; i < 360; i++) x2[i] = (float)((i * 7) % 5); /* ties */
    x2[13] = NAN;
    float g[2][360], dy[6] = {1, -2, 0.5f, 3, 1, -1};
    for (int train = 0; train < 2; train++) {
        on_model_forward(m, x2, 2, train);
        on_model_set_output_grad(m, dy);
        on_model_zero_grad(m);
        on_model_backward(m);
        memcpy(g[train], on_model_input_grad(m), sizeof g[train]);
    }
    CHECK(!memcmp(g[0], g[1], sizeof g[0]), "max-pool backward: kept positions = found again");
    on_model_free(m);
}

/* Pooling windows other than 2x2 (the separable forward): a NaN reaches exactly the outputs
 * whose windows hold it, for max and min; the rest are the windows' extremes. */
static void test_pool_nan(void) {
    const char *specs[] = {"input(7,7,1) maxpool2d(3,2,1)", "input(7,7,1) minpool2d(3,2,1)"};
    for (int k = 0; k < 2; k++) {
        on_model *m = build(specs[k], 1);
        if (!m) continue;
        float x[49];
        for (int i = 0; i < 49; i++) x[i] = (float)((i * 5) % 11);
        x[3 * 7 + 3] = NAN;
        on_model_forward(m, x, 1, 0);
        const float *y = on_model_output(m);
        int bad = 0;
        for (int p = 0; p < 4; p++)
            for (int q = 0; q < 4; q++) {
                int has = p >= 1 && p <= 2 && q >= 1 && q <= 2; /* rows and cols 2p-1 .. 2p+1 */
                float e = k ? INFINITY : -INFINITY;
                for (int i = 2 * p - 1; i <= 2 * p + 1; i++)
                    for (int j = 2 * q - 1; j <= 2 * q + 1; j++)
                        if (i >= 0 && i < 7 && j >= 0 && j < 7 && !isnan(x[i * 7 + j]))
                            e = k ? fminf(e, x[i * 7 + j]) : fmaxf(e, x[i * 7 + j]);
                float v = y[p * 4 + q];
                if (has ? !isnan(v) : v != e) bad++;
            }
        CHECK(!bad, "%s: %d outputs wrong around a NaN", specs[k], bad);
        on_model_free(m);
    }
}

/* The 2x2 max-pool against a direct one, for rows of 3 to 7 windows (vector groups of 4 and
 * what is left), with ties: values, and the input gradient from the kept positions. */
/* Same value: both NaN, or equal with the same sign (-0 is not +0 here). */
static int same_value(float a, float b) {
    return (isnan(a) && isnan(b)) || (a == b && signbit(a) == signbit(b));
}

/* A ReLU (ReLU6) after a pool other than 2x2 (after a convolution, as ResNet's stem) is
 * applied in the pool's rows (pool.c's clamp_row) in inference: the same bits as the pool, then the
 * ReLU as a layer of its own (ON_CONV_NO_CLAMP), on values with NaNs, -0, negatives and values past
 * 6, for the 3x3 stride-2 shuffles, the generic columns and the average's one by one. */
static void test_pool_clamp(void) {
    const char *specs[] = {"input(12,112,3) conv2d(4,1) maxpool2d(3,2,1) relu",
                           "input(9,35,2) conv2d(3,1) maxpool2d(3,2,1) relu6",
                           "input(9,12,2) conv2d(3,1) maxpool2d(3,3) relu",
                           "input(9,11,2) conv2d(3,1) avgpool2d(3,2,1) relu6",
                           "input(7,9,2) conv2d(3,1) minpool2d(3,2,1) relu"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        on_model *m = build(specs[k], 2);
        if (!m) continue;
        size_t n = 2 * on_shape_size(on_model_node_shape(m, 0));
        size_t ny = 2 * on_shape_size(on_model_output_shape(m));
        float *x = malloc(sizeof(float) * n), *y0 = malloc(sizeof(float) * ny);
        for (size_t i = 0; i < n; i++) {
            float r = frand();
            x[i] = r > 0.97f ? NAN : r > 0.9f ? -0.0f : 16 * r - 6;
        }
        int bad = 0;
        for (int v = 0; v < 2; v++) { /* the ReLU as a layer, then in the pool's rows */
            on_conv_variant = v ? 0 : ON_CONV_NO_CLAMP;
            on_model_forward(m, x, 2, 0);
            const float *y = on_model_output(m);
            for (size_t i = 0; i < ny; i++)
                if (!v)
                    y0[i] = y[i];
                else if (!same_value(y[i], y0[i]))
                    bad++;
        }
        on_conv_variant = 0;
        CHECK(!bad, "%s: %d of %zu outputs differ with the ReLU in the pool's rows", specs[k], bad,
              ny);
        free(x);
        free(y0);
        on_model_free(m);
    }
}

/* Max and min pooling of other windows (the separable forward, its columns as vector
 * loops over phases of the reduced row) against a direct fold over each window, down each
 * column and then across (the order that decides between -0 and +0), on values with ties,
 * -0 and +0 and NaNs, for strides 1 to 3, padding, ceil mode and 1-D. */
static void test_pool_windows(void) {
    static const struct {
        const char *spec;
        int C, H, W, k, s, pad, P, Q; /* square windows; 1-D: H = k rows = 1 */
    } t[] = {{"input(9,11,2) maxpool2d(3,2,1)", 2, 9, 11, 3, 2, 1, 5, 6},
             {"input(8,8,3) maxpool2d(3,1,1)", 3, 8, 8, 3, 1, 1, 8, 8},
             {"input(10,7,1) maxpool2d(2,1)", 1, 10, 7, 2, 1, 0, 9, 6},
             {"input(9,12,2) maxpool2d(3,3)", 2, 9, 12, 3, 3, 0, 3, 4},
             {"input(7,9,2) maxpool2d(3,2,1,ceil_mode=1)", 2, 7, 9, 3, 2, 1, 4, 5},
             {"input(6,10,2) minpool2d(3,2,1)", 2, 6, 10, 3, 2, 1, 3, 5},
             {"input(5,13,1) maxpool2d(5,2,2)", 1, 5, 13, 5, 2, 2, 3, 7},
             {"input(17,3) maxpool1d(3,2,1)", 3, 1, 17, 3, 2, 1, 1, 9},
             {"input(56,56,4) maxpool2d(3,2,1)", 4, 56, 56, 3, 2, 1, 28, 28},
             /* 3x3 stride-2 max, padding 1 (pool.c's max_columns_3s2): 7 vectors of
              * outputs, 2 and a tail of 2, exactly 1, a tail only */
             {"input(12,112,3) maxpool2d(3,2,1)", 3, 12, 112, 3, 2, 1, 6, 56},
             {"input(9,35,2) maxpool2d(3,2,1)", 2, 9, 35, 3, 2, 1, 5, 18},
             {"input(6,16,2) maxpool2d(3,2,1)", 2, 6, 16, 3, 2, 1, 3, 8},
             {"input(5,4,1) maxpool2d(3,2,1)", 1, 5, 4, 3, 2, 1, 3, 2}};
    /* each case also by the generic columns (ON_CONV_NO_POOL_3S2) */
    for (size_t kv = 0; kv < 2 * sizeof t / sizeof *t; kv++) {
        size_t k = kv % (sizeof t / sizeof *t);
        on_conv_variant = kv < sizeof t / sizeof *t ? 0 : ON_CONV_NO_POOL_3S2;
        on_model *m = build(t[k].spec, 2);
        if (!m) continue;
        int C = t[k].C, H = t[k].H, W = t[k].W, P = t[k].P, Q = t[k].Q, s = t[k].s;
        int one_d = H == 1, kh = one_d ? 1 : t[k].k, sh = one_d ? 1 : s, pt = one_d ? 0 : t[k].pad;
        size_t n = (size_t)2 * C * H * W;
        CHECK(on_shape_size(on_model_output_shape(m)) == (size_t)C * P * Q, "%s: output size",
              t[k].spec);
        float sign = strstr(t[k].spec, "minpool") ? -1.0f : 1.0f, *x = malloc(sizeof(float) * n);
        for (size_t i = 0; i < n; i++) {
            float r = frand();
            x[i] = r > 0.97f ? NAN : r > 0.6f ? (r > 0.8f ? -0.0f : 0.0f) : (float)(int)(4 * r);
        }
        on_model_forward(m, x, 2, 0);
        const float *y = on_model_output(m);
        int bad = 0;
        for (int pl = 0; pl < 2 * C; pl++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    float best = 0, col = 0;
                    int have = 0;
                    for (int j = q * s - t[k].pad; j < q * s - t[k].pad + t[k].k; j++) {
                        if (j < 0 || j >= W) continue;
                        int hc = 0;
                        for (int i = p * sh - pt; i < p * sh - pt + kh; i++) {
                            if (i < 0 || i >= H) continue;
                            float v = sign * x[(size_t)pl * H * W + (size_t)i * W + j];
                            if (!hc++ || v > col || (isnan(v) && !isnan(col))) col = v;
                        }
                        if (hc && (!have++ || col > best || (isnan(col) && !isnan(best))))
                            best = col;
                    }
                    if (!same_value(y[((size_t)pl * P + p) * Q + q], sign * best)) bad++;
                }
        CHECK(!bad, "%s (variant %d): %d of %d outputs differ from a direct fold", t[k].spec,
              on_conv_variant, bad, 2 * C * P * Q);
        free(x);
        on_model_free(m);
    }
    on_conv_variant = 0;
}

/* The 2x2 max-pool against a direct one: training (positions kept) and inference (values
 * only, a backward finding the winners again), on values with ties, -0 and +0, and NaNs. */
static void test_maxpool_rows(void) {
    static const int widths[] = {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 28, 33, 40, 66};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (int train = 0; train < 2; train++) {
            int w = widths[wi];
            char spec[64];
            snprintf(spec, sizeof spec, "input(4,%d,3) maxpool", w);
            on_model *m = build(spec, 2);
            if (!m) continue;
            on_model_want_input_grad(m, 1);
            on_error err;
            on_model_compile(m, 2, &err);
            int Q = w / 2, n = 2 * 3 * 4 * w, bad = 0;
            float *x = malloc(sizeof(float) * n), *dy = malloc(sizeof(float) * 2 * 3 * 2 * Q);
            for (int i = 0; i < n; i++) {
                float r = frand();
                x[i] = r > 0.95f ? NAN : r > 0.7f ? -0.0f : (float)(int)(3 * (r + 1)); /* ties */
            }
            for (int i = 0; i < 2 * 3 * 2 * Q; i++) dy[i] = frand();
            on_model_forward(m, x, 2, train);
            const float *y = on_model_output(m);
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            const float *dx = on_model_input_grad(m);
            for (int pl = 0; pl < 6; pl++)
                for (int p = 0; p < 2; p++)
                    for (int q = 0; q < Q; q++) {
                        const float *r = x + (size_t)pl * 4 * w + 2 * p * w + 2 * q;
                        float v[4] = {r[0], r[1], r[w], r[w + 1]};
                        int k = 0;
                        for (int j = 1; j < 4; j++)
                            if (v[j] > v[k] || (isnan(v[j]) && !isnan(v[k]))) k = j;
                        int o = (pl * 2 + p) * Q + q,
                            at = pl * 4 * w + (2 * p + k / 2) * w + 2 * q + k % 2;
                        if (!same_value(y[o], v[k]) || dx[at] != dy[o]) bad++;
                        for (int j = 0; j < 4; j++) /* the others get no gradient */
                            if (j != k && dx[pl * 4 * w + (2 * p + j / 2) * w + 2 * q + j % 2] != 0)
                                bad++;
                    }
            CHECK(!bad, "%s train %d: %d values or gradients differ from a direct max-pool", spec,
                  train, bad);
            free(x);
            free(dy);
            on_model_free(m);
        }
}

/* The same max-pool with the ReLU6 after it, both in a convolution's output loop
 * (inference, the ReLU6 in the pool's stores): the clamped window maxima, with rows of 3
 * to 33 windows. */
static void test_maxpool_clamped(void) {
    static const int widths[] = {6, 9, 14, 28, 33, 40, 66};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        int w = widths[wi], Q = w / 2, n = 2 * 3 * 4 * w, bad = 0;
        char spec[64];
        snprintf(spec, sizeof spec, "input(4,%d,3) conv2d(3,1,name=c) maxpool relu6", w);
        on_model *m = build(spec, 2); /* an identity 1x1 convolution: its output loop */
        if (!m) continue;
        float *k = on_model_tensor_data(m, on_model_tensor_find(m, "c.weight"));
        float *b = on_model_tensor_data(m, on_model_tensor_find(m, "c.bias"));
        for (int f = 0; f < 3; f++) {
            b[f] = 0;
            for (int ch = 0; ch < 3; ch++) k[f * 3 + ch] = f == ch;
        }
        float *x = malloc(sizeof(float) * n);
        for (int i = 0; i < n; i++) {
            float r = frand();
            x[i] = r > 0.8f ? -0.0f : (float)(int)(16 * r) - 4.0f; /* ties, above 6, below 0 */
        }
        on_model_forward(m, x, 2, 0);
        const float *y = on_model_output(m);
        for (int pl = 0; pl < 6; pl++)
            for (int p = 0; p < 2; p++)
                for (int q = 0; q < Q; q++) {
                    const float *r = x + (size_t)pl * 4 * w + 2 * p * w + 2 * q;
                    float v = fmaxf(fmaxf(r[0], r[1]), fmaxf(r[w], r[w + 1]));
                    v = v > 0 ? (v > 6 ? 6 : v) : 0;
                    if (y[(pl * 2 + p) * Q + q] != v) bad++;
                }
        CHECK(!bad, "%s: %d outputs differ from a direct clamped max-pool", spec, bad);
        free(x);
        on_model_free(m);
    }
}

/* BatchNorm after a convolution takes its batch statistics sample by sample in the
 * convolution's output loop, merged afterwards: they must be those of the whole batch,
 * also for data far from zero (the sums are shifted) and samples spread over threads. */
static void test_bn_stats_in_conv_loop(void) {
    /* BatchNorm right after the conv, and after a layer run in the conv's loop */
    const char *before[] = {"input(6,8,2) conv2d(3,3)", "input(6,8,2) conv2d(3,3) leaky_relu"};
    for (int v = 0; v < 2; v++)
        for (int n = 1; n <= 5; n += 2) {
            char spec[96];
            snprintf(spec, sizeof spec, "%s batchnorm", before[v]);
            on_model *a = build(before[v], n);
            on_model *b = build(spec, n);
            if (!a || !b) {
                on_model_free(a);
                on_model_free(b);
                return;
            }
            for (int t = 0; t < 2; t++) /* the same convolution in both */
                memcpy(on_model_tensor_data(b, t), on_model_tensor_data(a, t),
                       sizeof(float) * on_model_tensor_size(a, t));
            float x[5 * 2 * 6 * 8];
            for (int i = 0; i < n * 96; i++) x[i] = 100 + frand(); /* conv outputs near +-100 */
            on_model_forward(a, x, n, 1);
            on_model_forward(b, x, n, 1);
            const float *y = on_model_output(a), *z = on_model_output(b);
            const float *rm =
                on_model_tensor_data(b, on_model_tensor_find(b, "batchnorm.running_mean"));
            const float *rv =
                on_model_tensor_data(b, on_model_tensor_find(b, "batchnorm.running_var"));
            int bad = 0;
            for (int ch = 0; ch < 3; ch++) {
                double s = 0, s2 = 0, cnt = n * 24.0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < 24; j++) s += y[(i * 3 + ch) * 24 + j];
                double mu = s / cnt;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < 24; j++) {
                        double d = y[(i * 3 + ch) * 24 + j] - mu;
                        s2 += d * d;
                    }
                double var = s2 / cnt, inv = 1 / sqrt(var + 1e-5);
                bad += fabs(rm[ch] - 0.1 * mu) > 1e-6 * fabs(mu);
                bad += fabs(rv[ch] - (0.9 + 0.1 * s2 / (cnt - 1))) > 1e-5 * rv[ch];
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < 24; j++) {
                        int o = (i * 3 + ch) * 24 + j;
                        bad += fabs(z[o] - (y[o] - mu) * inv) > 2e-4;
                    }
            }
            CHECK(!bad, "%s, batch %d: %d statistics or outputs off", spec, n, bad);
            on_model_free(a);
            on_model_free(b);
        }
}

/* BatchNorm as written (not folded by optimize) at batch 1 on 2 threads: the threads share
 * the sample's channels. Alone and inside a convolution's output loop (models large enough
 * that batch 1 runs on two threads at all), in inference and in training: the same bits as
 * on one thread; and alone in inference y = relu(gamma (x - mean) / sqrt(var + eps) + beta)
 * with the running statistics, in every channel. */
static void test_bn_shares_a_sample(void) {
    const char *specs[] = {"input(224,224,8) batchnorm relu",
                           "input(64,64,16) conv2d(8,3,padding=same) batchnorm relu"};
    const int S[] = {224 * 224, 64 * 64}, X[] = {224 * 224 * 8, 64 * 64 * 16};
    enum { C = 8 };
    float *x = malloc(sizeof(float) * X[0]),
          *y[2] = {malloc(sizeof(float) * X[0] * 2), malloc(sizeof(float) * X[0] * 2)};
    for (int i = 0; i < X[0]; i++) x[i] = 2 * frand() - 0.5f;
    for (int v = 0; v < 2; v++) {
        size_t ysz = sizeof(float) * S[v] * C;
        for (int t = 1; t <= 2; t++) {
            on_set_threads(t);
            on_model *m = build(specs[v], 1);
            if (!m) break;
            const char *names[] = {"batchnorm.weight", "batchnorm.bias", "batchnorm.running_mean",
                                   "batchnorm.running_var"};
            for (int k = 0; k < 4; k++) {
                float *p = on_model_tensor_data(m, on_model_tensor_find(m, names[k]));
                for (int ch = 0; ch < C; ch++) p[ch] = k == 3 ? 1.0f + ch : 0.25f * ch - 0.5f;
            }
            for (int train = 0; train < 2; train++) {
                on_model_forward(m, x, 1, train);
                memcpy((char *)y[t - 1] + train * ysz, on_model_output(m), ysz);
            }
            if (v == 0 && t == 2) { /* the inference from the formula */
                int bad = 0;
                for (int ch = 0; ch < C; ch++) {
                    double g = 0.25 * ch - 0.5, var = 1.0 + ch; /* mean, beta: g too */
                    for (int j = 0; j < S[v]; j++) {
                        double e = g * (x[ch * S[v] + j] - g) / sqrt(var + 1e-5) + g;
                        e = e > 0 ? e : 0;
                        bad += fabs(y[1][ch * S[v] + j] - e) > 1e-5 * (1 + fabs(e));
                    }
                }
                CHECK(!bad, "%s at batch 1 on 2 threads: %d outputs off", specs[v], bad);
            }
            on_model_free(m);
        }
        CHECK(!memcmp(y[0], y[1], 2 * ysz), "%s at batch 1: 2 threads not the bits of 1", specs[v]);
    }
    on_set_threads(2);
    free(x);
    free(y[0]);
    free(y[1]);
}

/* In training, the backward of the per-sample layers after a BatchNorm (pooling, activation,
 * dropout, flatten) runs sample by sample, and BatchNorm takes its gradient sums on each
 * sample as it comes out of the chain (graph.c's backward chains): the same gradients, bit
 * for bit, as every backward a pass of its own over the batch. Also a chain whose last
 * layer's input has a second consumer (its gradient added through acc), one that ends at
 * the model's input, and a batch smaller than the compiled one; the study's block orders;
 * a BatchNorm's own backward at the top of a chain (its coefficients on the batch first). */
static void test_backward_chains(void) {
    const struct {
        const char *spec;
        const char *linked; /* layers linked to the one before them */
    } cases[] = {
        {"input(12,12,3) conv2d(4,3,same) bn maxpool relu dropout(0.3,name=d) conv2d(5,3) bn "
         "leaky_relu spatial_dropout(0.4) flatten(name=f) dense(6)",
         "relu d spatial_dropout2d f"},
        {"input(10,10,2) conv2d(4,3,same,name=c) relu(name=r) maxpool(name=m1) conv2d(4,1,from=c) "
         "maxpool(name=m2) add(m1) gaussian_noise(0.2) avgpool gaussian_dropout(0.3) gap "
         "dense(5)",
         "m1 avgpool2d gaussian_dropout"},
        {"input(8,8,3) maxpool tanh dropout(0.5) bn relu6 flatten dense(4)",
         "tanh dropout flatten"},
        /* the study's block orders, a BatchNorm over a chain whose gradients have its size,
         * one whose input another layer reads, one over a ReLU (its derivative in the
         * BatchNorm's pass: dclamp) */
        {"input(12,12,1) conv2d(4,3,same) relu dropout(0.2) bn maxpool conv2d(6,3,same) relu "
         "dropout(0.2) bn maxpool flatten dense(4)",
         "dropout dropout_1 flatten"},
        {"input(12,12,1) conv2d(4,3,same) maxpool relu bn dropout(0.2) conv2d(6,3,same) maxpool "
         "relu bn dropout(0.2) flatten dense(4)",
         "relu relu_1 flatten"},
        {"input(8,8,3) conv2d(3,1) tanh dropout(0.3) bn flatten dense(4)", "dropout"},
        {"input(8,8,3) maxpool(name=p) bn add(p) flatten dense(4)", ""},
        {"input(8,8,3) conv2d(4,3,same) relu bn flatten dense(4)", ""},
        /* a BatchNorm over planes of 256 values or more heads a chain down to the conv's
         * (its backward in two parts); over a ReLU its derivative in the BatchNorm's pass */
        {"input(16,16,2) conv2d(4,3,same) relu dropout(0.2) bn maxpool flatten dense(4)",
         "dropout batchnorm flatten"},
        {"input(16,16,2) conv2d(4,3,same) relu bn maxpool flatten dense(4)", "batchnorm flatten"},
        {"input(16,16,2) conv2d(4,3,same,name=c) relu bn add(c) flatten dense(4)", "batchnorm"},
    };
    for (int k = 0; k < (int)(sizeof cases / sizeof *cases); k++)
        for (int threads = 1; threads <= 2; threads++)
            for (int n = 3; n <= 6; n += 3) {
                on_set_threads(threads);
                on_error err;
                on_model *m[2] = {on_model_from_spec(cases[k].spec, &err),
                                  on_model_from_spec(cases[k].spec, &err)};
                CHECK(m[0] && m[1], "%s: %s", cases[k].spec, err.msg);
                if (!m[0] || !m[1]) {
                    on_model_free(m[0]);
                    return;
                }
                size_t xl = 6 * on_shape_size(on_model_node_shape(m[0], 0)), np = 0;
                float *x = malloc(sizeof(float) * xl), *g[2] = {NULL, NULL};
                int y[6] = {0, 3, 1, 2, 3, 0};
                for (size_t i = 0; i < xl; i++) x[i] = frand();
                for (int v = 0; v < 2; v++) {
                    on_conv_variant = v ? 0 : ON_CONV_NO_BACKWARD_CHAIN;
                    on_model_want_input_grad(m[v], 1);
                    if (on_model_compile(m[v], 6, &err)) CHECK(0, "compile: %s", err.msg);
                    on_model_init(m[v], 5);
                    on_model_forward(m[v], x, n, 1);
                    on_model_loss(m[v], y, 0.1f);
                    on_model_zero_grad(m[v]);
                    on_model_backward(m[v]);
                    int nt = on_model_num_tensors(m[v]);
                    np = xl;
                    for (int t = 0; t < nt; t++)
                        if (on_model_tensor_grad(m[v], t)) np += on_model_tensor_size(m[v], t);
                    g[v] = malloc(sizeof(float) * np);
                    memcpy(g[v], on_model_input_grad(m[v]), sizeof(float) * n * (xl / 6));
                    size_t o = xl;
                    for (int t = 0; t < nt; t++)
                        if (on_model_tensor_grad(m[v], t)) {
                            memcpy(g[v] + o, on_model_tensor_grad(m[v], t),
                                   sizeof(float) * on_model_tensor_size(m[v], t));
                            o += on_model_tensor_size(m[v], t);
                        }
                }
                on_conv_variant = 0;
                CHECK(!memcmp(g[0], g[1], sizeof(float) * n * (xl / 6)) &&
                          !memcmp(g[0] + xl, g[1] + xl, sizeof(float) * (np - xl)),
                      "%s, %d threads, batch %d: the backward chains change the gradients",
                      cases[k].spec, threads, n);
                /* the chains are there (and not with the variant) */
                char linked[128] = "", *w = linked;
                for (int i = 1; i < m[1]->nn; i++) {
                    CHECK(!m[0]->nodes[i].bwd_link, "linked with the chains off");
                    if (m[1]->nodes[i].bwd_link)
                        w += snprintf(w, sizeof linked - (size_t)(w - linked), "%s%s",
                                      w > linked ? " " : "", m[1]->nodes[i].name);
                }
                CHECK(!strcmp(linked, cases[k].linked), "%s: linked '%s', expected '%s'",
                      cases[k].spec, linked, cases[k].linked);
                free(x);
                free(g[0]);
                free(g[1]);
                on_model_free(m[0]);
                on_model_free(m[1]);
            }
    on_set_threads(2);
}

static void test_loss(void) {
    float z[2 * 3] = {1, 2, 3, -1, 0, 5}, d[6];
    int y[2] = {2, 0};
    float l = on_softmax_xent(z, y, 2, 3, 0.0f, d);
    double ref = 0;
    ref += -(3 - log(exp(1) + exp(2) + exp(3)));
    ref += -(-1 - log(exp(-1) + exp(0) + exp(5)));
    CHECK(fabs(l - ref / 2) < 1e-6, "cross-entropy %g vs %g", l, ref / 2);
    on_softmax_xent(z, y, 2, 3, 0.1f, d);
    CHECK(fabsf(d[0] + d[1] + d[2]) < 1e-6f && fabsf(d[3] + d[4] + d[5]) < 1e-6f,
          "smoothed gradient rows sum to zero");
    int bad[2] = {2, 7};
    CHECK(isnan(on_softmax_xent(z, bad, 2, 3, 0.0f, NULL)), "label out of range gives NaN");
}

static void test_minpool(void) {
    on_model *a = build("input(7,5,2) minpool2d(3,2,1,ceil_mode=1)", 2);
    on_model *b = build("input(7,5,2) maxpool2d(3,2,1,ceil_mode=1)", 2);
    if (!a || !b) return;
    float x[140], nx[140];
    for (int i = 0; i < 140; i++) nx[i] = -(x[i] = frand());
    on_model_forward(a, x, 2, 0);
    on_model_forward(b, nx, 2, 0);
    size_t n = 2 * on_shape_size(on_model_output_shape(a));
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= on_model_output(a)[i] == -on_model_output(b)[i];
    CHECK(ok, "minpool(x) = -maxpool(-x)");
    on_model_free(a);
    on_model_free(b);
}

static void test_cost_and_params(void) {
    on_model *m = build("input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "
                        "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)",
                        2);
    if (!m) return;
    /* Keras counts: conv 320, bn 128 (64 trainable), conv 18496, bn 256, dense 31370 */
    CHECK(on_model_num_params(m) == 320 + 64 + 18496 + 128 + 31370, "params %zu",
          on_model_num_params(m));
    on_cost c = on_model_node_cost(m, 1);
    CHECK(c.flops_fwd == 2.0 * 32 * 9 * 28 * 28 + 32 * 28 * 28, "conv flops %g", c.flops_fwd);
    CHECK(on_model_tensor_find(m, "batchnorm_1.running_var") >= 0, "tensor names");
    on_model_free(m);
}

/* Upsampling, padding, cropping, reshape, permute, layernorm and embedding: output shapes,
 * the compact form read back from its own text, errors that name what is wrong, and
 * embedding ids out of range refused by on_model_forward with the id and the vocabulary. */
static void test_new_layers(void) {
    CHECK(shape_is("input(7,5,3) upsample2d(2)", 3, 14, 10), "upsample x2");
    CHECK(shape_is("input(7,5,3) upsample2d((1.5,2.5),bilinear)", 3, 10, 12), "floor(in*scale)");
    CHECK(shape_is("input(7,5,3) upsample2d(0.6,bilinear,align_corners=1)", 3, 4, 3), "below 1");
    CHECK(shape_is("input(9,2) upsample1d(2.5,linear)", 2, 1, 22), "1-D");
    CHECK(shape_is("input(7,5,3) zeropad2d((1,2,3,4))", 3, 10, 12), "zero padding t,b,l,r");
    CHECK(shape_is("input(9,2) zeropad1d((1,2))", 2, 1, 12), "1-D zero padding l,r");
    CHECK(shape_is("input(7,5,3) crop2d(cropping=(1,2))", 3, 5, 1), "cropping");
    CHECK(shape_is("input(7,5,3) global_maxpool", 3, 1, 1), "global max-pool");
    CHECK(shape_is("input(12544) reshape((256,7,7))", 256, 7, 7), "Dense to image");
    CHECK(shape_is("input(7,5,3) reshape((5,-1))", 5, 1, 21), "reshape infers -1");
    CHECK(shape_is("input(7,5,3) permute((1,2,0))", 7, 5, 3), "(C,H,W) -> (H,W,C)");
    CHECK(shape_is("input(7,5,3) permute((1,2,0)) layernorm permute((2,0,1))", 3, 7, 5),
          "ConvNeXt's LayerNorm");
    CHECK(shape_is("input(20) embedding(100,8) conv1d(4,3)", 4, 1, 18), "embedding -> conv1d");
    CHECK(error_has("input(7,5,3) reshape((4,-1))", "layer 'reshape'", "105 values"),
          "reshape size mismatch");
    CHECK(error_has("input(7,5,3) permute((0,0,1))", "layer 'permute'", "not a permutation"),
          "bad permutation");
    CHECK(error_has("input(7,5,3) crop2d((4,3,0,0))", "layer 'crop2d'", "leaves nothing"),
          "crop too much");
    CHECK(error_has("input(7,5,3) upsample2d(mode=cubic)", "upsample2d", "cubic"), "unknown mode");
    CHECK(error_has("input(7,5,3) layernorm(axis=3)", "layer 'layernorm'", "axis 3"), "bad axis");
    CHECK(error_has("input(7,5,3) embedding(10,4)", "layer 'embedding'", "(3,7,5)"),
          "embedding needs token ids");
    { /* the parameter bound counts a depthwise conv's C x k x k, not C x C x k x k (ConvNeXt) */
        on_error err;
        on_model *m =
            on_model_from_spec("input(2,2,20000) conv2d(20000,7,same,groups=20000)", &err);
        CHECK(m && on_model_num_params(m) == 20000 * 50, "wide depthwise conv: %s",
              m ? "params" : err.msg);
        on_model_free(m);
    }
    CHECK(error_has("input(7,5,3) relu(frozen=1)", "relu", "'frozen'"), "frozen without params");
    CHECK(error_has("input(7,5,3) relu(kernel_l2=0.1)", "relu", "'kernel_l2'"),
          "kernel regularizer without params");
    CHECK(error_has("input(7,5,3) conv2d(2,1,bias_l1=-1)", "conv2d", "'bias_l1'"),
          "negative regularizer");
    /* the compact form prints what it reads */
    static const char *const specs[] = {
        "input(7,5,3) upsample2d((1.5,2.5),mode=bilinear,align_corners=1) zeropad2d((1,2,3,4)) "
        "crop2d((1,0,2,0)) permute((1,2,0)) layernorm(eps=0.001) reshape((12,-1)) "
        "layernorm(axis=0)",
        "input(9,2) upsample1d(3,linear) zeropad1d((0,0,1,2)) crop1d(1) global_maxpool",
        "input(6) embedding(11,4)",
        /* Keras's trainable=False and regularizers, which checkpoints and studies keep */
        "input(8,8,2) conv2d(4,3,frozen=1,kernel_l1=0.001,kernel_l2=0.01,bias_l2=0.5) "
        "relu(activity_l1=1e-05) flatten dense(3,activity_l2=0.25) batchnorm(frozen=1)",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        on_error err;
        on_model *m = on_model_from_spec(specs[i], &err);
        char *t = m ? on_model_to_spec(m) : NULL;
        on_model *m2 = t ? on_model_from_spec(t, &err) : NULL;
        char *t2 = m2 ? on_model_to_spec(m2) : NULL;
        CHECK(t2 && !strcmp(t, t2), "round trip of %s: %s / %s", specs[i], t ? t : err.msg,
              t2 ? t2 : err.msg);
        for (int k = 1; m && m2 && k < on_model_num_nodes(m); k++)
            CHECK(on_attrs_equal(&m->nodes[k].a, &m2->nodes[k].a), "%s: layer %d reads back",
                  specs[i], k);
        free(t);
        free(t2);
        on_model_free(m);
        on_model_free(m2);
    }
    /* rows wider than resize.c's column table: nearest and linear against the formulas */
    on_model *u = build("input(1500,1) upsample1d(2)", 1),
             *v = build("input(1500,1) upsample1d(1.5,linear)", 1);
    float *sig = malloc(sizeof(float) * 1500);
    for (int i = 0; i < 1500; i++) sig[i] = frand();
    int bad = !u || !v || on_model_forward(u, sig, 1, 0) || on_model_forward(v, sig, 1, 0);
    for (int q = 0; !bad && q < 3000; q++) bad |= on_model_output(u)[q] != sig[q >> 1];
    double worst = 0;
    for (int q = 0; !bad && q < 2250; q++) {
        /* PyTorch's float arithmetic for the source position */
        float src = (float)(1.0 / 1.5) * ((float)q + 0.5f) - 0.5f;
        src = src < 0 ? 0 : src;
        int i0 = (int)src, i1 = i0 < 1499 ? i0 + 1 : i0;
        double l = src - (float)i0, want = (1 - l) * sig[i0] + l * sig[i1];
        worst = fmax(worst, fabs(on_model_output(v)[q] - want));
    }
    CHECK(!bad && worst < 1e-5, "long rows: nearest exact, linear within %g", worst);
    free(sig);
    on_model_free(u);
    on_model_free(v);
    /* global max-pool: the first largest element gets the gradient; NaN wins */
    on_model *g = build("input(2,3,2) global_maxpool", 1);
    if (g) {
        on_model_want_input_grad(g, 1);
        on_error e;
        on_model_compile(g, 1, &e);
    }
    float gx[12] = {1, 3, 3, 0, -1, 2, /* channel 1: */ 0, NAN, 5, NAN, 1, 2}, gdy[2] = {1, 1};
    CHECK(g && !on_model_forward(g, gx, 1, 1), "global max-pool forward");
    if (g) {
        const float *y = on_model_output(g);
        on_model_set_output_grad(g, gdy);
        on_model_backward(g);
        const float *dx = on_model_input_grad(g);
        CHECK(y[0] == 3 && isnan(y[1]), "global max-pool values %g %g", y[0], y[1]);
        CHECK(dx[1] == 1 && dx[2] == 0 && dx[7] == 1 && dx[9] == 0,
              "the first largest (and the first NaN) gets the gradient");
    }
    on_model_free(g);
    /* token ids: whole numbers in [0, vocab) */
    on_model *m = build("input(4) embedding(10,3)", 2);
    float ok[8] = {0, 9, 3, 3, 1, 2, 5, 0}, big[8] = {0, 9, 3, 3, 1, 12, 5, 0};
    float half[8] = {0, 1, 2.5f, 3, 1, 2, 5, 0}, neg[8] = {0, 1, 2, 3, -1, 2, 5, 0};
    CHECK(m && !on_model_forward(m, ok, 2, 0) && !*on_model_last_error(m), "ids in range");
    if (m) {
        const float *y = on_model_output(m), *w = on_model_tensor_data(m, 0);
        /* y (N,D,L): sample 1, d 2, position 2 is W[id 5][2] */
        CHECK(y[12 + 2 * 4 + 2] == w[5 * 3 + 2], "y[d][l] = W[id_l][d]");
    }
    CHECK(m && on_model_forward(m, big, 2, 0) &&
              strstr(on_model_last_error(m), "layer 'embedding'") &&
              strstr(on_model_last_error(m), "token id 12") &&
              strstr(on_model_last_error(m), "vocabulary of 10"),
          "id out of range: %s", m ? on_model_last_error(m) : "");
    CHECK(m && on_model_forward(m, half, 2, 1) && strstr(on_model_last_error(m), "2.5"),
          "id not whole: %s", m ? on_model_last_error(m) : "");
    CHECK(m && on_model_forward(m, neg, 2, 0) && strstr(on_model_last_error(m), "token id -1"),
          "negative id: %s", m ? on_model_last_error(m) : "");
    on_model_free(m);
}

int main(void) {
    on_set_threads(2);
    test_output_sizes();
    test_errors();
    test_dropout();
    dropout_vector_bits();
    dclamp_bits();
    dy_chain_bits();
    test_partial_batch();
    test_dense_forward();
    test_dense_chunks();
    test_dense_backward();
    test_determinism();
    test_threads_share_a_sample();
    test_loss();
    test_bn_stats_in_conv_loop();
    test_bn_shares_a_sample();
    test_backward_chains();
    test_pool_nan();
    test_maxpool_rows();
    test_maxpool_clamped();
    test_pool_windows();
    test_pool_clamp();
    test_minpool();
    test_cost_and_params();
    test_new_layers();
    return check_done();
}
