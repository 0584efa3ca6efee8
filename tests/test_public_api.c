/* test_public_api.c - the public headers as a user sees them: ordnet_bench.h and
 * ordnet_study.h stand alone, the named modes mean what the calls' 0/1 meant, and
 * on_analyze's options are read. */
#include "ordnet_bench.h" /* first: it must bring ordnet.h itself */
#include "ordnet_study.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    CHECK(ON_TRAIN == 1 && ON_EVAL == 0 && ON_FORMAT_JSON == 1 && ON_FOR_INFERENCE == 1 &&
              ON_WEIGHTS_DECIDE == 1,
          "the named flags are the old 1s");
    CHECK(ON_SPLIT_TRAIN == 1 && ON_SPLIT_TEST == 0 && ON_MOMENTUM_NESTEROV == 1 &&
              ON_MOMENTUM_PLAIN == 0,
          "on_data_load's split and on_sgd_step's momentum are the old 1s and 0s");
    on_study_cfg sc = on_study_defaults();
    CHECK(sc.seeds == 3 && sc.epochs == 2 && sc.block, "ordnet_study.h: the default study");
    on_error err;
    on_model *m =
        on_model_from_spec("input(8,8,1) conv2d(4,3) bn relu maxpool flatten dense(2)", &err);
    CHECK(m != NULL, "from_spec: %s", err.msg);
    if (!m) return check_done();
    on_model_init(m, 1);

    on_analyze_opts o = on_analyze_defaults();
    CHECK(o.infer == ON_FOR_INFERENCE && o.weights == ON_WEIGHTS_AS_CONDITIONS && !o.block &&
              !o.measure && o.format == ON_FORMAT_TEXT,
          "defaults");
    char *text[2] = {NULL, NULL};
    for (int infer = 0; infer < 2; infer++)
        for (int json = 0; json < 2; json++) {
            o.infer = infer ? ON_FOR_INFERENCE : ON_FOR_TRAINING;
            o.format = json ? ON_FORMAT_JSON : ON_FORMAT_TEXT;
            o.block = "bn,relu,maxpool";
            char *a = on_analyze(m, &o, &err);
            CHECK(a && (json ? a[0] == '{' : a[0] != '{'), "format %d: %s", json, a ? "" : err.msg);
            if (!json)
                text[infer] = a;
            else
                free(a);
        }
    /* BatchNorm then ReLU: not the same function in training, conditionally at inference */
    CHECK(text[0] && text[1] && strcmp(text[0], text[1]), "training and inference rules differ");
    free(text[0]), free(text[1]);
    o.block = "bn,bogus";
    char *bad = on_analyze(m, &o, &err);
    CHECK(!bad && strstr(err.msg, "bogus"), "a bad block names it: %s", err.msg);
    free(bad);
    char *d = on_analyze(m, NULL, &err); /* NULL: the defaults */
    CHECK(d && d[0] != '{', "NULL options");
    free(d);

    /* ordnet_bench.h: profiling a forward gives every node a non-negative time */
    CHECK(!on_model_compile(m, 4, &err), "compile: %s", err.msg);
    float x[4 * 64] = {0};
    CHECK(!on_model_profile(m, 1), "profile on");
    CHECK(!on_model_forward(m, x, 4, ON_EVAL), "forward");
    double f = -1, b = -1;
    CHECK(!on_model_node_seconds(m, 1, &f, &b) && f >= 0 && b >= 0, "node seconds %g %g", f, b);
    on_model_free(m);

    /* parameters that grow past 8 MB as layers are added (graph.c's grow, on huge pages from
     * there: base.h's on_huge_alloc) keep what the earlier layers held, and stay aligned */
    on_model *g = on_model_new((on_shape){3, 1, 28, 28}, &err);
    CHECK(g && !on_model_add_spec(g, "conv2d(8,3,padding=same)", &err), "a conv: %s", err.msg);
    if (!g) return check_done();
    int w0 = on_model_tensor_find(g, "conv2d.weight");
    size_t n0 = w0 >= 0 ? on_model_tensor_size(g, w0) : 0;
    float *p0 = w0 >= 0 ? on_model_tensor_data(g, w0) : NULL;
    for (size_t i = 0; p0 && i < n0; i++) p0[i] = (float)i * 0.25f - 3.0f;
    CHECK(!on_model_add_spec(g, "flatten dense(400)", &err), "a 10 MB dense: %s", err.msg);
    int w1 = on_model_tensor_find(g, "dense.weight");
    CHECK(w0 >= 0 && w1 >= 0 && on_model_tensor_size(g, w1) == (size_t)28 * 28 * 8 * 400,
          "tensors %d %d", w0, w1);
    float *q0 = w0 >= 0 ? on_model_tensor_data(g, w0) : NULL;
    int same = q0 != NULL && n0 == 72;
    for (size_t i = 0; same && i < n0; i++) same = q0[i] == (float)i * 0.25f - 3.0f;
    CHECK(same, "the conv's %zu weights kept as the parameters grew", n0);
    CHECK(q0 && (uintptr_t)q0 % 64 == 0, "the parameters 64-byte aligned");
    float *q1 = w1 >= 0 ? on_model_tensor_data(g, w1) : NULL;
    size_t n1 = w1 >= 0 ? on_model_tensor_size(g, w1) : 0;
    if (q1 && n1) q1[n1 - 1] = 1.0f; /* the last float of the new space is there to write */
    CHECK(q1 && n1 && q1[0] == 0.0f && q1[n1 - 1] == 1.0f, "the dense's weights start at zero");
    on_model_free(g);
    return check_done();
}
