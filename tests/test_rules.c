/* test_rules.c - every commuting rule tried on random tensors.
 *
 * For every ordered pair of layers from a list that covers each op and the edge cases of
 * docs/ORDERING.md (negative BatchNorm scales, average pooling that counts padding,
 * non-monotone activations next to max-pool, tanh with inverted dropout, f(0) != 0,
 * LeakyReLU with a negative slope, odd spatial sizes), in training and at inference, the
 * analyzer's verdict (with the weights known) is checked against both orders run on the
 * same random inputs and weights:
 *   exact             -> outputs bit-identical, and input gradients equal (bit-identical
 *                        counted and reported);
 *   exact-with-change -> bit-identical after the stated change (max <-> min pool);
 *   rounding          -> equal to 1e-5 relative;
 *   never/approximate -> some input shows a difference (a counterexample).
 * A verdict given without weights must agree: exact stays exact, conditional becomes
 * exact or never once the weights are known.
 * Last, the training claim of ORDERING.md section 4: two orders of one class trained from
 * one seed give bit-identical weights; two orders of different classes do not.
 */
#include "analyze/analyze.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 777;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

/* Layers under test; "@neg" marks a weights variant with some negative scale/slope,
 * "@pos" one with all scales/slopes positive, "@lin" BatchNorm with zero shift. */
static const char *const layers[] = {
    "relu",
    "leaky_relu(0.1)",
    "leaky_relu(-0.3)",
    "prelu@pos",
    "prelu@neg",
    "elu",
    "selu",
    "celu(0.5)",
    "tanh",
    "sigmoid",
    "hardtanh(-0.5,2)",
    "relu6",
    "softplus",
    "gelu",
    "silu",
    "mish",
    "identity",
    "batchnorm@pos",
    "batchnorm@neg",
    "batchnorm@lin",
    "dropout(0.3)",
    "maxpool2d",
    "maxpool2d(3,2,1)",
    "minpool2d",
    "avgpool2d",
    "avgpool2d(3,1,1)",
    "avgpool2d(3,1,1,count_include_pad=0)",
    "flatten",
    /* round 2: hard activations (one non-increasing), softsign, exp, rescaling (a shift, a
     * negation, a positive scale with and without shift), the noise layers (spatial
     * dropout at dropout's rate and at another) */
    "hard_sigmoid",
    "hard_sigmoid(-0.3,0.1)",
    "hard_swish",
    "softsign",
    "exponential",
    "rescaling(1.7,-0.5)",
    "rescaling(2)",
    "rescaling(-1)",
    "rescaling(1,0.5)",
    "rescaling(1)",
    "spatial_dropout2d(0.3)",
    "spatial_dropout2d(0.6)",
    "gaussian_noise(0.5)",
    "gaussian_dropout(0.5)",
    /* upsampling, padding, cropping, global max-pooling, reshape, permute, layernorm */
    "upsample2d",
    "upsample2d(3)",
    "upsample2d((1.5,2.5))",
    "upsample2d(2,bilinear)",
    "upsample2d(2,bilinear,1)",
    "zeropad2d(1)",
    "zeropad2d((0,1,2,0))",
    "crop2d(1)",
    "crop2d((1,0,0,1))",
    "global_maxpool",
    "reshape((3,-1))",
    "reshape((7,-1))",
    "permute((1,2,0))",
    "permute((2,0,1))",
    "permute((0,2,1))",
    "layernorm",
    "global_avgpool",
};
#define NL (int)(sizeof layers / sizeof layers[0])

/* Token without the @variant, and the variant. */
static void split(const char *l, char *tok, size_t len, const char **var) {
    const char *at = strchr(l, '@');
    size_t n = at ? (size_t)(at - l) : strlen(l);
    snprintf(tok, len, "%.*s", (int)n, l);
    *var = at ? at + 1 : "";
}

/* Weights: the same for a layer whatever its position (by name). */
static void set_weights(on_model *m, const char *va, const char *vb) {
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        const char *nm = on_model_tensor_name(m, t);
        const char *var = m->tensors[t].node == 1 ? va : vb; /* node 1 is a, node 2 is b */
        float *d = on_model_tensor_data(m, t);
        size_t n = on_model_tensor_size(m, t);
        uint64_t save = rng;
        rng = 1000 + (uint64_t)t;
        for (size_t j = 0; j < n; j++) {
            float r = frand();
            if (strstr(nm, "running_var"))
                d[j] = 0.5f + r * r;
            else if (strstr(nm, "running_mean"))
                d[j] = !strcmp(var, "lin") ? 0 : 0.5f * r;
            else if (strstr(nm, ".bias"))
                d[j] = !strcmp(var, "lin") ? 0 : 0.5f * r;
            else if (!strcmp(var, "neg"))
                d[j] = j == 1 ? -0.3f - fabsf(r) : 0.3f + fabsf(r); /* one negative */
            else
                d[j] = 0.2f + fabsf(r);
        }
        rng = save;
    }
}

/* tok with name=nm added: the same layer keeps its name (and weights) in both orders */
static void named(const char *tok, const char *nm, char *out, size_t len) {
    size_t n = strlen(tok);
    if (n && tok[n - 1] == ')')
        snprintf(out, len, "%.*s,name=%s)", (int)(n - 1), tok, nm);
    else
        snprintf(out, len, "%s(name=%s)", tok, nm);
}

/* input -> a -> b, the layers named by the caller */
static on_model *pair_model(const char *ta, const char *tb, on_shape in) {
    char spec[256];
    snprintf(spec, sizeof spec, "input(%d,%d,%d) %s %s", in.h, in.w, in.c, ta, tb);
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m && on_model_compile(m, 2, &err)) {
        on_model_free(m);
        return NULL;
    }
    if (m) on_model_want_input_grad(m, 1), on_model_compile(m, 2, &err);
    return m;
}

/* Copy every tensor of src into dst by name (where the sizes agree: a per-channel layer
 * after a permute has another channel count; it is then another function). */
static void copy_weights(on_model *dst, on_model *src) {
    for (int t = 0; t < on_model_num_tensors(src); t++) {
        int u = on_model_tensor_find(dst, on_model_tensor_name(src, t));
        if (u >= 0 && on_model_tensor_size(dst, u) == on_model_tensor_size(src, t))
            memcpy(on_model_tensor_data(dst, u), on_model_tensor_data(src, t),
                   sizeof(float) * on_model_tensor_size(src, t));
    }
}

typedef struct outcome {
    int same_shape;
    double maxdiff;  /* largest |y1 - y2| / (max |y1| + 1e-6) over the draws */
    int bitsame;     /* outputs bit-identical on every draw */
    int gradbits;    /* input gradients bit-identical on every draw */
    double graddiff; /* largest relative input-gradient difference */
} outcome;

static outcome run_both(on_model *m1, on_model *m2, int train) {
    outcome o = {.bitsame = 1, .gradbits = 1};
    on_shape s1 = on_model_output_shape(m1), s2 = on_model_output_shape(m2);
    o.same_shape = s1.rank == s2.rank && s1.c == s2.c && s1.h == s2.h && s1.w == s2.w;
    if (!o.same_shape) return o;
    size_t in = 2 * on_shape_size(on_model_node_shape(m1, 0)), out = 2 * on_shape_size(s1);
    float *x = malloc(sizeof(float) * in), *dy = malloc(sizeof(float) * out);
    float *y1 = malloc(sizeof(float) * out), *g1 = malloc(sizeof(float) * in);
    for (int draw = 0; draw < 5; draw++) {
        /* multiples of 1/4 in [-3,3] (exact zeros, ties in pooling windows), then [-8,8];
         * last a fixed pattern in [-8,0] (a global max-pool sees a negative maximum) that
         * takes nothing from the random stream (the other draws stay as they were) */
        for (size_t i = 0; i < in; i++)
            x[i] = draw == 4   ? -(float)((i * 37) % 61) / 7.5f
                   : draw == 3 ? 8 * frand()
                               : roundf(frand() * 12) / 4;
        for (size_t i = 0; i < out; i++)
            dy[i] = draw == 4 ? (float)((i * 53) % 29) / 14.0f - 1 : frand();
        on_model *ms[2] = {m1, m2};
        for (int k = 0; k < 2; k++) {
            on_model_set_step(ms[k], 5 + (uint64_t)draw);
            on_model_forward(ms[k], x, 2, train);
            on_model_set_output_grad(ms[k], dy);
            on_model_zero_grad(ms[k]);
            on_model_backward(ms[k]);
        }
        memcpy(y1, on_model_output(m1), sizeof(float) * out);
        memcpy(g1, on_model_input_grad(m1), sizeof(float) * in);
        const float *y2 = on_model_output(m2), *g2 = on_model_input_grad(m2);
        double my = 1e-6, mg = 1e-6, dd = 0, dg = 0;
        for (size_t i = 0; i < out; i++) {
            my = fmax(my, fabs(y1[i]));
            dd = fmax(dd, fabs(y1[i] - y2[i]));
        }
        for (size_t i = 0; i < in; i++) {
            mg = fmax(mg, fabs(g1[i]));
            dg = fmax(dg, fabs(g1[i] - g2[i]));
        }
        o.maxdiff = fmax(o.maxdiff, dd / my);
        o.graddiff = fmax(o.graddiff, dg / mg);
        o.bitsame &= !memcmp(y1, y2, sizeof(float) * out);
        o.gradbits &= !memcmp(g1, g2, sizeof(float) * in);
    }
    free(x);
    free(dy);
    free(y1);
    free(g1);
    return o;
}

/* "maxpool2d(...)" <-> "minpool2d(...)" for exact-with-change. */
static void swap_pool_kind(char *tok) {
    if (!strncmp(tok, "maxpool", 7))
        memcpy(tok, "minpool", 7);
    else if (!strncmp(tok, "minpool", 7))
        memcpy(tok, "maxpool", 7);
}

static int bit_exact_grads, exact_grads;

/* Pairs that differ mathematically but not in float32: gelu(6) rounds to 6, and
 * gelu(x) to x above it, so relu6 and gelu agree on every float input. */
static int float_equal_anyway(const char *ta, const char *tb) {
    return (!strcmp(ta, "relu6") && !strcmp(tb, "gelu")) ||
           (!strcmp(ta, "gelu") && !strcmp(tb, "relu6"));
}

static void check_pair(int ia, int ib, int infer) {
    char ta[96], tb[96];
    const char *va, *vb;
    /* the pair's data from its own names: adding layers to the list leaves other pairs alone */
    rng = 777 + (uint64_t)infer;
    for (const char *p = layers[ia]; *p; p++) rng = rng * 31 + (unsigned char)*p;
    for (const char *p = layers[ib]; *p; p++) rng = rng * 37 + (unsigned char)*p;
    split(layers[ia], ta, sizeof ta, &va);
    split(layers[ib], tb, sizeof tb, &vb);
    on_shape in = {3, 3, 7, 5}; /* odd spatial sizes */
    char na[128], nb[128];
    named(ta, "first", na, sizeof na);
    named(tb, "second", nb, sizeof nb);
    on_model *m1 = pair_model(na, nb, in), *m2 = pair_model(nb, na, in);
    if (!m1 || !m2) { /* an order that does not build (flatten before a pool) */
        on_model_free(m1);
        on_model_free(m2);
        return;
    }
    /* weights by layer in m1; m2 gets the same tensors by name */
    set_weights(m1, va, vb);
    copy_weights(m2, m1);
    on_verdict known = on_model_commute(m1, 1, infer, 1);
    on_verdict unknown = on_model_commute(m1, 1, infer, 0);
    char what[300];
    snprintf(what, sizeof what, "%s then %s (%s): %s", layers[ia], layers[ib],
             infer ? "infer" : "train", on_verdict_name(known.kind));
    CHECK(known.kind != ON_CONDITIONAL, "%s: a verdict with weights stays conditional", what);
    if (unknown.kind == ON_EXACT || unknown.kind == ON_ROUNDING || unknown.kind == ON_NEVER)
        CHECK(known.kind == unknown.kind, "%s: without weights it was %s", what,
              on_verdict_name(unknown.kind));
    outcome o;
    if (known.kind == ON_EXACT_CHANGE) {
        char tc[128];
        snprintf(tc, sizeof tc, "%s", strstr(tb, "pool") ? nb : na);
        swap_pool_kind(tc);
        on_model *m3 = strstr(tb, "pool") ? pair_model(tc, na, in) : pair_model(nb, tc, in);
        copy_weights(m3, m1);
        o = run_both(m1, m3, !infer);
        on_model_free(m3);
        CHECK(o.same_shape && o.bitsame, "%s (%s): outputs differ by %.3g", what, known.change,
              o.maxdiff);
    } else {
        o = run_both(m1, m2, !infer);
        if (!o.same_shape) {
            CHECK(known.kind == ON_NEVER, "%s: the orders give different shapes", what);
        } else if (known.kind == ON_EXACT) {
            CHECK(o.bitsame, "%s: outputs differ by %.3g", what, o.maxdiff);
            CHECK(o.graddiff < 1e-6, "%s: input gradients differ by %.3g", what, o.graddiff);
            exact_grads++;
            bit_exact_grads += o.gradbits;
        } else if (known.kind == ON_ROUNDING) {
            CHECK(o.maxdiff < 1e-5, "%s: outputs differ by %.3g", what, o.maxdiff);
        } else if (!float_equal_anyway(ta, tb)) {
            CHECK(o.maxdiff > 2e-6, "%s: no counterexample found (diff %.3g): %s", what, o.maxdiff,
                  known.reason);
        }
    }
    on_model_free(m1);
    on_model_free(m2);
}

/* Train m for a few steps (data from a fixed seed); weights by tensor name into w. */
static size_t train_model(on_model *m, float *w) {
    on_error err;
    if (on_model_compile(m, 6, &err)) return 0;
    on_model_init(m, 11);
    float x[6 * 64];
    int labels[6];
    uint64_t save = rng;
    rng = 3;
    for (int i = 0; i < 6 * 64; i++) x[i] = frand();
    for (int i = 0; i < 6; i++) labels[i] = i % 3;
    rng = save;
    for (int s = 0; s < 8; s++) {
        on_model_forward(m, x, 6, 1);
        on_model_loss(m, labels, 0.1f);
        on_model_zero_grad(m);
        on_model_backward(m);
        on_adamw_step(m, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f, s + 1);
    }
    size_t n = 0;
    for (int t = 0; t < on_model_num_tensors(m); t++) { /* in name order */
        int best = -1;
        for (int u = 0; u < on_model_num_tensors(m); u++) {
            int rank = 0;
            for (int v = 0; v < on_model_num_tensors(m); v++)
                rank += strcmp(on_model_tensor_name(m, v), on_model_tensor_name(m, u)) < 0;
            if (rank == t) best = u;
        }
        memcpy(w + n, on_model_tensor_data(m, best), sizeof(float) * on_model_tensor_size(m, best));
        n += on_model_tensor_size(m, best);
    }
    return n;
}

/* Section 4: train two orders from one seed; same class -> identical weights. */
static void train_order(const char *block, float *w, size_t *nw) {
    char spec[256];
    snprintf(spec, sizeof spec, "input(8,8,1) conv2d(4,3,same) %s flatten dense(3)", block);
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    *nw = m ? train_model(m, w) : 0;
    CHECK(*nw > 0, "%s: %s", spec, m ? "compile failed" : err.msg);
    on_model_free(m);
}

static void check_training_classes(void) {
    static float a[8192], b[8192], c[8192];
    size_t na = 0, nb = 0, nc = 0;
    /* one class: relu moves past maxpool and dropout */
    train_order("batchnorm relu maxpool2d dropout(0.2)", a, &na);
    train_order("batchnorm maxpool2d dropout(0.2) relu", b, &nb);
    CHECK(na == nb && na && !memcmp(a, b, sizeof(float) * na),
          "two orders of one class train to bit-identical weights");
    /* another class: relu before batchnorm */
    train_order("relu batchnorm maxpool2d dropout(0.2)", c, &nc);
    CHECK(na == nc && memcmp(a, c, sizeof(float) * na), "orders of different classes differ");
}

/* ordnet train runs the cheapest member of the model's class: same weights, less work. */
static void check_reorder(void) {
    static float a[16384], b[16384];
    on_error err;
    on_model *m = on_model_from_spec("input(8,8,1) conv2d(4,3,same) bn relu maxpool dropout(0.2) "
                                     "conv2d(4,3,same) relu bn maxpool flatten dense(3)",
                                     &err);
    int changed = 0;
    on_model *r = m ? on_reorder_cheapest(m, 0, &changed, &err) : NULL;
    CHECK(r && changed, "the reference order has a cheaper equal member: %s", r ? "" : err.msg);
    if (!r) {
        on_model_free(m);
        return;
    }
    char *spec = on_model_to_spec(r);
    /* relu moves after the pool in block 1; in block 2 relu precedes train-mode bn: stays */
    CHECK(spec && strstr(spec, "maxpool2d relu") &&
              strstr(spec, "conv2d(4,padding=same) relu batchnorm"),
          "reordered: %s", spec);
    double f0 = 0, f1 = 0;
    for (int i = 1; i < on_model_num_nodes(m); i++)
        f0 += on_model_node_cost(m, i).flops_fwd + on_model_node_cost(m, i).flops_bwd;
    for (int i = 1; i < on_model_num_nodes(r); i++)
        f1 += on_model_node_cost(r, i).flops_fwd + on_model_node_cost(r, i).flops_bwd;
    CHECK(f1 < f0, "cheaper: %.0f -> %.0f FLOPs", f0, f1);
    size_t na = train_model(m, a), nb = train_model(r, b);
    CHECK(na && na == nb && !memcmp(a, b, sizeof(float) * na),
          "and trains to bit-identical weights");
    free(spec);
    on_model_free(m);
    on_model_free(r);
}

/* The default block's class counts of ORDERING.md section 4. */
static void check_block_classes(void) {
    on_error err;
    for (int infer = 0; infer < 2; infer++) {
        char *r = on_analyze_report(NULL, infer, 0, "bn,relu,maxpool,dropout(0.2)", 0, 0, &err);
        char want[64];
        snprintf(want, sizeof want, "24 orders -> %d %s classes", infer ? 2 : 12,
                 infer ? "inference" : "training");
        CHECK(r && strstr(r, want), "default block: want '%s'", want);
        free(r);
        /* an upsampling commutes with both, bn and relu do not: 4 classes in training (bn
         * also moves across it at inference, up to rounding: 2) */
        r = on_analyze_report(NULL, infer, 0, "bn,relu,upsample2d(2)", 0, 0, &err);
        snprintf(want, sizeof want, "6 orders -> %d %s classes", infer ? 2 : 4,
                 infer ? "inference" : "training");
        CHECK(r && strstr(r, want), "upsampling block: want '%s'", want);
        free(r);
    }
}

/* A MobileNet block (depthwise conv, BN, ReLU6, pointwise conv) and a transposed conv: the
 * analyzer treats them as linear maps (runs end there, BatchNorm after them folds), and
 * --block permutes a block placed after the depthwise conv. */
static void check_depthwise_report(void) {
    on_error err;
    on_model *m = on_model_from_spec("input(16,16,8) conv2d(8,3,padding=1,groups=8) bn relu6 "
                                     "conv2d(16,1) conv2d_transpose(4,2,stride=2) bn relu",
                                     &err);
    CHECK(m != NULL, "depthwise model: %s", m ? "" : err.msg);
    if (!m) return;
    for (int infer = 0; infer < 2; infer++) {
        char *r = on_analyze_report(m, infer, 0, NULL, 0, 0, &err);
        CHECK(r && strstr(r, "conv2d_transpose") && strstr(r, "groups=8"),
              "depthwise model report (%s): %s", infer ? "inference" : "training", r ? r : err.msg);
        free(r);
        r = on_analyze_report(m, infer, 0, "bn,relu6,maxpool", 0, 0, &err);
        CHECK(r && strstr(r, "6 orders ->") && strstr(r, "groups=8"),
              "depthwise block report (%s): %s", infer ? "inference" : "training", r ? r : err.msg);
        free(r);
    }
    on_model_free(m);
}

int main(void) {
    on_set_threads(1);
    /* the first layers' pairs, then every pair with a layer from "upsample2d" on (so that
     * the first pairs see the same random data as before those were added) */
    int first_new = 0;
    while (strcmp(layers[first_new], "upsample2d")) first_new++;
    for (int infer = 0; infer < 2; infer++)
        for (int a = 0; a < first_new; a++)
            for (int b = 0; b < first_new; b++) check_pair(a, b, infer);
    for (int infer = 0; infer < 2; infer++)
        for (int a = 0; a < NL; a++)
            for (int b = 0; b < NL; b++)
                if (a >= first_new || b >= first_new) check_pair(a, b, infer);
    printf("exact pairs: input gradients bit-identical in %d of %d\n", bit_exact_grads,
           exact_grads);
    check_block_classes();
    check_depthwise_report();
    check_training_classes();
    check_reorder();
    return check_done();
}
