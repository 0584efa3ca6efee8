/* test_optimize.c - on_optimize and on_verify_models.
 *
 * For every model below (random weights, BatchNorm with non-trivial running statistics):
 *   - the rewritten model's compact form is the one expected, and the original is unchanged;
 *   - run side by side on random inputs and a small data set (on_verify_models), outputs are
 *     bit-identical when every applied rewrite is exact by theory, and within 1e-5 relative
 *     when a BatchNorm was folded (rounding); a rewrite called exact that is not fails here;
 *   - the rewritten model is cheaper (forward FLOPs summed over on_model_node_cost), or equal
 *     when nothing applied;
 *   - it saves to a checkpoint and loads back to the same model, normalization included.
 * The reference block {bn relu maxpool dropout(0.2)} after conv2d(8,3,same) is tried in all
 * 24 orders, with every BatchNorm scale >= 0 (2 classes at inference, ORDERING.md section 4)
 * and with some negative scales (BatchNorm must then not cross the max-pool).
 */
#include "graph.h"
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng = 2024;
static float urand(void) { /* [0,1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0));
}

/* Default init, then BatchNorm statistics away from the identity; neg: some scales < 0. */
static void randomize(on_model *m, int neg) {
    on_model_init(m, 7);
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        int node = m->tensors[t].node;
        if (m->nodes[node].op != on_op_find("batchnorm")) continue;
        const char *pn = strrchr(on_model_tensor_name(m, t), '.') + 1;
        float *d = on_model_tensor_data(m, t);
        for (size_t c = 0; c < on_model_tensor_size(m, t); c++) {
            if (!strcmp(pn, "weight"))
                d[c] = (neg && c % 3 == 1 ? -1.0f : 1.0f) * (0.5f + urand());
            else if (!strcmp(pn, "bias"))
                d[c] = urand() - 0.5f;
            else if (!strcmp(pn, "running_mean"))
                d[c] = urand() - 0.5f;
            else
                d[c] = 0.5f + 1.5f * urand();
        }
    }
}

static double flops(const on_model *m) {
    double f = 0;
    for (int i = 1; i < on_model_num_nodes(m); i++) f += on_model_node_cost(m, i).flops_fwd;
    return f;
}

static unsigned long weights_sum(on_model *m) {
    unsigned long h = 5381;
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        const unsigned char *b = (const unsigned char *)on_model_tensor_data(m, t);
        for (size_t k = 0; k < on_model_tensor_size(m, t) * sizeof(float); k++) h = h * 33 + b[k];
    }
    return h;
}

/* A small data set of the model's input shape with values in [0,1). */
static on_dataset dataset(on_shape s, int n) {
    on_dataset d = {.n = n, .classes = 2, .shape = s};
    size_t S = on_shape_size(s);
    d.x = malloc(sizeof(float) * S * (size_t)n);
    d.y = calloc((size_t)n, sizeof(int));
    for (size_t i = 0; i < S * (size_t)n; i++) d.x[i] = urand();
    return d;
}

static int ncases;

/* Optimize spec; want: the expected compact form (NULL: unchanged). Returns the number of
 * rewrites applied, or -1. */
static int check_case(const char *spec, const char *want, int neg, int quiet) {
    on_error err;
    ncases++;
    on_model *m = on_model_from_spec(spec, &err);
    CHECK(m, "%s: %s", spec, m ? "" : err.msg);
    if (!m) return -1;
    randomize(m, neg);
    float mean[64], std[64];
    for (int c = 0; c < m->input.c && c < 64; c++)
        mean[c] = 0.4f + 0.01f * c, std[c] = 0.3f + 0.02f * c;
    on_model_set_normalization(m, mean, std);
    char *before = on_model_to_spec(m);
    unsigned long wsum = weights_sum(m);
    on_rewrite rw[32];
    int nrw = -1;
    on_model *o = on_optimize(m, rw, 32, &nrw, &err);
    CHECK(o, "%s: optimize failed: %s", spec, o ? "" : err.msg);
    if (!o) {
        free(before);
        on_model_free(m);
        return -1;
    }
    char *after = on_model_to_spec(o), *again = on_model_to_spec(m);
    const char *expect = want ? want : before;
    CHECK(!strcmp(after, expect), "%s%s:\n     got  %s\n     want %s", spec,
          neg ? " (negative BN scales)" : "", after, expect);
    CHECK(!strcmp(again, before) && weights_sum(m) == wsum, "%s: optimize changed its input", spec);
    int exact = 1;
    for (int k = 0; k < nrw; k++) exact &= rw[k].exact;
    if (!quiet) {
        printf("%s%s\n  -> %s   (%.0f -> %.0f FLOPs)\n", spec, neg ? "   [negative BN scales]" : "",
               after, flops(m), flops(o));
        for (int k = 0; k < nrw; k++)
            printf("     %-8s %s\n", rw[k].exact ? "exact" : "rounding", rw[k].what);
    }
    /* equal outputs: random inputs and data normalized by each model's statistics */
    on_dataset d = dataset(m->input, 40);
    on_verify v;
    int rc = on_verify_models(m, o, &d, 40, &v, &err);
    CHECK(rc == 0, "%s: verify failed: %s", spec, rc ? err.msg : "");
    CHECK(v.samples == 64 + 40, "%s: %d samples compared", spec, v.samples);
    if (exact)
        CHECK(v.bit_identical && v.max_abs == 0,
              "%s: every rewrite is exact by theory, yet outputs differ (max abs %g)", spec,
              v.max_abs);
    else
        CHECK(v.max_rel < 1e-5, "%s: a BatchNorm fold changed outputs by %g relative", spec,
              v.max_rel);
    /* cheaper, or the same model when nothing applied */
    if (nrw > 0)
        CHECK(flops(o) < flops(m), "%s: %.0f -> %.0f FLOPs", spec, flops(m), flops(o));
    else
        CHECK(flops(o) == flops(m) && !strcmp(after, before), "%s: no rewrite, yet it changed",
              spec);
    const float *mu, *sd;
    CHECK(on_model_normalization(o, &mu, &sd) && mu[0] == mean[0] && sd[0] == std[0],
          "%s: normalization lost", spec);
    /* checkpoint round trip */
    char path[128];
    snprintf(path, sizeof path, "/tmp/ordnet_test_optimize_%d.safetensors", (int)getpid());
    rc = on_checkpoint_save(o, path, NULL, &err);
    CHECK(rc == 0, "%s: save: %s", spec, rc ? err.msg : "");
    on_model *l = rc ? NULL : on_checkpoint_load(path, NULL, &err);
    CHECK(l, "%s: load: %s", spec, l ? "" : err.msg);
    if (l) {
        char *ls = on_model_to_spec(l);
        CHECK(!strcmp(ls, after), "%s: loaded %s", spec, ls);
        on_verify v2;
        rc = on_verify_models(o, l, &d, 40, &v2, &err);
        CHECK(rc == 0 && v2.bit_identical, "%s: loaded model differs", spec);
        CHECK(on_model_normalization(l, &mu, &sd) && mu[0] == mean[0], "%s: loaded normalization",
              spec);
        free(ls);
        on_model_free(l);
    }
    remove(path);
    on_dataset_free(&d);
    free(before);
    free(after);
    free(again);
    on_model_free(m);
    on_model_free(o);
    return nrw;
}

/* The reference block in all 24 orders. Expected forms by the order of bn, relu, maxpool
 * once dropout is gone. */
static void reference_orders(void) {
    static const char *const tok[4] = {"bn", "relu", "maxpool", "dropout(0.2)"};
    static const char *const head = "input(28,28,1) conv2d(8,padding=same)";
    /* order of {b,r,m} -> result with scales >= 0, with some scales < 0 */
    static const char *const table[6][3] = {
        {"brm", " maxpool2d relu", " maxpool2d relu"},                     /* fold, swap */
        {"bmr", " maxpool2d relu", " maxpool2d relu"},                     /* fold */
        {"rbm", " maxpool2d relu batchnorm", " relu batchnorm maxpool2d"}, /* 2 swaps / none */
        {"rmb", " maxpool2d relu batchnorm", " maxpool2d relu batchnorm"}, /* swap */
        {"mbr", " maxpool2d relu", " maxpool2d batchnorm relu"}, /* move bn back, fold / none */
        {"mrb", " maxpool2d relu batchnorm", " maxpool2d relu batchnorm"},
    };
    int classes_seen[2][6] = {{0}};
    for (int neg = 0; neg < 2; neg++)
        for (int p = 0; p < 24; p++) {
            int perm[4], used[4] = {0}, r = p;
            for (int k = 0; k < 4; k++) { /* the p-th permutation (factorial number system) */
                int f = k == 0 ? 6 : k == 1 ? 2 : 1, idx = r / f, c = -1;
                r %= f;
                for (int j = 0; j < 4; j++)
                    if (!used[j] && idx-- == 0) {
                        c = j;
                        break;
                    }
                used[c] = 1;
                perm[k] = c;
            }
            char spec[256], key[4] = "", want[256];
            int nk = 0;
            snprintf(spec, sizeof spec, "input(28,28,1) conv2d(8,3,same)");
            for (int k = 0; k < 4; k++) {
                snprintf(spec + strlen(spec), sizeof spec - strlen(spec), " %s", tok[perm[k]]);
                if (perm[k] < 3) key[nk++] = "brm"[perm[k]];
            }
            key[3] = 0;
            int row = -1;
            for (int t = 0; t < 6; t++)
                if (!strcmp(table[t][0], key)) row = t;
            snprintf(want, sizeof want, "%s%s", head, table[row][1 + neg]);
            int n = check_case(spec, want, neg, !(p == 0 || (neg && p == 8)));
            CHECK(n >= 1, "%s: dropout at least is removed", spec);
            classes_seen[neg][row] = 1;
        }
    /* every order of bn, relu, maxpool met, in both weight modes; with scales >= 0 they end
     * in two models (bn before or after relu), as ORDERING.md section 4 says */
    int seen = 0, distinct = 0;
    for (int t = 0; t < 6; t++) {
        seen += classes_seen[0][t] + classes_seen[1][t];
        int first = 1;
        for (int u = 0; u < t; u++) first &= strcmp(table[u][1], table[t][1]) != 0;
        distinct += first;
    }
    CHECK(seen == 12 && distinct == 2, "%d of 12 orders met, %d inference classes", seen, distinct);
}

/* on_verify_models itself: it sees a changed weight, refuses mismatched models. */
static void verify_itself(void) {
    on_error err;
    on_model *a = on_model_from_spec("input(8,8,2) conv2d(4,3) relu maxpool", &err);
    on_model *b = on_model_from_spec("input(8,8,2) conv2d(4,3) relu maxpool", &err);
    on_model *c = on_model_from_spec("input(8,8,3) conv2d(4,3) relu maxpool", &err);
    on_model_init(a, 3);
    on_model_init(b, 3);
    on_model_init(c, 3);
    on_verify v;
    CHECK(on_verify_models(a, b, NULL, 0, &v, &err) == 0 && v.bit_identical && v.samples == 64,
          "same models differ");
    on_model_tensor_data(b, 0)[5] += 1e-3f;
    CHECK(on_verify_models(a, b, NULL, 0, &v, &err) == 0 && !v.bit_identical && v.max_abs > 0 &&
              v.max_rel > 0 && v.max_rel < 1,
          "a changed weight is not seen (max abs %g)", v.max_abs);
    CHECK(on_verify_models(a, c, NULL, 0, &v, &err) == -1 && strstr(err.msg, "input shapes"),
          "different inputs accepted: %s", err.msg);
    on_dataset d = dataset((on_shape){3, 1, 4, 4}, 5);
    CHECK(on_verify_models(a, b, &d, 5, &v, &err) == -1 && strstr(err.msg, "data"),
          "data of another shape accepted: %s", err.msg);
    on_dataset_free(&d);
    /* a model compiled before keeps its batch size */
    CHECK(on_model_compile(a, 7, &err) == 0, "compile");
    on_verify_models(a, b, NULL, 0, &v, &err);
    CHECK(a->batch == 7, "verify left batch %d", a->batch);
    on_model_free(a);
    on_model_free(b);
    on_model_free(c);
}

/* max_rw caps the list; the rewritten model does not depend on it. */
static void rewrite_list(void) {
    on_error err;
    on_model *m =
        on_model_from_spec("input(28,28,1) conv2d(8,3,same) relu bn maxpool dropout(0.2)", &err);
    randomize(m, 0);
    on_rewrite rw[2];
    int n = -1;
    on_model *o1 = on_optimize(m, rw, 2, &n, &err), *o2 = on_optimize(m, NULL, 0, NULL, &err);
    CHECK(o1 && o2 && n == 2, "max_rw = 2 gave %d", n);
    char *s1 = on_model_to_spec(o1), *s2 = on_model_to_spec(o2);
    CHECK(!strcmp(s1, s2), "%s vs %s", s1, s2);
    CHECK(strstr(rw[0].what, "dropout") && rw[0].exact, "first rewrite: %s", rw[0].what);
    free(s1);
    free(s2);
    on_model_free(o1);
    on_model_free(o2);
    /* a conv without bias gets one */
    on_model_free(m);
    m = on_model_from_spec("input(8,8,3) conv2d(4,3,bias=0) bn relu", &err);
    randomize(m, 1);
    o1 = on_optimize(m, rw, 2, &n, &err);
    CHECK(o1 && on_model_tensor_find(o1, "conv2d.bias") >= 0 &&
              on_model_tensor_find(m, "conv2d.bias") < 0,
          "the folded conv has no bias");
    CHECK(n == 1 && !rw[0].exact && strstr(rw[0].what, "bias"), "fold rewrite: %s",
          n ? rw[0].what : "");
    on_model_free(o1);
    on_model_free(m);
    CHECK(!on_optimize(NULL, NULL, 0, NULL, &err), "NULL model accepted");
}

int main(void) {
    on_set_threads(1); /* results do not depend on it; one thread is fastest for these sizes */
    reference_orders();
    static const struct {
        const char *spec, *want;
        int neg;
    } cases[] = {
        /* BatchNorm folded into conv (no bias: it gets one), conv1d and dense */
        {"input(8,8,3) conv2d(4,3,bias=0) bn relu", "input(8,8,3) conv2d(4) relu", 1},
        {"input(16) dense(8) bn relu dense(4)", "input(16) dense(8) relu dense(4)", 0},
        {"input(16) dense(8,bias=0) bn tanh dense(4)", "input(16) dense(8) tanh dense(4)", 1},
        {"input(32,3) conv1d(4,3) bn relu maxpool dropout(0.5)",
         "input(32,3) conv1d(4) maxpool1d relu", 0},
        /* ... into grouped, depthwise and transposed convs (whose weights are C x F/G x kh x kw:
         * the output channel is their second dimension) */
        {"input(8,8,4) conv2d(6,3,same,groups=2) bn tanh",
         "input(8,8,4) conv2d(6,padding=same,groups=2) tanh", 1},
        {"input(8,8,4) conv2d(4,3,groups=4,bias=0) bn relu6 conv2d(6,1) bn relu",
         "input(8,8,4) conv2d(4,groups=4) relu6 conv2d(6,1) relu", 1},
        {"input(9,9,3) conv2d(6,3,stride=2,padding=1,groups=3) bn relu",
         "input(9,9,3) conv2d(6,stride=2,padding=1,groups=3) relu", 1},
        {"input(6,6,4) conv2d_transpose(6,3,stride=2,padding=1,output_padding=1,groups=2,bias=0) "
         "bn relu",
         "input(6,6,4) conv2d_transpose(6,stride=2,padding=1,output_padding=1,groups=2) relu", 1},
        {"input(5,5,3) conv2d_transpose(4,4,stride=2,padding=1) bn",
         "input(5,5,3) conv2d_transpose(4,4,2,1)", 1},
        {"input(10,4) conv1d_transpose(4,3,stride=2,groups=4) bn",
         "input(10,4) conv1d_transpose(4,stride=2,groups=4)", 1},
        /* ... through a concatenation of convs, per input (its channels split by the
         * concatenation's ranges; along the width each input gets all of it); not when an
         * input is not a conv, or the concatenation or a conv has another reader (DenseNet's
         * reused features) */
        {"input(8,8,3) conv2d(4,3,same,name=a) conv2d(6,1,name=b,from=input) concat(b,from=a) bn "
         "relu",
         "input(8,8,3) conv2d(4,padding=same,name=a) conv2d(6,1,name=b,from=input) "
         "concat(b,from=a) relu",
         1},
        {"input(8,8,4) conv2d(4,3,padding=1,groups=4,bias=0,name=a) "
         "conv2d_transpose(6,3,padding=1,groups=2,name=b,from=input) conv2d(2,1,name=c,from=input) "
         "concat(b,c,from=a) bn relu6",
         "input(8,8,4) conv2d(4,padding=1,groups=4,name=a) "
         "conv2d_transpose(6,padding=1,groups=2,name=b,from=input) conv2d(2,1,name=c,from=input) "
         "concat(b,c,from=a) relu6",
         0},
        {"input(8,8,3) conv2d(4,3,same,name=a) conv2d(4,1,name=b,from=input) "
         "concat(b,from=a,axis=2) "
         "bn",
         "input(8,8,3) conv2d(4,padding=same,name=a) conv2d(4,1,name=b,from=input) "
         "concat(2,b,from=a)",
         1},
        {"input(8,8,4) conv2d(4,3,same,name=a) concat(input,from=a) bn", NULL, 0},
        {"input(8,8,4) conv2d(4,3,same,name=a) conv2d(4,1,name=b,from=input) "
         "concat(b,from=a,name=cat) "
         "bn conv2d(8,1) add(cat)",
         NULL, 0},
        {"input(8,8,4) conv2d(4,3,same,name=a) conv2d(4,1,name=b,from=input) concat(b,from=a) bn "
         "conv2d(4,1) add(a)",
         NULL, 0},
        /* BatchNorm moved back through pools to a conv, then folded (scales >= 0 only) */
        {"input(12,12,3) conv2d(4,3,same) maxpool maxpool bn relu",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d(4) relu", 0},
        {"input(12,12,3) conv2d(4,3,same) maxpool(3,2) bn relu",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d(3,2) relu", 0},
        {"input(12,12,3) conv2d(4,3,same) maxpool(3,2) bn relu", NULL, 1},
        {"input(12,12,3) conv2d(4,3,same) avgpool bn relu", NULL, 0}, /* rounding: not moved */
        /* BatchNorm next to a max-pool: swapped only when every scale >= 0 */
        {"input(12,12,3) bn maxpool", "input(12,12,3) maxpool2d batchnorm", 0},
        {"input(12,12,3) bn maxpool", NULL, 1},
        {"input(12,12,3) bn avgpool", NULL, 0}, /* rounding: not applied */
        /* activations next to a max-pool: monotone ones swap, others never */
        {"input(12,12,3) conv2d(4,3,same) leaky_relu(-0.2) maxpool", NULL, 0},
        {"input(12,12,3) conv2d(4,3,same) leaky_relu(0.1) maxpool",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d leaky_relu(0.1)", 0},
        {"input(12,12,3) conv2d(4,3,same) gelu maxpool", NULL, 0},
        {"input(12,12,3) conv2d(4,3,same) silu maxpool", NULL, 0},
        {"input(12,12,3) conv2d(4,3,same) mish maxpool", NULL, 0},
        {"input(12,12,3) conv2d(4,3,same) relu avgpool", NULL, 0},
        {"input(12,12,3) conv2d(4,3,same) tanh maxpool",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d tanh", 0},
        {"input(12,12,3) conv2d(4,3,same) sigmoid maxpool",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d sigmoid", 0},
        {"input(12,12,3) conv2d(4,3,same) elu minpool",
         "input(12,12,3) conv2d(4,padding=same) minpool2d elu", 0},
        {"input(12,12,3) conv2d(4,3,same) relu6 maxpool(3,2)",
         "input(12,12,3) conv2d(4,padding=same) maxpool2d(3,2) relu6", 0},
        {"input(12,12,3) relu maxpool(3,1,same)", NULL, 0}, /* no smaller: no gain */
        {"input(12,12,3) prelu maxpool", "input(12,12,3) maxpool2d prelu", 0}, /* slopes 0.25 */
        /* global max-pool first; elementwise layers before nearest upsampling and zero
         * padding (bilinear upsampling, sigmoid next to padding: not moved) */
        {"input(8,8,3) conv2d(4,3,same) relu global_maxpool dense(2)",
         "input(8,8,3) conv2d(4,padding=same) global_maxpool relu dense(2)", 0},
        {"input(8,8,3) conv2d(4,3,same) gelu global_maxpool dense(2)", NULL, 0},
        {"input(6,6,3) conv2d(4,3,same) upsample2d(2) bn relu zeropad2d(1) leaky_relu(0.1)",
         "input(6,6,3) conv2d(4,padding=same) relu leaky_relu(0.1) upsample2d zeropad2d(1)", 0},
        {"input(6,6,3) conv2d(4,3,same) upsample2d(2,bilinear) relu", NULL, 0},
        {"input(6,6,3) conv2d(4,3,same) zeropad2d(1) sigmoid", NULL, 0},
        /* idempotent repeats */
        {"input(8,8,2) conv2d(4,3) relu relu relu", "input(8,8,2) conv2d(4) relu", 0},
        {"input(8,8,2) hardtanh(-0.5,2) hardtanh(-0.5,2) relu6 relu6",
         "input(8,8,2) hardtanh(-0.5,2) relu6", 0},
        {"input(8,8,2) hardtanh(-0.5,2) hardtanh(-1,1) relu relu6 tanh tanh", NULL, 0},
        /* tiling pools */
        {"input(16,16,2) conv2d(4,3,same) maxpool maxpool",
         "input(16,16,2) conv2d(4,padding=same) maxpool2d(4)", 0},
        {"input(12,12,3) relu minpool minpool", "input(12,12,3) minpool2d(4) relu", 0},
        {"input(32,3) conv1d(4,3) maxpool maxpool(3)", "input(32,3) conv1d(4) maxpool1d(6)", 0},
        {"input(16,16,2) maxpool(3,2) maxpool", NULL, 0},      /* overlapping windows */
        {"input(16,16,2) maxpool minpool", NULL, 0},           /* different extremes */
        {"input(14,14,2) maxpool maxpool(2,2,same)", NULL, 0}, /* 7 is odd: padded */
        {"input(16,16,2) avgpool avgpool", NULL, 0},           /* averages: rounding */
        /* identities */
        {"input(8,8,2) conv2d(4,3) identity relu dropout", "input(8,8,2) conv2d(4) relu", 0},
        {"input(8,8,2) leaky_relu(1) relu", "input(8,8,2) relu", 0},
        {"input(4) dropout", "input(4)", 0},
        /* the random augmentation layers are the identity at inference */
        {"input(8,8,3) random_flip random_translation(0.1,0.2) random_rotation(0.1) "
         "random_zoom(0.2) random_contrast(0.3) conv2d(4,3) relu",
         "input(8,8,3) conv2d(4) relu", 0},
        {"input(8,8,2) conv2d(4,3) relu tanh(from=conv2d) relu(from=relu)",
         "input(8,8,2) conv2d(4) relu", 0}, /* a dead branch, a repeat through from= */
        /* residual blocks: the adds survive; shared outputs are neither moved nor folded */
        {"input(16,16,4) conv2d(8,3,same) bn relu conv2d(8,3,same) bn add(relu) relu maxpool "
         "dropout(0.1) flatten dense(10)",
         "input(16,16,4) conv2d(8,padding=same) relu conv2d(8,padding=same) add(relu) maxpool2d "
         "relu "
         "flatten dense(10)",
         0},
        {"input(8,8,4) conv2d(4,3,same) bn add(conv2d)", NULL, 0},
        {"input(8,8,4) relu maxpool maxpool(from=relu) add(maxpool2d)", NULL, 0},
        {"input(8,8,4) conv2d(4,3,same) relu conv2d(4,3,same,from=relu) add(relu) relu relu "
         "maxpool",
         "input(8,8,4) conv2d(4,padding=same) relu conv2d(4,padding=same) add(relu) maxpool2d relu",
         0},
        {"input(8,8,4) conv2d(4,3,same) relu maxpool conv2d(4,3,same,name=side,from=relu) maxpool "
         "add(maxpool2d) dropout",
         "input(8,8,4) conv2d(4,padding=same) relu maxpool2d "
         "conv2d(4,padding=same,name=side,from=relu) "
         "maxpool2d add(maxpool2d)",
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(cases[i].spec, cases[i].want, cases[i].neg, 0);
    verify_itself();
    rewrite_list();
    printf("%d models optimized\n", ncases);
    return check_done();
}
