/* test_onnx.c - ONNX import and export against PyTorch (onnx/gen.py wrote the files).
 *
 * For every onnx/data/NAME.onnx (not bad_*): import it, run NAME.x.npy through it in
 * eval mode and compare with PyTorch's NAME.y.npy (max |a - b| / max |b| <= 1e-4; a model
 * whose Softmax was dropped is compared after a softmax); the same after on_optimize, and
 * bit for bit against the unoptimized run when every rewrite was exact; export -> import
 * must give bit-identical outputs and the same layers; an imported model survives a
 * checkpoint round trip (its layer names go through the compact form).
 * Then the errors: unsupported operators, opsets and attributes name the node, its op type
 * and the problem; truncated and corrupted files give errors (or a model that runs), never
 * a crash (run under ASan / valgrind). The .npy reader and writer, and `ordnet run` and
 * `ordnet export` in a child process, close the file.
 */
#include "check.h"
#include "ordnet.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA "onnx/data"
#define TOL 1e-4

static double g_worst;

static double relerr(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = isnan(e) ? INFINITY : e;
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return d / (s + 1e-12);
}

static void softmax_rows(float *y, int n, int k) {
    for (int i = 0; i < n; i++) {
        float *r = y + (size_t)i * k, mx = r[0];
        double s = 0;
        for (int j = 1; j < k; j++) mx = r[j] > mx ? r[j] : mx;
        for (int j = 0; j < k; j++) s += r[j] = expf(r[j] - mx);
        for (int j = 0; j < k; j++) r[j] = (float)(r[j] / s);
    }
}

/* Forward x (n samples) in eval mode; a malloc'd copy of the output, NULL on failure. */
static float *run(on_model *m, const on_array *x, int n) {
    on_error err;
    if (on_model_compile(m, n, &err)) {
        printf("compile: %s\n", err.msg);
        return NULL;
    }
    size_t per = on_shape_size(on_model_output_shape(m)) * (size_t)n;
    float *y = malloc(sizeof(float) * per);
    if (!y || on_model_forward(m, x->data, n, 0)) {
        free(y);
        return NULL;
    }
    memcpy(y, on_model_output(m), sizeof(float) * per);
    return y;
}

static int same_bits(const float *a, const float *b, size_t n) {
    return !memcmp(a, b, sizeof(float) * n);
}

static void test_case(const char *name) {
    char path[512], xp[512], yp[512];
    snprintf(path, sizeof path, DATA "/%s.onnx", name);
    snprintf(xp, sizeof xp, DATA "/%s.x.npy", name);
    snprintf(yp, sizeof yp, DATA "/%s.y.npy", name);
    on_error err;
    on_array x, ref;
    on_model *m = on_onnx_load(path, &err);
    CHECK(m != NULL, "%s: %s", name, m ? "" : err.msg);
    if (!m) return;
    if (on_npy_load(xp, &x, &err) || on_npy_load(yp, &ref, &err)) {
        CHECK(0, "%s: %s", name, err.msg);
        on_model_free(m);
        return;
    }
    int n = (int)x.dims[0];
    on_shape in = on_model_node_shape(m, 0);
    CHECK(x.size == (size_t)n * on_shape_size(in), "%s: the input matches the model's shape", name);
    size_t ny = (size_t)n * on_shape_size(on_model_output_shape(m));
    CHECK(ny == ref.size, "%s: output size %zu, PyTorch's %zu", name, ny, ref.size);
    /* the output dimensions are ONNX's ((N,C,1,1) after a global pooling), every output */
    for (int k = 0; k < on_model_num_outputs(m); k++) {
        on_array rk = {0};
        char yk[512];
        snprintf(yk, sizeof yk, DATA "/%s.y%d.npy", name, k);
        if (k && on_npy_load(yk, &rk, &err)) {
            CHECK(0, "%s: output %d has no reference %s", name, k, yk);
            continue;
        }
        const on_array *r = k ? &rk : &ref;
        int64_t d[ON_ARRAY_MAX_DIMS];
        int nd = on_model_output_dims(m, k, d), same = nd + 1 == r->ndim;
        for (int i = 0; same && i < nd; i++) same = d[i] == r->dims[i + 1];
        CHECK(same, "%s: output %d ('%s') has %d dims + N, PyTorch's %d", name, k,
              on_model_output_name(m, k), nd, r->ndim);
        if (k) {
            on_model_compile(m, n, &err);
            on_model_forward(m, x.data, n, 0);
            const float *o = on_model_output_at(m, k);
            double e = o && rk.size == (size_t)n * on_shape_size(on_model_node_shape(
                                                       m, on_model_output_node(m, k)))
                           ? relerr(o, rk.data, rk.size)
                           : INFINITY;
            if (e > g_worst) g_worst = e;
            CHECK(e <= TOL, "%s: output %d: error %.3g vs PyTorch", name, k, e);
        }
        on_array_free(&rk);
    }
    int soft = strstr(on_model_notes(m), "Softmax") != NULL;
    float *y = ny == ref.size ? run(m, &x, n) : NULL;
    if (y) {
        float *ys = malloc(sizeof(float) * ny);
        memcpy(ys, y, sizeof(float) * ny);
        if (soft) softmax_rows(ys, n, (int)(ny / (size_t)n));
        double e = relerr(ys, ref.data, ny);
        if (e > g_worst) g_worst = e;
        printf("%-22s %3d layers  vs PyTorch %.2e", name, on_model_num_nodes(m) - 1, e);
        CHECK(e <= TOL, "%s: error %.3g vs PyTorch", name, e);
        free(ys);

        /* optimize, then run: equal to PyTorch, and bit for bit when every rewrite is exact */
        on_rewrite rw[64];
        int nrw = 0, exact = 1;
        on_model *o = on_optimize(m, rw, 64, &nrw, &err);
        CHECK(o != NULL, "%s: optimize: %s", name, o ? "" : err.msg);
        /* optimize keeps every output, its name and its dimensions, and their values */
        int no = o ? on_model_num_outputs(o) : 0;
        CHECK(!o || no == on_model_num_outputs(m), "%s: %d outputs after optimize", name, no);
        for (int k = 0; o && k < no && no == on_model_num_outputs(m); k++) {
            int64_t a[ON_ARRAY_MAX_DIMS], b[ON_ARRAY_MAX_DIMS];
            int na = on_model_output_dims(m, k, a), nb = on_model_output_dims(o, k, b);
            CHECK(na == nb && !memcmp(a, b, sizeof(int64_t) * (size_t)na) &&
                      !strcmp(on_model_output_name(m, k), on_model_output_name(o, k)),
                  "%s: output %d keeps its name and dims through optimize", name, k);
            if (k && !on_model_compile(o, n, &err) && !on_model_forward(o, x.data, n, 0) &&
                !on_model_compile(m, n, &err) && !on_model_forward(m, x.data, n, 0)) {
                size_t sz =
                    (size_t)n * on_shape_size(on_model_node_shape(m, on_model_output_node(m, k)));
                double e = relerr(on_model_output_at(o, k), on_model_output_at(m, k), sz);
                CHECK(e <= TOL, "%s: output %d after optimize: %.3g", name, k, e);
            }
        }
        for (int k = 0; k < nrw; k++) exact &= rw[k].exact;
        float *yo = o ? run(o, &x, n) : NULL;
        if (yo) {
            float *yos = malloc(sizeof(float) * ny);
            memcpy(yos, yo, sizeof(float) * ny);
            if (soft) softmax_rows(yos, n, (int)(ny / (size_t)n));
            double eo = relerr(yos, ref.data, ny);
            if (eo > g_worst) g_worst = eo;
            printf("  optimized (%d rewrites%s) %.2e", nrw, exact ? ", exact" : "", eo);
            CHECK(eo <= TOL, "%s: optimized: error %.3g vs PyTorch", name, eo);
            if (exact)
                CHECK(same_bits(y, yo, ny), "%s: exact rewrites, yet the outputs differ", name);
            free(yos);
        }
        free(yo);
        on_model_free(o);

        /* export -> import: the same layers, bit-identical outputs */
        void *buf = NULL;
        size_t len = 0;
        int rc = on_onnx_encode(m, &buf, &len, &err);
        CHECK(rc == 0, "%s: export: %s", name, rc ? err.msg : "");
        on_model *r = rc ? NULL : on_onnx_parse(buf, len, "exported", &err);
        CHECK(rc || r, "%s: re-import: %s", name, r ? "" : err.msg);
        if (r) {
            CHECK(on_model_num_nodes(r) == on_model_num_nodes(m),
                  "%s: %d layers after the round "
                  "trip, %d before",
                  name, on_model_num_nodes(r), on_model_num_nodes(m));
            for (int i = 1; i < on_model_num_nodes(r) && i < on_model_num_nodes(m); i++)
                CHECK(on_model_node_op(r, i) == on_model_node_op(m, i) &&
                          !strcmp(on_model_node_name(r, i), on_model_node_name(m, i)),
                      "%s: layer %d is %s '%s' after the round trip, %s '%s' before", name, i,
                      on_op_name(on_model_node_op(r, i)), on_model_node_name(r, i),
                      on_op_name(on_model_node_op(m, i)), on_model_node_name(m, i));
            float *yr = run(r, &x, n);
            CHECK(yr && same_bits(y, yr, ny), "%s: export -> import changed the outputs", name);
            printf("  round trip %s", yr && same_bits(y, yr, ny) ? "bit-identical" : "DIFFERS");
            free(yr);
        }
        on_model_free(r);
        free(buf);

        /* a checkpoint of the imported model loads to the same function */
        char ck[64];
        snprintf(ck, sizeof ck, "/tmp/test_onnx_%d.ckpt", (int)getpid());
        on_model *c = NULL;
        if (on_checkpoint_save(m, ck, NULL, &err) || !(c = on_checkpoint_load(ck, NULL, &err)))
            CHECK(0, "%s: checkpoint round trip: %s", name, err.msg);
        float *yc = c ? run(c, &x, n) : NULL;
        if (c) CHECK(yc && same_bits(y, yc, ny), "%s: checkpoint round trip changed outputs", name);
        int kept = c && on_model_num_outputs(c) == on_model_num_outputs(m);
        for (int k = 0; kept && k < on_model_num_outputs(m); k++) {
            int64_t a[ON_ARRAY_MAX_DIMS], b[ON_ARRAY_MAX_DIMS];
            int na = on_model_output_dims(m, k, a), nb = on_model_output_dims(c, k, b);
            kept = na == nb && !memcmp(a, b, sizeof(int64_t) * (size_t)na) &&
                   on_model_output_node(c, k) == on_model_output_node(m, k) &&
                   !strcmp(on_model_output_name(m, k), on_model_output_name(c, k));
        }
        CHECK(!c || kept, "%s: the checkpoint keeps every output, its name and dims", name);
        free(yc);
        on_model_free(c);
        remove(ck);
        printf("\n");
    }
    free(y);
    on_array_free(&x);
    on_array_free(&ref);
    on_model_free(m);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_all_cases(void) {
    DIR *d = opendir(DATA);
    CHECK(d != NULL, "%s exists (run from tests/)", DATA);
    if (!d) return;
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".onnx") && strncmp(e->d_name, "bad_", 4) &&
            strncmp(e->d_name, "feed_", 5)) {
            names[n] = strdup(e->d_name);
            names[n][l - 5] = 0;
            n++;
        }
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    CHECK(n >= 29, "found %d models", n);
    for (int i = 0; i < n; i++) {
        test_case(names[i]);
        free(names[i]);
    }
    printf("largest error vs PyTorch: %.2e\n", g_worst);
}

/* Layer names, ops and notes that the import must produce. */
static void test_structure(void) {
    on_error err;
    on_model *m = on_onnx_load(DATA "/resnet18_w8.onnx", &err);
    CHECK(m != NULL, "resnet18_w8: %s", m ? "" : err.msg);
    if (m) {
        const char *want[] = {"conv1.weight",          "bn1.running_var",
                              "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                              "layer4.1.bn2.bias",     "fc.weight"};
        for (int i = 0; i < 6; i++)
            CHECK(on_model_tensor_find(m, want[i]) >= 0, "resnet18_w8 has tensor %s", want[i]);
        int adds = 0;
        for (int i = 1; i < on_model_num_nodes(m); i++)
            adds += !strcmp(on_op_name(on_model_node_op(m, i)), "add");
        CHECK(adds == 8, "resnet18 has 8 residual adds, found %d", adds);
    }
    on_model_free(m);
    m = on_onnx_load(DATA "/activations.onnx", &err);
    CHECK(m != NULL, "activations: %s", m ? "" : err.msg);
    const char *ops[] = {"gelu",      "silu",      "mish",          "prelu",    "celu",
                         "selu",      "hardtanh",  "relu6",         "softplus", "leaky_relu",
                         "avgpool2d", "maxpool2d", "global_avgpool"};
    for (int k = 0; m && k < 13; k++) {
        int found = 0;
        for (int i = 1; i < on_model_num_nodes(m); i++)
            found |= !strcmp(on_op_name(on_model_node_op(m, i)), ops[k]);
        CHECK(found, "activations has a %s layer", ops[k]);
    }
    /* no Erf, Div or Mul survives as a layer: the patterns became single layers */
    int dense = 0;
    for (int i = 1; m && i < on_model_num_nodes(m); i++)
        dense += !strcmp(on_op_name(on_model_node_op(m, i)), "dense");
    CHECK(!m || dense == 2, "Gemm and MatMul+Add are 2 dense layers, found %d", dense);
    on_model_free(m);
    m = on_onnx_load(DATA "/block_bn_relu_pool.onnx", &err);
    int drop = 0;
    for (int i = 1; m && i < on_model_num_nodes(m); i++)
        drop += !strcmp(on_op_name(on_model_node_op(m, i)), "dropout");
    CHECK(drop == 1, "the Dropout node is a dropout layer (%d)", drop);
    on_model_free(m);
    /* a graph whose output is its input (found by the fuzzer): one identity layer, which
     * exports and reads back */
    m = on_onnx_load("fuzz/corpus_onnx/regress_output_is_input.onnx", &err);
    void *buf = NULL;
    size_t len = 0;
    CHECK(m && on_model_num_nodes(m) == 2 && !on_onnx_encode(m, &buf, &len, &err),
          "output = input: one identity layer that exports");
    on_model *r = buf ? on_onnx_parse(buf, len, "x.onnx", &err) : NULL;
    CHECK(r && on_model_num_nodes(r) == 2, "... and reads back");
    on_model_free(r);
    free(buf);
    on_model_free(m);
    /* a ConstantOfShape of 2^24 values folded through Concat, Reshape, Slice ... took
     * seconds under ASan (found by the fuzzer): a fold makes no more values than shape
     * arithmetic needs or its inputs hold */
    m = on_onnx_load("fuzz/corpus_onnx/regress_fold_grow.onnx", &err);
    CHECK(!m && strstr(err.msg, "ConstantOfShape") && strstr(err.msg, "16711684 values"),
          "a fold that grows 1 value into 16711684 is refused: %s", m ? "(loaded)" : err.msg);
    on_model_free(m);
    m = on_onnx_load(DATA "/softmax_head.onnx", &err);
    CHECK(m && strstr(on_model_notes(m), "Softmax") && strstr(on_model_notes(m), "logits"),
          "a dropped Softmax is noted");
    on_model_free(m);
}

/* nn.Embedding: Gather of the table at the int64 ids is an embedding layer named after the
 * module; ids outside the table stop the forward with an error naming the layer, the
 * position and the id, never a read out of bounds; the exported file takes int64 ids; a
 * model whose input feeds an embedding and another layer has no ONNX export. */
static void test_embedding(void) {
    on_error err;
    on_model *m = on_onnx_load(DATA "/textcnn_op13.onnx", &err);
    CHECK(m != NULL, "textcnn_op13: %s", m ? "" : err.msg);
    if (!m) return;
    CHECK(on_model_num_nodes(m) > 2 && on_model_node_op(m, 1) == on_op_find("embedding") &&
              !strcmp(on_model_node_name(m, 1), "emb") &&
              on_model_tensor_find(m, "emb.weight") >= 0,
          "Gather of the table is the embedding layer 'emb'");
    on_shape s = on_model_node_shape(m, 1);
    CHECK(s.rank == 2 && s.c == 8 && s.w == 12, "the embedding gives (8, 12) channels first");
    float x[24] = {0};
    x[17] = 40; /* the vocabulary is 40 */
    int fails = on_model_compile(m, 2, &err) || on_model_forward(m, x, 2, 0);
    const char *e = on_model_last_error(m);
    CHECK(fails && strstr(e, "emb") && strstr(e, "token id 40") && strstr(e, "position 5"),
          "an id outside the table is an error naming the layer, position and id: %s", e);
    x[17] = 2.5f;
    CHECK(on_model_forward(m, x, 2, 0) && strstr(on_model_last_error(m), "2.5"),
          "a fractional id is an error too: %s", on_model_last_error(m));
    x[17] = 39;
    CHECK(!on_model_forward(m, x, 2, 0), "the last id of the table runs");
    on_model_free(m);
    m = on_onnx_load(DATA "/textbag_op13.onnx", &err);
    int conv = 0, gmax = 0;
    for (int i = 1; m && i < on_model_num_nodes(m); i++) {
        conv += on_model_node_op(m, i) == on_op_find("conv1d");
        gmax += on_model_node_op(m, i) == on_op_find("maxpool1d");
    }
    CHECK(m && conv == 1 && gmax == 1,
          "a Linear on (N,L,D) is a 1x1 conv1d, max over the tokens a maxpool1d (%d, %d)", conv,
          gmax);
    on_model_free(m);
    m = on_model_new((on_shape){1, 6, 1, 1}, &err);
    on_attrs a = on_attrs_default(on_op_find("embedding"));
    a.vocab = 9, a.units = 4;
    on_attrs d = on_attrs_default(on_op_find("dense"));
    d.units = 3;
    void *buf = NULL;
    size_t len = 0;
    int ok = m && on_model_add_at(m, 0, on_op_find("embedding"), &a, "emb", &err) > 0 &&
             on_model_add_at(m, 0, on_op_find("dense"), &d, "fc", &err) > 0;
    CHECK(ok && on_onnx_encode(m, &buf, &len, &err) && strstr(err.msg, "emb") &&
              strstr(err.msg, "fc") && strstr(err.msg, "one type"),
          "ids read by an embedding and a dense layer: no export (%s)", err.msg);
    free(buf);
    on_model_free(m);
}

/* A graph input without an initializer besides the data: refused with its name unless
 * given (on_onnx_load_feeds); given, it is a constant and the model matches PyTorch. */
static void test_feeds(void) {
    on_error err;
    on_model *m = on_onnx_load(DATA "/feed_conv.onnx", &err);
    CHECK(!m && strstr(err.msg, "'w'") && strstr(err.msg, "--input w="),
          "an input without initializer is refused, named: %s", m ? "(loaded)" : err.msg);
    on_model_free(m);
    on_array w, x, ref;
    if (on_npy_load(DATA "/feed_conv.w.npy", &w, &err) ||
        on_npy_load(DATA "/feed_conv.x.npy", &x, &err) ||
        on_npy_load(DATA "/feed_conv.y.npy", &ref, &err)) {
        CHECK(0, "feed_conv data: %s", err.msg);
        return;
    }
    on_onnx_feed f[2] = {{"w", &w}, {"input", &x}};
    int df = 7;
    m = on_onnx_load_feeds(DATA "/feed_conv.onnx", f, 1, &df, &err);
    CHECK(m && df == -1, "fed, it loads (%s); the data is not among the feeds (%d)",
          m ? "" : err.msg, df);
    float *y = m ? run(m, &x, (int)x.dims[0]) : NULL;
    CHECK(y && relerr(y, ref.data, ref.size) <= TOL, "the fed model matches PyTorch");
    free(y);
    on_model_free(m);
    m = on_onnx_load_feeds(DATA "/feed_conv.onnx", f, 2, &df, &err);
    CHECK(m && df == 1, "the data input may be fed too: it is feed 1 (%d)", df);
    on_model_free(m);
    on_array_free(&w);
    on_array_free(&x);
    on_array_free(&ref);
    /* input dimensions the file leaves open (N,3,H,W) come from the data given */
    m = on_onnx_load(DATA "/feed_dyn.onnx", &err);
    CHECK(!m && strstr(err.msg, "given by the data"), "open dimensions need the data: %s",
          m ? "(loaded)" : err.msg);
    on_model_free(m);
    if (!on_npy_load(DATA "/feed_dyn.x.npy", &x, &err) &&
        !on_npy_load(DATA "/feed_dyn.y.npy", &ref, &err)) {
        on_onnx_feed d = {NULL, &x};
        m = on_onnx_load_feeds(DATA "/feed_dyn.onnx", &d, 1, &df, &err);
        CHECK(m && df == 0, "an unnamed feed is the data and gives its dimensions: %s",
              m ? "" : err.msg);
        y = m ? run(m, &x, (int)x.dims[0]) : NULL;
        CHECK(y && relerr(y, ref.data, ref.size) <= TOL,
              "the open-dimension model matches PyTorch");
        free(y);
        on_model_free(m);
        on_array_free(&x);
        on_array_free(&ref);
    }
    /* old exporters list every weight as a graph input too (IR 3, opset 7): constants */
    m = on_onnx_load(DATA "/opset07.onnx", &err);
    CHECK(m != NULL, "initializers listed as inputs are constants: %s", m ? "" : err.msg);
    on_model_free(m);
}

/* Models with every op the exporter writes (2-D and 1-D), random weights and statistics. */
static const char *const all_ops[] = {
    "input(16,16,3) conv2d(8,3,same,name=c1) batchnorm relu conv2d(8,3,same,bias=0) tanh "
    "add(c1) sigmoid minpool2d(2) leaky_relu(0.2) elu(0.5) celu(0.7) selu prelu "
    "avgpool2d(3,1,1) hardtanh(-0.4,0.6) relu6 softplus gelu silu mish dropout(0.3) "
    "maxpool2d(3,2,1,1) avgpool2d(2,2,1,0,0) identity conv2d(6,(3,1),2,(1,0),(1,1)) "
    "global_avgpool dense(10) batchnorm prelu dense(4,bias=0)",
    "input(32,4) conv1d(6,3) relu maxpool1d avgpool1d(3,1,1) minpool1d(2) conv1d(5,3,1,same,2) "
    "flatten dense(5)",
    "input(12,12,4) conv2d(8,3,same,groups=2,name=g) conv2d(8,3,same,groups=8) multiply(g) "
    "conv2d_transpose(4,3,2) hard_sigmoid hard_swish softsign exponential conv2d(4,3,same,name=a) "
    "conv2d(4,1,name=b) subtract(a) maximum(b) minimum(a) average(b) concat(a) flatten dense(3)",
    "input(32,4) conv1d_transpose(4,3,2) conv1d(6,3,groups=2) flatten dense(3)",
    "input(7,8,3) upsample2d(2) relu upsample2d((1.5,2.5),bilinear) tanh upsample2d(2,bilinear,1) "
    "zeropad2d((1,2,3,0),reflect) relu zeropad2d((2,0,1,1),edge) relu zeropad2d(1,value=-0.5) "
    "relu zeropad2d((0,1,1,0)) crop2d((1,2,0,3)) conv2d(4,3) flatten dense(3)",
    "input(9,3) upsample1d(2) relu upsample1d(3,linear) zeropad1d((2,4),reflect) relu "
    "zeropad1d((1,3),edge) crop1d((2,1)) conv1d(2,3) flatten dense(2)",
    "input(5,6,8) conv2d(8,1,name=a) channel_slice(2,4) relu channel_shuffle(2) "
    "channel_shuffle(4) concat(a) channel_slice(1,6) flatten dense(3)",
    "input(9,6) channel_shuffle(3) channel_slice(2,3) conv1d(2,3) flatten dense(2)",
    "input(5,6,4) conv2d(6,3,same) layernorm(axis=0) permute((1,2,0)) conv2d(3,1) layernorm "
    "reshape((3,-1)) conv1d(4,3) permute((1,0)) flatten reshape((2,-1,4)) conv2d(2,1) flatten "
    "dense(3) layernorm",
    "input(10) embedding(12,5,name=emb) conv1d(4,3) relu conv1d(6,2,name=c) layernorm(axis=0) "
    "maxpool1d(2) flatten dense(3)"};

/* export -> import gives the same layers (identity layers are read back as nothing: ONNX's
 * Identity is an alias) and bit-identical outputs, for every op the exporter writes. */
static void test_export_all_ops(void) {
    on_error err;
    for (int t = 0; t < (int)(sizeof all_ops / sizeof all_ops[0]); t++) {
        on_model *m = on_model_from_spec(all_ops[t], &err);
        CHECK(m != NULL, "all-ops model %d: %s", t, m ? "" : err.msg);
        if (!m) continue;
        on_model_init(m, 7);
        uint64_t s = 99 + (uint64_t)t;
        for (int i = 0; i < on_model_num_tensors(m); i++) {
            float *d = on_model_tensor_data(m, i);
            int var = strstr(on_model_tensor_name(m, i), "running_var") != NULL;
            for (size_t j = 0; j < on_model_tensor_size(m, i); j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                float u = (float)(s >> 40) / 16777216.0f;
                d[j] = var                                             ? 0.5f + u
                       : strstr(on_model_tensor_name(m, i), "running") ? u - 0.5f
                                                                       : d[j] + 0.1f * (u - 0.5f);
            }
        }
        void *buf = NULL;
        size_t len = 0;
        on_model *r = NULL;
        if (on_onnx_encode(m, &buf, &len, &err) || !(r = on_onnx_parse(buf, len, "all.onnx", &err)))
            CHECK(0, "all-ops model %d: export or import: %s", t, err.msg);
        int i = 1, j = 1, same = r != NULL, ops = 0;
        for (; r && i < on_model_num_nodes(m); i++) {
            const char *op = on_op_name(on_model_node_op(m, i));
            if (!strcmp(op, "identity")) continue;
            same &= j < on_model_num_nodes(r) && on_model_node_op(r, j) == on_model_node_op(m, i) &&
                    !strcmp(on_model_node_name(r, j), on_model_node_name(m, i));
            j++, ops++;
        }
        CHECK(same && r && j == on_model_num_nodes(r), "all-ops model %d: the same %d layers", t,
              ops);
        on_array x = {.ndim = 1};
        size_t in = on_shape_size(on_model_node_shape(m, 0));
        x.size = 3 * in;
        x.dims[0] = 3;
        x.data = malloc(sizeof(float) * x.size);
        int ids = on_model_node_op(m, 1) == on_op_find("embedding"); /* token ids < 12 */
        for (size_t k = 0; k < x.size; k++)
            x.data[k] = ids ? (float)((k * 2654435761u) % 12)
                            : (float)((k * 2654435761u) % 2001) / 500.0f - 2;
        size_t ny = 3 * on_shape_size(on_model_output_shape(m));
        float *a = run(m, &x, 3), *b = r ? run(r, &x, 3) : NULL;
        CHECK(a && b && same_bits(a, b, ny), "all-ops model %d: bit-identical after the round trip",
              t);
        printf("all-ops model %d: %d layers, round trip %s\n", t, ops,
               a && b && same_bits(a, b, ny) ? "bit-identical" : "DIFFERS");
        free(a);
        free(b);
        free(x.data);
        free(buf);
        on_model_free(r);
        on_model_free(m);
    }
}

static void expect_error(const char *file, const char *a, const char *b, const char *c) {
    on_error err;
    char path[256];
    snprintf(path, sizeof path, DATA "/%s", file);
    on_model *m = on_onnx_load(path, &err);
    CHECK(!m, "%s is rejected", file);
    if (!m) {
        CHECK(strstr(err.msg, a) && strstr(err.msg, b) && strstr(err.msg, c) &&
                  strstr(err.msg, file),
              "%s: the error names '%s', '%s', '%s' and the file: %s", file, a, b, c, err.msg);
        printf("%s: %s\n", file, err.msg);
    }
    on_model_free(m);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* A model parsed from damaged bytes must either fail with a message or run. */
static int parse_and_run(const unsigned char *b, size_t n, int *runs) {
    on_error err;
    err.msg[0] = 0;
    on_model *m = on_onnx_parse(b, n, "damaged.onnx", &err);
    if (!m) return err.msg[0] != 0 && strstr(err.msg, "damaged.onnx") == err.msg;
    on_error e2;
    int ok = 1;
    if (on_model_num_params(m) < (1u << 20) && !on_model_compile(m, 1, &e2)) {
        size_t in = on_shape_size(on_model_node_shape(m, 0));
        float *x = calloc(in, sizeof(float));
        ok = x && on_model_forward(m, x, 1, 0) == 0;
        free(x);
        (*runs)++;
    }
    on_model_free(m);
    return ok;
}

static void test_errors(void) {
    expect_error("bad_lstm.onnx", "lstm1", "LSTM", "not supported");
    expect_error("bad_opset.onnx", "opset 6", "not supported", "7 to");
    expect_error("bad_group.onnx", "conv_g3", "Conv", "group=3 must divide");
    expect_error("bad_attr.onnx", "pool_dil", "MaxPool", "dilations");
    expect_error("bad_reshape.onnx", "reshape_batch", "Reshape", "(-1,8)");
    expect_error("bad_resize_cubic.onnx", "resize_cubic", "Resize", "'cubic'");
    expect_error("bad_upsample_linear.onnx", "up_lin", "Upsample", "opset 11 or later");
    expect_error("bad_pad_wrap.onnx", "pad_reflect_big", "Pad", "smaller than");
    expect_error("bad_transpose.onnx", "transpose_batch", "Transpose", "perm (1,0,2,3)");
    expect_error("bad_ids_relu.onnx", "relu_ids", "Relu", "integer token ids");
    expect_error("bad_gather_3d.onnx", "gather_3d", "Gather", "(vocab, dim)");
    expect_error("bad_ids_output.onnx", "output 'ids'", "integer token ids", "not computed");
    on_error err;
    CHECK(!on_onnx_load(DATA "/no_such_file.onnx", &err) && strstr(err.msg, "no_such_file"),
          "a missing file is an error naming it");
    CHECK(!on_onnx_parse("", 0, "empty.onnx", &err) && strstr(err.msg, "empty.onnx"),
          "an empty file is an error: %s", err.msg);
    size_t len;
    unsigned char *b = slurp(DATA "/activations.onnx", &len);
    CHECK(b != NULL, "read activations.onnx");
    if (!b) return;
    int bad = 0, runs = 0, tried = 0;
    /* every prefix up to 600 bytes, then every 37th: a truncated file */
    for (size_t n = 0; n < len; n += n < 600 ? 1 : 37, tried++)
        if (!parse_and_run(b, n, &runs)) bad++;
    CHECK(bad == 0, "%d of %d truncations gave no message", bad, tried);
    /* flipped bytes */
    uint64_t s = 42;
    unsigned char *c = malloc(len);
    for (int t = 0; t < 300 && c; t++) {
        memcpy(c, b, len);
        for (int k = 0; k < 1 + t % 4; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            c[(s >> 33) % len] ^= (unsigned char)(1 + (s >> 20) % 255);
        }
        if (!parse_and_run(c, len, &runs)) bad++;
    }
    CHECK(bad == 0, "%d damaged files gave no message", bad);
    printf("damaged files: %d truncations, 300 corruptions, %d still formed a model and ran\n",
           tried, runs);
    /* messages nested deeper than the limit (Model > Graph > Node > Attribute > Graph ...,
     * built from the inside out): an error, not a stack overflow in protobuf-c */
    enum { DEPTH = 3000 };
    size_t cap = 16 * DEPTH, pos = cap;
    unsigned char *deep = malloc(cap);
    static const unsigned char tags[3] = {0x0a, 0x2a, 0x32};
    for (int j = DEPTH - 1; deep && j >= 0; j--) {
        size_t inner = cap - pos;
        unsigned char v[10];
        int nv = 0;
        do {
            v[nv++] = (unsigned char)((inner & 127) | (inner > 127 ? 128 : 0));
            inner >>= 7;
        } while (inner);
        pos -= (size_t)nv;
        memcpy(deep + pos, v, (size_t)nv);
        deep[--pos] = j == 0 ? 0x3a : tags[(j - 1) % 3];
    }
    on_model *dm = deep ? on_onnx_parse(deep + pos, cap - pos, "deep.onnx", &err) : NULL;
    CHECK(deep && !dm && strstr(err.msg, "nested"), "deep nesting is rejected: %s", err.msg);
    on_model_free(dm);
    free(deep);
    free(c);
    free(b);
}

static void test_npy(void) {
    on_error err;
    char p[64];
    snprintf(p, sizeof p, "/tmp/test_onnx_%d.npy", (int)getpid());
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i * 0.5f - 3;
    int64_t shapes[4][4] = {{24}, {4, 6}, {2, 3, 4}, {1, 2, 3, 4}};
    for (int r = 1; r <= 4; r++) {
        on_array a;
        int ok = !on_npy_save(p, v, r, shapes[r - 1], &err) && !on_npy_load(p, &a, &err);
        CHECK(ok, "npy round trip, %d dims: %s", r, ok ? "" : err.msg);
        if (!ok) continue;
        CHECK(a.ndim == r && a.size == 24 && !memcmp(a.data, v, sizeof v), "npy %d dims equal", r);
        for (int i = 0; i < r; i++) CHECK(a.dims[i] == shapes[r - 1][i], "npy dim %d", i);
        on_array_free(&a);
        size_t len;
        unsigned char *b = slurp(p, &len);
        CHECK(b && (len - 24 * 4) % 64 == 0, "the data starts at a multiple of 64");
        for (size_t n = 0; b && n < len; n++) /* truncations */
            if (!on_npy_parse(b, n, "t.npy", &a, &err)) CHECK(0, "a truncated .npy was read");
        free(b);
    }
    static const char bad0[] = "\x93NUMPY\x01\x00\x3c\x00{'descr': '<u2', 'fortran_order': False, "
                               "'shape': (1,), }    \n\x01\x00";
    static const char bad1[] = "\x93NUMPY\x01\x00\x3c\x00{'descr': '<f4', 'fortran_order': True, "
                               "'shape': (1,), }     \n\x01\x00\x00\x00";
    static const char bad2[] = "NUMPY";
    const char *bad[] = {bad0, bad1, bad2};
    size_t blen[] = {sizeof bad0 - 1, sizeof bad1 - 1, sizeof bad2 - 1};
    const char *why[] = {"<u2", "Fortran", "magic"};
    for (int i = 0; i < 3; i++) {
        on_array a;
        int rc = on_npy_parse(bad[i], blen[i], "b.npy", &a, &err);
        CHECK(rc && strstr(err.msg, why[i]), "bad .npy %d: %s", i, rc ? err.msg : "accepted");
        if (!rc) on_array_free(&a);
    }
    /* integers (token ids): int64 and int32, converted exactly; beyond 2^24 an error naming
     * the position and the value */
    int64_t i64[4] = {3, -2, 16777216, 7};
    int32_t i32[4] = {0, 39, -5, 1 << 20};
    for (int t = 0; t < 3; t++) {
        unsigned char buf[256];
        const char *d = t == 1 ? "<i4" : "<i8";
        int hl = snprintf((char *)buf + 10, 200,
                          "{'descr': '%s', 'fortran_order': False, 'shape': (2, 2), }", d);
        while ((10 + hl + 1) % 64) buf[10 + hl++] = ' ';
        buf[10 + hl++] = '\n';
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)hl, buf[9] = 0;
        if (t == 2) i64[2] = 16777217;
        size_t dl = t == 1 ? sizeof i32 : sizeof i64; /* little-endian host (x86, arm) */
        memcpy(buf + 10 + hl, t == 1 ? (void *)i32 : (void *)i64, dl);
        on_array a;
        int rc = on_npy_parse(buf, 10 + (size_t)hl + dl, "ids.npy", &a, &err);
        if (t < 2) {
            float want[2][4] = {{3, -2, 16777216, 7}, {0, 39, -5, 1 << 20}};
            CHECK(!rc && a.ndim == 2 && a.size == 4 && !memcmp(a.data, want[t], sizeof want[t]),
                  "a %s .npy reads as exact floats: %s", d, rc ? err.msg : "");
            if (!rc) on_array_free(&a);
        } else {
            CHECK(rc && strstr(err.msg, "16777217") && strstr(err.msg, "[1, 0]") &&
                      strstr(err.msg, "ids.npy"),
                  "an integer beyond 2^24 is refused, naming its position: %s",
                  rc ? err.msg : "accepted");
            if (!rc) on_array_free(&a);
        }
    }
    remove(p);
}

/* Does b[0..n) hold the string s? */
static int has(const unsigned char *b, size_t n, const char *s) {
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (!memcmp(b + i, s, l)) return 1;
    return 0;
}

/* ordnet run / export in a child process. */
static int cli(const char *const *argv) {
    pid_t pid = fork();
    if (pid == 0) {
        execv(ORDNET_BIN, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The same, with stderr into the file err. */
static int cli_err(const char *const *argv, const char *err) {
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(err, "w", stderr)) _exit(126);
        execv(ORDNET_BIN, (char *const *)argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ordnet run on int64 token ids; an id outside the table is an error naming the input, the
 * position in the array and the id. */
static void test_cli_ids(void) {
    char out[64], bad[64], msg[64];
    snprintf(out, sizeof out, "/tmp/test_onnx_ids_%d.npy", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/test_onnx_badids_%d.npy", (int)getpid());
    snprintf(msg, sizeof msg, "/tmp/test_onnx_ids_%d.txt", (int)getpid());
    on_error err;
    on_array y, ref, x;
    const char *run1[] = {
        ORDNET_BIN, "run", DATA "/textcnn_op13.onnx", "-i", DATA "/textcnn_op13.x.npy", "-o", out,
        "--quiet",  NULL};
    CHECK(cli(run1) == 0, "ordnet run takes int64 token ids");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/textcnn_op13.y.npy", &ref, &err)) {
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "ordnet run on token ids matches PyTorch");
        on_array_free(&y);
        on_array_free(&ref);
    } else
        CHECK(0, "ordnet run on token ids: %s", err.msg);
    if (on_npy_load(DATA "/textcnn_op13.x.npy", &x, &err)) {
        CHECK(0, "%s", err.msg);
        return;
    }
    x.data[12 * 2 + 7] = 40; /* sample 2, position 7: the table has 40 rows */
    on_npy_save(bad, x.data, x.ndim, x.dims, &err);
    on_array_free(&x);
    const char *run2[] = {
        ORDNET_BIN, "run", DATA "/textcnn_op13.onnx", "-i", bad, "-o", out, "--batch", "2", NULL};
    CHECK(cli_err(run2, msg) == 1, "an id outside the table: exit 1");
    size_t len = 0;
    unsigned char *t = slurp(msg, &len);
    CHECK(t && has(t, len, "token id 40 at [2, 7]") && has(t, len, bad) &&
              has(t, len, "embedding 'emb'") && has(t, len, "0 to 39"),
          "... naming the input, the position, the id and the table: %.*s", (int)len,
          t ? (const char *)t : "");
    free(t);
    remove(out);
    remove(bad);
    remove(msg);
}

static void test_cli(void) {
    char out[64], exp[64];
    snprintf(out, sizeof out, "/tmp/test_onnx_run_%d.npy", (int)getpid());
    snprintf(exp, sizeof exp, "/tmp/test_onnx_exp_%d.onnx", (int)getpid());
    on_error err;
    on_array y, ref;
    const char *run1[] = {
        ORDNET_BIN, "run", DATA "/resnet18_w8.onnx", "--input", DATA "/resnet18_w8.x.npy", "-o",
        out,        NULL};
    CHECK(cli(run1) == 0, "ordnet run exits 0");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/resnet18_w8.y.npy", &ref, &err)) {
        CHECK(y.ndim == 2 && y.dims[0] == 2 && y.dims[1] == 10, "ordnet run writes (2, 10)");
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "ordnet run matches PyTorch");
        on_array_free(&y);
        on_array_free(&ref);
    } else
        CHECK(0, "ordnet run output: %s", err.msg);
    const char *run2[] = {ORDNET_BIN,
                          "run",
                          DATA "/softmax_head.onnx",
                          "--input",
                          DATA "/softmax_head.x.npy",
                          "-o",
                          out,
                          "--softmax",
                          NULL};
    CHECK(cli(run2) == 0, "ordnet run --softmax exits 0");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/softmax_head.y.npy", &ref, &err)) {
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "ordnet run --softmax matches PyTorch's Softmax");
        on_array_free(&y);
        on_array_free(&ref);
    }
    const char *ex[] = {ORDNET_BIN, "export", DATA "/conv1d.onnx", "-o", exp, NULL};
    CHECK(cli(ex) == 0, "ordnet export exits 0");
    const char *run3[] = {ORDNET_BIN, "run", exp, "--input", DATA "/conv1d.x.npy", "-o", out, NULL};
    CHECK(cli(run3) == 0, "ordnet run of the exported model exits 0");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/conv1d.y.npy", &ref, &err)) {
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "the exported conv1d model matches PyTorch");
        on_array_free(&y);
        on_array_free(&ref);
    }
    /* several outputs: one .npy each, with ONNX's dims, or one .npz; too few -o is an error */
    char out2[64], npz[64];
    snprintf(out2, sizeof out2, "/tmp/test_onnx_run2_%d.npy", (int)getpid());
    snprintf(npz, sizeof npz, "/tmp/test_onnx_run_%d.npz", (int)getpid());
    const char *run4[] = {ORDNET_BIN,
                          "run",
                          DATA "/heads_gap.onnx",
                          "--input",
                          DATA "/heads_gap.x.npy",
                          "-o",
                          out,
                          "-o",
                          out2,
                          NULL};
    CHECK(cli(run4) == 0, "ordnet run with two -o exits 0");
    const char *yref[2] = {DATA "/heads_gap.y.npy", DATA "/heads_gap.y1.npy"},
               *yout[2] = {out, out2};
    for (int k = 0; k < 2; k++) {
        if (!on_npy_load(yout[k], &y, &err) && !on_npy_load(yref[k], &ref, &err)) {
            int same = y.ndim == ref.ndim && y.ndim == 4;
            for (int i = 0; same && i < 4; i++) same = y.dims[i] == ref.dims[i];
            CHECK(same, "output %d is written (N,C,1,1) as ONNX says", k);
            CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
                  "output %d matches PyTorch", k);
            on_array_free(&y);
            on_array_free(&ref);
        } else
            CHECK(0, "output %d: %s", k, err.msg);
    }
    const char *run5[] = {
        ORDNET_BIN, "run", DATA "/heads_gap.onnx", "--input", DATA "/heads_gap.x.npy", "-o",
        npz,        NULL};
    CHECK(cli(run5) == 0, "ordnet run -o FILE.npz exits 0");
    size_t zl = 0;
    unsigned char *z = slurp(npz, &zl);
    CHECK(z && zl > 100 && !memcmp(z, "PK\x03\x04", 4) && has(z, zl, "output.npy") &&
              has(z, zl, "output1.npy"),
          "the .npz is a zip holding output.npy and output1.npy");
    free(z);
    const char *run6[] = {
        ORDNET_BIN, "run", DATA "/heads_gap.onnx", "--input", DATA "/heads_gap.x.npy", "-o", out,
        "--quiet",  NULL};
    CHECK(cli(run6) == 1, "two outputs and one -o Y.npy is an error");
    const char *run7[] = {ORDNET_BIN,
                          "run",
                          DATA "/feed_conv.onnx",
                          "--input",
                          DATA "/feed_conv.x.npy",
                          "--input",
                          "w=" DATA "/feed_conv.w.npy",
                          "-o",
                          out,
                          NULL};
    CHECK(cli(run7) == 0, "ordnet run --input w=FILE gives the weight");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/feed_conv.y.npy", &ref, &err)) {
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "the fed model matches PyTorch");
        on_array_free(&y);
        on_array_free(&ref);
    }
    const char *run8[] = {
        ORDNET_BIN, "run", DATA "/feed_conv.onnx", "--input", DATA "/feed_conv.x.npy", "-o",
        out,        NULL};
    CHECK(cli(run8) == 1, "without the weight, ordnet run refuses the model");
    const char *run9[] = {
        ORDNET_BIN, "run", DATA "/feed_dyn.onnx", "--input", DATA "/feed_dyn.x.npy", "-o",
        out,        NULL};
    CHECK(cli(run9) == 0, "ordnet run takes open input dimensions from the array");
    if (!on_npy_load(out, &y, &err) && !on_npy_load(DATA "/feed_dyn.y.npy", &ref, &err)) {
        CHECK(y.size == ref.size && relerr(y.data, ref.data, y.size) <= TOL,
              "the open-dimension model matches PyTorch");
        on_array_free(&y);
        on_array_free(&ref);
    }
    remove(out2);
    remove(npz);
    const char *bad[] = {
        ORDNET_BIN, "run", DATA "/conv1d.onnx", "--input", DATA "/resnet18_w8.x.npy", "-o",
        out,        NULL};
    CHECK(cli(bad) == 1, "ordnet run refuses an input of the wrong shape");
    remove(out);
    remove(exp);
}

int main(void) {
    test_all_cases();
    test_structure();
    test_feeds();
    test_embedding();
    test_export_all_ops();
    test_errors();
    test_npy();
    test_cli();
    test_cli_ids();
    return check_done();
}
