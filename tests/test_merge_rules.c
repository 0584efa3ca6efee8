/* test_merge_rules.c - every rule across a merge tried on random tensors.
 *
 * For every merge of a list (concat along channels and along the width, add, subtract,
 * average, multiply, divide, maximum, minimum; with tensors of unknown sign, tensors >= 0,
 * per-channel gates >= 0 with exact zeros, a sigmoid gate as squeeze-and-excitation has,
 * and a gate of unknown sign) and every layer f of a list that covers each kind of op, in
 * training and at inference, the analyzer's verdict (on_merge_commute, weights known) is
 * checked against the two models
 *     branches -> merge -> f            and      branches -> f on each input -> merge
 * built as the verdict's plan says (f only on the inputs it names, per-channel parameters
 * split by the concatenation's channel ranges, the shift on the first input only, maximum
 * and minimum swapped), on the same random inputs and weights:
 *   exact             -> outputs bit-identical and input gradients equal to 1e-6;
 *   exact-with-change -> bit-identical after the change;
 *   rounding          -> equal to 1e-5 relative;
 *   never             -> a counterexample (or the second model does not build).
 * The branches are 1x1 convolutions with weights in {-1, 0, 1} on inputs that are
 * multiples of 1/4, so the merged tensors hold ties, exact zeros of both signs and negative
 * values; one draw adds special values (subnormals, +-1e15, -0). A verdict given without
 * weights must agree with the one given with them (conditional becomes exact or never).
 */
#include "analyze/analyze.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 99;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

/* The branches: b1, b2 of unknown sign, b3 = relu(...) >= 0, b4 = sigmoid(...) > 0, the
 * gates g >= 0 (with exact zeros), s (a sigmoid of a global average: SE) and gs (unknown
 * sign). */
static const char *const prefix =
    "input(5,7,4) conv2d(3,1,bias=0,name=b1) conv2d(3,1,bias=0,name=b2,from=input) "
    "conv2d(3,1,bias=0,name=b3x,from=input) relu(name=b3) conv2d(3,1,bias=0,name=b4x,from=input) "
    "sigmoid(name=b4) global_avgpool(from=b1,name=gs) relu(name=g) "
    "global_avgpool(from=b2) sigmoid(name=s)";

static const struct {
    const char *op, *in[3], *extra;
} merges[] = {
    {"concat", {"b1", "b2", "b3"}, NULL},
    {"concat", {"b1", "b4"}, "axis=2"},
    {"add", {"b1", "b2"}, NULL},
    {"add", {"b1", "b2", "b3"}, NULL},
    {"add", {"b3", "b4"}, NULL}, /* both >= 0 */
    {"add", {"b1", "gs"}, NULL}, /* a per-channel shift */
    {"subtract", {"b1", "b2"}, NULL},
    {"average", {"b1", "b2", "b3"}, NULL},
    {"multiply", {"b1", "b2"}, NULL},
    {"multiply", {"b1", "b3"}, NULL}, /* a factor >= 0 */
    {"multiply", {"b1", "g"}, NULL},  /* a gate >= 0 with zeros */
    {"multiply", {"b1", "s"}, NULL},  /* squeeze-and-excitation */
    {"multiply", {"b1", "gs"}, NULL}, /* a gate of unknown sign */
    {"maximum", {"b1", "b2"}, NULL},
    {"maximum", {"b1", "b2", "gs"}, NULL},
    {"minimum", {"b1", "b2"}, NULL},
    {"maximum", {"b1", "gs"}, NULL},
    {"divide", {"b1", "b4"}, NULL},
    {"divide", {"b1", "b3"}, NULL}, /* a divisor >= 0 with zeros */
};
#define NM (int)(sizeof merges / sizeof merges[0])

/* "@pos"/"@neg"/"@lin" weight variants as in test_rules; "dwconv" is a depthwise 3x3
 * convolution over the merge's channels. */
static const char *const layers[] = {
    "relu",
    "leaky_relu(0.1)",
    "leaky_relu(-0.3)",
    "prelu@pos",
    "prelu@neg",
    "tanh",
    "sigmoid",
    "hard_sigmoid(-0.3,0.1)",
    "hard_swish",
    "gelu",
    "relu6",
    "softsign",
    "batchnorm@pos",
    "batchnorm@neg",
    "batchnorm@lin",
    "rescaling(1.7,-0.5)",
    "rescaling(2)",
    "rescaling(-1)",
    "identity",
    "dropout(0.3)",
    "spatial_dropout2d(0.3)",
    "gaussian_noise(0.5)",
    "maxpool2d",
    "maxpool2d(3,2,1)",
    "minpool2d",
    "avgpool2d",
    "avgpool2d(3,1,1)",
    "upsample2d",
    "upsample2d(2,bilinear)",
    "zeropad2d(1)",
    "crop2d(1)",
    "global_maxpool",
    "flatten",
    "permute((0,2,1))",
    "conv2d(4,3,padding=1)",
    "dwconv",
    "layernorm",
    "layernorm(axis=0)",
};
#define NL (int)(sizeof layers / sizeof layers[0])

/* tok with extra arguments appended */
static void with_args(const char *tok, const char *extra, char *out, size_t len) {
    size_t n = strlen(tok);
    if (n && tok[n - 1] == ')')
        snprintf(out, len, "%.*s,%s)", (int)(n - 1), tok, extra);
    else
        snprintf(out, len, "%s(%s)", tok, extra);
}

static on_model *build(const char *spec) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m && on_model_compile(m, 2, &err)) {
        on_model_free(m);
        return NULL;
    }
    if (m) on_model_want_input_grad(m, 1), on_model_compile(m, 2, &err);
    return m;
}

/* Branch weights in {-1, 0, 1}; f's weights by variant (as test_rules). */
static void set_weights(on_model *m, const char *var) {
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        const char *nm = on_model_tensor_name(m, t);
        float *d = on_model_tensor_data(m, t);
        size_t n = on_model_tensor_size(m, t);
        uint64_t save = rng;
        rng = 5000 + (uint64_t)t;
        int branch = nm[0] == 'b';
        for (size_t j = 0; j < n; j++) {
            float r = frand();
            if (branch)
                d[j] = roundf(r * 1.4f); /* -1, 0, 1 */
            else if (strstr(nm, "running_var"))
                d[j] = 0.5f + r * r;
            else if (strstr(nm, "running_mean"))
                d[j] = !strcmp(var, "lin") ? 0 : 0.5f * r;
            else if (strstr(nm, ".bias"))
                d[j] = !strcmp(var, "lin") ? 0 : 0.5f * r;
            else if (!strcmp(var, "neg"))
                d[j] = j == 1 ? -0.3f - fabsf(r) : 0.3f + fabsf(r);
            else
                d[j] = 0.2f + fabsf(r);
        }
        rng = save;
    }
}

typedef struct outcome {
    int same_shape, bitsame;
    double maxdiff, graddiff;
} outcome;

/* |a - b|: 0 for the same bits or two NaNs, infinite when only one is finite or a NaN */
static double differ(float a, float b) {
    if (!memcmp(&a, &b, sizeof a) || (a != a && b != b)) return 0;
    if (!isfinite(a) || !isfinite(b)) return INFINITY;
    return fabs((double)a - b);
}

static outcome run_both(on_model *m1, on_model *m2, int train) {
    outcome o = {.bitsame = 1};
    on_shape s1 = on_model_output_shape(m1), s2 = on_model_output_shape(m2);
    o.same_shape = s1.rank == s2.rank && s1.c == s2.c && s1.h == s2.h && s1.w == s2.w;
    if (!o.same_shape) return o;
    size_t in = 2 * on_shape_size(on_model_node_shape(m1, 0)), out = 2 * on_shape_size(s1);
    float *x = malloc(sizeof(float) * in), *dy = malloc(sizeof(float) * out);
    float *y1 = malloc(sizeof(float) * out), *g1 = malloc(sizeof(float) * in);
    static const float special[] = {0.0f, -0.0f, 1e-40f, -1e-40f, 1e15f, -1e15f, 0.25f, -2.0f};
    for (int draw = 0; draw < 6; draw++) {
        for (size_t i = 0; i < in; i++)
            x[i] = draw == 5   ? -fabsf(roundf(frand() * 12) / 4) /* the dips of GELU, ... */
                   : draw == 4 ? special[(i * 7 + i / 5) % 8]
                   : draw == 3 ? 8 * frand()
                               : roundf(frand() * 12) / 4;
        for (size_t i = 0; i < out; i++) dy[i] = frand();
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
            if (isfinite(y1[i])) my = fmax(my, fabs(y1[i]));
            dd = fmax(dd, differ(y1[i], y2[i]));
        }
        for (size_t i = 0; i < in; i++) {
            if (isfinite(g1[i])) mg = fmax(mg, fabs(g1[i]));
            dg = fmax(dg, differ(g1[i], g2[i]));
        }
        o.maxdiff = fmax(o.maxdiff, dd / my);
        o.graddiff = fmax(o.graddiff, dg / mg);
        o.bitsame &= !memcmp(y1, y2, sizeof(float) * out);
    }
    free(x);
    free(dy);
    free(y1);
    free(g1);
    return o;
}

static int counts[ON_NEVER + 1], rounding_bits;

/* f's tensors into the copy on input k (channels [off, off + c) of total when split), the
 * shift removed when asked. */
static void copy_f(on_model *m2, on_model *m1, int k, int off, int c, int total, int split,
                   int noshift) {
    for (int t = 0; t < on_model_num_tensors(m1); t++) {
        const char *nm = on_model_tensor_name(m1, t);
        if (strncmp(nm, "f.", 2)) continue;
        char want[64];
        snprintf(want, sizeof want, "f_%d.%s", k, nm + 2);
        int u = on_model_tensor_find(m2, want);
        if (u < 0) continue;
        size_t n1 = on_model_tensor_size(m1, t), n2 = on_model_tensor_size(m2, u);
        size_t per = split ? n1 / (size_t)total : 0;
        const float *src = on_model_tensor_data(m1, t) + (split ? per * (size_t)off : 0);
        if (n2 == (split ? per * (size_t)c : n1))
            memcpy(on_model_tensor_data(m2, u), src, sizeof(float) * n2);
        if (noshift && !strcmp(nm + 2, "bias"))
            memset(on_model_tensor_data(m2, u), 0, sizeof(float) * n2);
    }
    if (!noshift) return;
    /* BatchNorm without shift: beta = mean gamma / sqrt(var + eps) */
    char nb[64];
    snprintf(nb, sizeof nb, "f_%d.running_mean", k);
    int um = on_model_tensor_find(m2, nb);
    if (um < 0) return;
    snprintf(nb, sizeof nb, "f_%d.weight", k);
    const float *gam = on_model_tensor_data(m2, on_model_tensor_find(m2, nb));
    snprintf(nb, sizeof nb, "f_%d.running_var", k);
    const float *var = on_model_tensor_data(m2, on_model_tensor_find(m2, nb));
    snprintf(nb, sizeof nb, "f_%d.bias", k);
    float *beta = on_model_tensor_data(m2, on_model_tensor_find(m2, nb));
    const float *mean = on_model_tensor_data(m2, um);
    for (size_t j = 0; j < on_model_tensor_size(m2, um); j++)
        beta[j] = mean[j] * (gam[j] / sqrtf(var[j] + 1e-5f));
}

/* "rescaling(s,b)" -> "rescaling(s)": the map without its shift */
static void drop_offset(char *tok) {
    if (strncmp(tok, "rescaling(", 10)) return;
    char *comma = strchr(tok, ',');
    if (comma) strcpy(comma, ")");
}

static void check_case(int im, int il, int infer) {
    rng = 4242 + (uint64_t)infer + 131 * (uint64_t)im + 7919 * (uint64_t)il;
    char tok[96], *at;
    snprintf(tok, sizeof tok, "%s", layers[il]);
    const char *var = "";
    if ((at = strchr(tok, '@'))) *at = 0, var = at + 1;
    int nin = merges[im].in[2] ? 3 : 2;
    /* the merge token */
    char mt[256], spec[2048];
    snprintf(mt, sizeof mt, "%s(", merges[im].op);
    for (int k = 1; k < nin; k++)
        snprintf(mt + strlen(mt), sizeof mt - strlen(mt), "%s,", merges[im].in[k]);
    snprintf(mt + strlen(mt), sizeof mt - strlen(mt), "from=%s,name=m%s%s)", merges[im].in[0],
             merges[im].extra ? "," : "", merges[im].extra ? merges[im].extra : "");
    snprintf(spec, sizeof spec, "%s %s", prefix, mt);
    on_model *m0 = build(spec);
    CHECK(m0 != NULL, "merge %s does not build", mt);
    if (!m0) return;
    int C = on_model_output_shape(m0).c;
    on_model_free(m0);
    if (!strcmp(tok, "dwconv")) snprintf(tok, sizeof tok, "conv2d(%d,3,padding=1,groups=%d)", C, C);
    char ft[160];
    with_args(tok, "name=f", ft, sizeof ft);
    snprintf(spec, sizeof spec, "%s %s %s", prefix, mt, ft);
    on_model *m1 = build(spec);
    if (!m1) return; /* f does not fit the merge (flatten then pool...) */
    set_weights(m1, var);
    int im1 = on_model_num_nodes(m1) - 2, if1 = im1 + 1;
    on_merge_view mv = on_merge_view_of(m1, im1);
    float *pb[4];
    on_layer_view fk = on_view_of(m1, if1, 1, pb), fu = on_view_of(m1, if1, 0, pb);
    on_merge_plan plan, plan_u;
    on_verdict known = on_merge_commute(&mv, &fk, infer, &plan);
    on_verdict unknown = on_merge_commute(&mv, &fu, infer, &plan_u);
    char what[400];
    snprintf(what, sizeof what, "%s then %s (%s): %s", mt, layers[il], infer ? "infer" : "train",
             on_verdict_name(known.kind));
    counts[known.kind]++;
    if (getenv("SHOW")) printf("%s | %s\n", what, known.reason); /* the verdicts, for a look */
    CHECK(known.kind != ON_CONDITIONAL, "%s: a verdict with weights stays conditional", what);
    if (unknown.kind == ON_EXACT || unknown.kind == ON_ROUNDING || unknown.kind == ON_NEVER)
        CHECK(known.kind == unknown.kind, "%s: without weights it was %s", what,
              on_verdict_name(unknown.kind));
    /* the distributed model */
    char spec2[4096], names[3][32];
    snprintf(spec2, sizeof spec2, "%s", prefix);
    int first = -1, off = 0, offs[3];
    for (int k = 0; k < nin; k++) {
        offs[k] = off;
        off += mv.xs[k].c;
        snprintf(names[k], sizeof names[k], "%s", merges[im].in[k]);
        if (!plan.apply[k]) continue;
        char t2[128], extra[64], t3[200];
        snprintf(t2, sizeof t2, "%s", tok);
        if (plan.shift_once && first >= 0) drop_offset(t2);
        if (first < 0) first = k;
        snprintf(extra, sizeof extra, "name=f_%d,from=%s", k, merges[im].in[k]);
        with_args(t2, extra, t3, sizeof t3);
        if (plan.split && strstr(t2, "groups=")) /* the depthwise copy: the input's channels */
            snprintf(t3, sizeof t3, "conv2d(%d,3,padding=1,groups=%d,name=f_%d,from=%s)",
                     mv.xs[k].c, mv.xs[k].c, k, merges[im].in[k]);
        snprintf(spec2 + strlen(spec2), sizeof spec2 - strlen(spec2), " %s", t3);
        snprintf(names[k], sizeof names[k], "f_%d", k);
    }
    const char *op = merges[im].op;
    if (plan.flip) op = !strcmp(op, "maximum") ? "minimum" : "maximum";
    snprintf(spec2 + strlen(spec2), sizeof spec2 - strlen(spec2), " %s(", op);
    for (int k = 1; k < nin; k++)
        snprintf(spec2 + strlen(spec2), sizeof spec2 - strlen(spec2), "%s,", names[k]);
    snprintf(spec2 + strlen(spec2), sizeof spec2 - strlen(spec2), "from=%s,name=m%s%s)", names[0],
             merges[im].extra ? "," : "", merges[im].extra ? merges[im].extra : "");
    on_model *m2 = build(spec2);
    if (!m2) {
        CHECK(known.kind == ON_NEVER, "%s: the distributed model does not build: %s", what, spec2);
        on_model_free(m1);
        return;
    }
    for (int t = 0; t < on_model_num_tensors(m1); t++) { /* the branches */
        int u = on_model_tensor_find(m2, on_model_tensor_name(m1, t));
        if (u >= 0 && on_model_tensor_size(m2, u) == on_model_tensor_size(m1, t))
            memcpy(on_model_tensor_data(m2, u), on_model_tensor_data(m1, t),
                   sizeof(float) * on_model_tensor_size(m1, t));
    }
    for (int k = 0; k < nin; k++)
        if (plan.apply[k])
            copy_f(m2, m1, k, offs[k], mv.xs[k].c, off, plan.split, plan.shift_once && k != first);
    outcome o = run_both(m1, m2, !infer);
    if (!o.same_shape) {
        CHECK(known.kind == ON_NEVER, "%s: the two forms give different shapes", what);
    } else if (known.kind == ON_EXACT || known.kind == ON_EXACT_CHANGE) {
        CHECK(o.bitsame, "%s: outputs differ by %.3g (%s)", what, o.maxdiff, known.reason);
        CHECK(o.graddiff < 1e-6, "%s: input gradients differ by %.3g", what, o.graddiff);
    } else if (known.kind == ON_ROUNDING) {
        rounding_bits += o.bitsame;
        CHECK(o.maxdiff < 1e-5, "%s: outputs differ by %.3g (%s)", what, o.maxdiff, known.reason);
    } else if (known.kind == ON_NEVER) {
        CHECK(o.maxdiff > 2e-6, "%s: no counterexample found (diff %.3g): %s", what, o.maxdiff,
              known.reason);
    }
    on_model_free(m1);
    on_model_free(m2);
}

/* ----- the analyzer on real blocks ----- */

static int node_of(const on_model *m, const char *name) {
    for (int i = 0; i < on_model_num_nodes(m); i++)
        if (!strcmp(m->nodes[i].name, name)) return i;
    return -1;
}

static on_model *block(const char *spec) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    CHECK(m != NULL, "%s: %s", spec, m ? "" : err.msg);
    if (m) on_model_init(m, 3);
    /* trained-looking BatchNorm statistics: shifts that are not 0 */
    for (int t = 0; m && t < on_model_num_tensors(m); t++) {
        const char *nm = on_model_tensor_name(m, t);
        if (m->nodes[m->tensors[t].node].op != on_op_find("batchnorm") ||
            !(strstr(nm, ".bias") || strstr(nm, ".running_mean")))
            continue;
        for (size_t j = 0; j < on_model_tensor_size(m, t); j++)
            on_model_tensor_data(m, t)[j] = 0.1f + 0.05f * (float)(j % 7);
    }
    return m;
}

/* The verdict for moving `layer` (which reads merge `merge`) onto the merge's inputs. */
static on_verdict after(const on_model *m, const char *merge, const char *layer, int infer,
                        on_merge_plan *plan) {
    int i = node_of(m, merge), j = node_of(m, layer);
    on_verdict none = {.kind = -1};
    if (i < 0 || j < 0) return none;
    on_merge_view mv = on_merge_view_of(m, i);
    float *pb[4];
    on_layer_view f = on_view_of(m, j, 1, pb);
    return on_merge_commute(&mv, &f, infer, plan);
}

/* `ordnet analyze` of m lists every merge, in text and in JSON. */
static void check_report(const on_model *m, const char *what) {
    on_error err;
    for (int json = 0; json < 2; json++) {
        char *r = on_analyze_report(m, 1, 1, NULL, 0, json, &err);
        CHECK(r && strstr(r, json ? "\"merges\"" : "Merges (inference)"), "%s: report: %s", what,
              r ? r : err.msg);
        for (int i = 1; r && i < on_model_num_nodes(m); i++)
            if (m->nodes[i].op->ninputs == ON_NINPUTS_ANY)
                CHECK(strstr(r, m->nodes[i].name) != NULL, "%s: merge %s not reported", what,
                      m->nodes[i].name);
        free(r);
    }
}

/* Squeeze-and-excitation: x * gate(x), the gate a sigmoid / hard sigmoid of C values
 * (reshaped to (C,1,1) as Keras does). */
static void check_se(void) {
    static const struct {
        const char *gate, *layer;
        int kind, infer_kind;
    } cases[] = {
        {"sigmoid", "relu", ON_EXACT, ON_EXACT},
        {"hard_sigmoid", "relu", ON_EXACT, ON_EXACT},
        {"sigmoid", "maxpool2d", ON_ROUNDING, ON_ROUNDING}, /* gate >= 0: the same values */
        {"sigmoid", "global_maxpool", ON_ROUNDING, ON_ROUNDING},
        {"sigmoid", "leaky_relu(0.1)", ON_ROUNDING, ON_ROUNDING},
        {"sigmoid", "upsample2d", ON_EXACT, ON_EXACT},
        {"sigmoid", "avgpool2d", ON_ROUNDING, ON_ROUNDING},
        {"sigmoid", "batchnorm", ON_NEVER, ON_NEVER}, /* its shift: g (a x + b) != a g x + b */
        {"sigmoid", "tanh", ON_NEVER, ON_NEVER},
        {"tanh", "relu", ON_NEVER, ON_NEVER}, /* a gate of either sign */
        {"tanh", "maxpool2d", ON_NEVER, ON_NEVER},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char spec[512], fl[64];
        with_args(cases[c].layer, "name=f", fl, sizeof fl);
        snprintf(spec, sizeof spec,
                 "input(16,16,8) conv2d(16,3,same,name=x) global_avgpool dense(4) relu dense(16) "
                 "%s reshape((16,1,1),name=s) multiply(s,from=x,name=se) %s",
                 cases[c].gate, fl);
        on_model *m = block(spec);
        if (!m) continue;
        on_merge_view mv = on_merge_view_of(m, node_of(m, "se"));
        CHECK(mv.nonneg[1] == !strstr(cases[c].gate, "tanh") && !mv.nonneg[0],
              "%s: the gate is >= 0 (%d), x of unknown sign (%d)", spec, mv.nonneg[1],
              mv.nonneg[0]);
        for (int infer = 0; infer < 2; infer++) {
            on_merge_plan plan;
            on_verdict v = after(m, "se", "f", infer, &plan);
            int want = infer ? cases[c].infer_kind : cases[c].kind;
            CHECK(v.kind == want, "SE (%s gate) then %s (%s): %s, want %s: %s", cases[c].gate,
                  cases[c].layer, infer ? "infer" : "train", on_verdict_name(v.kind),
                  on_verdict_name(want), v.reason);
            if (v.kind != ON_NEVER)
                CHECK(!plan.apply[1], "SE then %s: the gate takes no copy", cases[c].layer);
        }
        if (!c) {
            check_report(m, "SE block");
            on_error err;
            char *r = on_analyze_report(m, 0, 0, "bn,hard_swish,maxpool,upsample2d", 0, 0, &err);
            CHECK(r && strstr(r, "24 orders ->"), "SE --block: %s", r ? r : err.msg);
            free(r);
        }
        on_model_free(m);
    }
}

/* DenseNet's dense layer: BN-ReLU-Conv(1x1)-BN-ReLU-Conv(3x3), concatenated to its input;
 * the next layer's BN-ReLU reads the concatenation. */
static void check_densenet(void) {
    on_model *m = block("input(8,8,16) batchnorm(name=bn1) relu(name=r1) conv2d(32,1,bias=0) "
                        "batchnorm relu conv2d(8,3,same,name=new) concat(new,from=input,name=cat) "
                        "batchnorm(name=nbn) relu(name=nrelu) conv2d(8,1)");
    if (!m) return;
    for (int infer = 0; infer < 2; infer++) {
        on_merge_plan plan;
        on_verdict v = after(m, "cat", "nbn", infer, &plan);
        CHECK(v.kind == ON_EXACT && plan.split && plan.apply[0] && plan.apply[1],
              "DenseNet: the next BatchNorm moves onto both inputs, its parameters split (%s): "
              "%s %s",
              infer ? "infer" : "train", on_verdict_name(v.kind), v.reason);
        /* the pre-activation pair stays a BN-ReLU pair: analyzed as a run */
        on_verdict p = on_model_commute(m, node_of(m, "nbn"), infer, 0);
        CHECK(p.kind == ON_NEVER || p.kind == ON_CONDITIONAL, "DenseNet: BN then ReLU: %s",
              on_verdict_name(p.kind));
    }
    on_run runs[16];
    int nr = on_find_runs(m, runs, 16), first = 0, next = 0;
    for (int r = 0; r < nr; r++) {
        first |= runs[r].first == node_of(m, "bn1") && runs[r].n == 2;
        next |= runs[r].first == node_of(m, "nbn") && runs[r].n == 2;
    }
    CHECK(first && next, "DenseNet: the BN-ReLU runs in the branch and after the concat are found");
    check_report(m, "DenseNet layer");
    on_model_free(m);
}

/* GoogLeNet's Inception block: four branches ending in conv + ReLU, concatenated. */
static void check_inception(void) {
    on_model *m = block(
        "input(8,8,8) conv2d(4,1,name=c1) relu(name=r1) conv2d(4,1,from=input) relu "
        "conv2d(4,3,same) relu(name=r2) conv2d(2,1,from=input) relu conv2d(4,5,same) relu(name=r3) "
        "maxpool(3,1,1,from=input) conv2d(4,1) relu(name=r4) concat(r2,r3,r4,from=r1,name=cat) "
        "maxpool(name=p)");
    if (!m) return;
    for (int infer = 0; infer < 2; infer++) {
        on_verdict v;
        on_merge_plan plan;
        on_merge_view before;
        int movable = 0;
        int ok = on_merge_hoist(m, node_of(m, "cat"), infer, &v, &plan, &before, &movable);
        CHECK(ok && movable && v.kind == ON_EXACT,
              "Inception: the four ReLUs are one after the concatenation: %s %s",
              on_verdict_name(ok ? v.kind : -1), ok ? v.reason : "");
        v = after(m, "cat", "p", infer, &plan);
        CHECK(v.kind == ON_EXACT, "Inception: the max-pool moves into the branches: %s",
              on_verdict_name(v.kind));
    }
    check_report(m, "Inception block");
    on_model_free(m);
    /* an Inception output normalized: optimize folds the BatchNorm into the four convs */
    m = block("input(8,8,8) conv2d(4,1,name=c1) conv2d(4,3,same,name=c2,from=input) "
              "conv2d(4,5,same,name=c3,from=input) maxpool(3,1,1,from=input) conv2d(4,1,name=c4) "
              "concat(c2,c3,c4,from=c1,name=cat) batchnorm(name=bn) relu");
    if (!m) return;
    on_error err;
    char *r = on_analyze_report(m, 1, 1, NULL, 0, 1, &err);
    CHECK(r && strstr(r, "\"optimize_folds\":\ttrue"),
          "Inception + BN: the report says optimize folds it");
    free(r);
    r = on_analyze_report(m, 0, 1, NULL, 0, 1, &err); /* training: nothing folds */
    CHECK(r && !strstr(r, "\"optimize_folds\":\ttrue"), "Inception + BN (training): no fold");
    free(r);
    on_model *o = on_optimize(m, NULL, 0, NULL, &err);
    char *spec = o ? on_model_to_spec(o) : NULL;
    CHECK(spec && !strstr(spec, "batchnorm"), "Inception + BN: optimized to %s",
          spec ? spec : err.msg);
    free(spec);
    on_model_free(o);
    on_model_free(m);
}

/* MobileNet v2's inverted residual: expand 1x1, BN, ReLU6, depthwise 3x3, BN, ReLU6,
 * project 1x1, BN, plus the input; then a layer after the sum. */
static void check_mobilenet(void) {
    static const struct {
        const char *layer;
        int train, infer, shift_once;
    } cases[] = {
        {"relu6", ON_NEVER, ON_NEVER, 0},           {"relu", ON_NEVER, ON_NEVER, 0},
        {"batchnorm", ON_NEVER, ON_ROUNDING, 1}, /* at inference: the shift added once */
        {"upsample2d", ON_EXACT, ON_EXACT, 0},      {"maxpool2d", ON_NEVER, ON_NEVER, 0},
        {"avgpool2d", ON_ROUNDING, ON_ROUNDING, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char spec[512], fl[64];
        with_args(cases[c].layer, "name=f", fl, sizeof fl);
        snprintf(spec, sizeof spec,
                 "input(8,8,16) conv2d(96,1,bias=0) batchnorm relu6 "
                 "conv2d(96,3,padding=1,groups=96,bias=0,name=dw) batchnorm(name=dwbn) "
                 "relu6(name=dwrelu) conv2d(16,1,bias=0) batchnorm(name=pbn) add(input,name=res) "
                 "%s",
                 fl);
        on_model *m = block(spec);
        if (!m) continue;
        for (int infer = 0; infer < 2; infer++) {
            on_merge_plan plan;
            on_verdict v = after(m, "res", "f", infer, &plan);
            int want = infer ? cases[c].infer : cases[c].train;
            CHECK(v.kind == want && plan.shift_once == (infer && cases[c].shift_once),
                  "MobileNet v2 residual then %s (%s): %s, want %s: %s", cases[c].layer,
                  infer ? "infer" : "train", on_verdict_name(v.kind), on_verdict_name(want),
                  v.reason);
            if (!c) {
                on_verdict p = on_model_commute(m, node_of(m, "dwbn"), infer, 0);
                CHECK(p.kind == ON_NEVER || p.kind == ON_CONDITIONAL,
                      "MobileNet v2: BN then ReLU6 after the depthwise conv: %s",
                      on_verdict_name(p.kind));
            }
        }
        if (!c) {
            check_report(m, "MobileNet v2 block");
            on_error err;
            char *r = on_analyze_report(m, 1, 0, "bn,relu6,maxpool", 0, 0, &err);
            CHECK(r && strstr(r, "6 orders ->"), "MobileNet v2 --block: %s", r ? r : err.msg);
            free(r);
        }
        on_model_free(m);
    }
}

/* The ONNX test models of tests/onnx/gen.py (when ordnet reads ONNX). */
static void check_onnx_models(void) {
    if (!strstr(on_build_features(), "onnx")) {
        printf("ONNX models skipped: built without ONNX\n");
        return;
    }
    on_error err;
    on_model *m = on_onnx_load("onnx/data/merge_inception.onnx", &err);
    CHECK(m != NULL, "merge_inception.onnx: %s", m ? "" : err.msg);
    if (m) {
        on_merge_plan plan;
        /* the first concatenation is read again by the later ones: its BN could move into
         * the branches, but the other readers need it as it is */
        on_verdict v = after(m, "Concat", "d1.0", 1, &plan);
        CHECK(v.kind == ON_EXACT && plan.split, "Inception ONNX: BN after Concat: %s",
              on_verdict_name(v.kind));
        char *r = on_analyze_report(m, 1, 1, NULL, 0, 0, &err);
        CHECK(r && strstr(r, "not movable here"),
              "Inception ONNX: the shared Concat is not movable");
        free(r);
        check_report(m, "merge_inception.onnx");
        on_model_free(m);
    }
    m = on_onnx_load("onnx/data/merge_se.onnx", &err);
    CHECK(m != NULL, "merge_se.onnx: %s", m ? "" : err.msg);
    if (m) {
        on_merge_view mv = on_merge_view_of(m, node_of(m, "Mul"));
        CHECK(mv.nin == 2 && mv.nonneg[0] && mv.nonneg[1],
              "SE ONNX: x (a ReLU) and the gate are >= 0");
        on_merge_plan plan;
        on_verdict v = after(m, "Mul", "head", 1, &plan);
        CHECK(v.kind == ON_NEVER, "SE ONNX: the conv after the gate: %s", on_verdict_name(v.kind));
        check_report(m, "merge_se.onnx");
        on_model_free(m);
    }
}

int main(void) {
    on_set_threads(1);
    for (int infer = 0; infer < 2; infer++)
        for (int im = 0; im < NM; im++)
            for (int il = 0; il < NL; il++) check_case(im, il, infer);
    printf("verdicts:");
    for (int k = 0; k <= ON_NEVER; k++) printf(" %s %d", on_verdict_name(k), counts[k]);
    printf("\nrounding verdicts whose outputs were bit-identical on every draw: %d of %d\n",
           rounding_bits, counts[ON_ROUNDING]);
    int before = check_pass;
    check_se();
    check_densenet();
    check_inception();
    check_mobilenet();
    check_onnx_models();
    printf("real blocks: %d checks\n", check_pass - before);
    return check_done();
}
