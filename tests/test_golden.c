/* test_golden.c - ordnet against PyTorch: every golden/data/NAME.safetensors case written by
 * golden/gen.py (see the top of that file for the format).
 *
 * Model cases: build the model from the `spec` metadata (compact form, merges included),
 * compile for the file's batch, load every
 * parameter and state tensor (a model tensor missing from the file, or a file tensor the
 * model does not have, is a failure), run forward in the file's `mode` and compare y, set
 * dy, backward and compare dx and every grad.*, and in train mode the BatchNorm running
 * statistics after the forward pass (after.*); in eval mode they must not change.
 * Loss cases (metadata `smoothing`): on_softmax_xent against logits, labels, loss and
 * dlogits; with metadata `binary` (logits / probs), on_binary_xent against PyTorch's
 * BCEWithLogitsLoss / BCELoss.
 *
 * Error of a tensor: max |a - b| / (max |b| + 1e-6), a = ordnet, b = reference; it must
 * be <= 1e-5. Gradients listed in `zero_grads` are analytically zero (only rounding noise
 * is left); they are measured against the largest reference gradient of their layer.
 *
 * The safetensors reader and writer (src/io/safetensors.c) are checked first: a round
 * trip, the atomic write, malformed headers that must be rejected with a message, and
 * random corruptions of a valid file that must never crash (run this under ASan).
 *
 * Eval-mode cases run their forward a second time with Winograd F(4x4, 3x3) (inference's
 * kernel for large images, src/ops/conv_wino4.c) on every 3x3 stride-1 convolution, whatever
 * its size, held to the same tolerance ("y F(4x4)").
 *
 * Finally every registered op must appear in at least one case (op-coverage).
 *
 * Output: one line per case, the largest error over all cases, and "N passed, M failed".
 */
#include "io/safetensors.h"
#include "ordnet.h"
#include "../src/ops/conv_variant.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOL 1e-5
#define DATA_DIR "golden/data"

static double g_worst = 0;
static int g_op_used[256]; /* registered ops met in the cases' models, by index */
static char g_worst_case[512] = "";

/* ----- error measure ----- */

static double max_abs(const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)b[i]) > m) m = fabs((double)b[i]);
    return m;
}

/* max |a-b| / (scale + 1e-6), scale < 0: max |b|. NaN or Inf in a gives INFINITY. */
static double relerr(const float *a, const float *b, size_t n, double scale) {
    double d = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d)) d = isnan(e) ? INFINITY : e;
    }
    return d / ((scale < 0 ? max_abs(b, n) : scale) + 1e-6);
}

/* The state of one case: its worst error and the first failure. */
typedef struct result {
    double worst;
    char worst_what[160];
    char fail[600];
} result;

static int fail(result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(result *r, const char *fmt, ...) {
    if (r->fail[0]) return -1; /* keep the first */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fail, sizeof r->fail, fmt, ap);
    va_end(ap);
    return -1;
}

static void measure(result *r, const char *what, double e) {
    if (!(e <= r->worst)) {
        r->worst = e;
        snprintf(r->worst_what, sizeof r->worst_what, "%s", what);
    }
    if (!(e <= TOL)) fail(r, "%s: error %.3g > %.0e", what, e, TOL);
}

/* The reference tensor `name` as floats with n elements, or NULL (failure recorded). */
static const float *ref(const on_st_file *f, const char *name, size_t n, result *r) {
    const on_st_tensor *t = on_st_find(f, name);
    if (!t) return fail(r, "tensor '%s' missing from the file", name), NULL;
    if (t->dtype != ON_ST_F32) return fail(r, "tensor '%s' is not F32", name), NULL;
    if (t->size != n)
        return fail(r, "tensor '%s' has %zu values, ordnet has %zu", name, t->size, n), NULL;
    return t->f;
}

static void compare(result *r, const on_st_file *f, const char *name, const float *a, size_t n,
                    double scale) {
    const float *b = ref(f, name, n, r);
    if (b) measure(r, name, relerr(a, b, n, scale));
}

/* The model of a case: its spec in the compact form (merges such as add(LAYER) and from=,
 * name= included). */
static on_model *build(const char *spec, on_error *err) {
    return on_model_from_spec(spec, err);
}

/* dims of one sample of shape s, channels first */
static int sample_dims(on_shape s, int64_t *d) {
    if (s.rank == 1) return d[0] = s.c, 1;
    if (s.rank == 2) return d[0] = s.c, d[1] = s.w, 2;
    return d[0] = s.c, d[1] = s.h, d[2] = s.w, 3;
}

/* The file tensor `name` must be (n, sample shape s). */
static const float *batch_tensor(const on_st_file *f, const char *name, int n, on_shape s,
                                 result *r) {
    const on_st_tensor *t = on_st_find(f, name);
    int64_t d[3];
    int nd = sample_dims(s, d);
    if (!t || t->dtype != ON_ST_F32) return fail(r, "no F32 tensor '%s'", name), NULL;
    int ok = t->ndims == nd + 1 && t->dims[0] == n;
    for (int k = 0; ok && k < nd; k++) ok = t->dims[k + 1] == d[k];
    if (!ok) {
        char sb[48];
        fail(r, "'%s' is not a batch of %d samples of shape %s", name, n,
             on_shape_str(s, sb, sizeof sb));
        return NULL;
    }
    return t->f;
}

static int starts(const char *s, const char *p) {
    return !strncmp(s, p, strlen(p));
}

static void run_model_case(const on_st_file *f, result *r) {
    const char *spec = on_st_meta(f, "spec"), *mode = on_st_meta(f, "mode");
    const char *zeros = on_st_meta(f, "zero_grads");
    if (!spec || !mode) {
        fail(r, "metadata 'spec' or 'mode' missing");
        return;
    }
    int train = !strcmp(mode, "train");
    if (!train && strcmp(mode, "eval")) {
        fail(r, "mode '%s' is neither train nor eval", mode);
        return;
    }
    on_error err = {{0}};
    on_model *m = build(spec, &err);
    if (!m) {
        fail(r, "spec '%s': %s", spec, err.msg);
        return;
    }
    for (int i = 1; i < on_model_num_nodes(m); i++)
        for (int k = 0; k < on_op_count() && k < 256; k++)
            if (on_op_at(k) == on_model_node_op(m, i)) g_op_used[k] = 1;
    const on_st_tensor *xt = on_st_find(f, "x");
    float *saved = NULL;
    if (!xt || xt->ndims < 2 || xt->dims[0] < 1 || xt->dims[0] > 1024) {
        fail(r, "no usable input tensor 'x'");
        goto done;
    }
    int n = (int)xt->dims[0];
    on_shape in = on_model_node_shape(m, 0), out = on_model_output_shape(m);
    const float *x = batch_tensor(f, "x", n, in, r), *dy = batch_tensor(f, "dy", n, out, r);
    if (!x || !dy || !batch_tensor(f, "y", n, out, r) || !batch_tensor(f, "dx", n, in, r))
        goto done;
    on_model_want_input_grad(m, 1);
    on_conv_variant = ON_CONV_AB; /* scratch for F(4x4) too */
    int bad = on_model_compile(m, n, &err);
    on_conv_variant = 0;
    if (bad) {
        fail(r, "compile: %s", err.msg);
        goto done;
    }
    /* parameters and state */
    int nt = on_model_num_tensors(m);
    for (int i = 0; i < nt; i++) {
        const char *name = on_model_tensor_name(m, i);
        const on_st_tensor *t = on_st_find(f, name);
        int dims[4], nd = on_model_tensor_dims(m, i, dims);
        if (!t) {
            fail(r, "model tensor '%s' is missing from the file", name);
            goto done;
        }
        int ok = t->dtype == ON_ST_F32 && t->ndims == nd && t->size == on_model_tensor_size(m, i);
        for (int k = 0; ok && k < nd; k++) ok = t->dims[k] == dims[k];
        if (!ok) {
            fail(r, "tensor '%s': the file's shape differs from the model's", name);
            goto done;
        }
        memcpy(on_model_tensor_data(m, i), t->f, sizeof(float) * t->size);
    }
    /* every file tensor must be known */
    for (int i = 0; i < on_st_count(f); i++) {
        const char *name = on_st_name(f, i), *base = name;
        if (!strcmp(name, "x") || !strcmp(name, "y") || !strcmp(name, "dx") || !strcmp(name, "dy"))
            continue;
        if (starts(name, "grad."))
            base = name + 5;
        else if (starts(name, "after."))
            base = name + 6;
        int ti = on_model_tensor_find(m, base);
        if (ti < 0 ||
            (base != name && (starts(name, "grad.") != (on_model_tensor_grad(m, ti) != NULL)))) {
            fail(r, "file tensor '%s' does not match a model tensor", name);
            goto done;
        }
    }
    /* the state before the forward pass, for eval mode's "unchanged" check */
    size_t total = 0;
    for (int i = 0; i < nt; i++) total += on_model_tensor_size(m, i);
    saved = malloc(sizeof(float) * (total + 1));
    if (!saved) {
        fail(r, "out of memory");
        goto done;
    }
    for (int i = 0, off = 0; i < nt; i++) {
        memcpy(saved + off, on_model_tensor_data(m, i), sizeof(float) * on_model_tensor_size(m, i));
        off += (int)on_model_tensor_size(m, i);
    }
    size_t ysz = (size_t)n * on_shape_size(out), xsz = (size_t)n * on_shape_size(in);
    if (on_model_forward(m, x, n, train)) {
        fail(r, "forward failed");
        goto done;
    }
    compare(r, f, "y", on_model_output(m), ysz, -1);
    const float *yref = ref(f, "y", ysz, r);
    if (!train && yref) { /* then the default forward again, for the backward */
        on_conv_variant = ON_CONV_AB | ON_CONV_WINO4_ALL;
        if (on_model_forward(m, x, n, 0))
            fail(r, "forward with F(4x4) failed");
        else
            measure(r, "y F(4x4)", relerr(on_model_output(m), yref, ysz, -1));
        on_conv_variant = ON_CONV_AB;
        if (on_model_forward(m, x, n, 0)) fail(r, "forward failed");
        on_conv_variant = 0;
    }
    on_model_set_output_grad(m, dy);
    on_model_zero_grad(m);
    if (on_model_backward(m)) {
        fail(r, "backward failed");
        goto done;
    }
    compare(r, f, "dx", on_model_input_grad(m), xsz, -1);
    for (int i = 0, off = 0; i < nt; off += (int)on_model_tensor_size(m, i), i++) {
        const char *name = on_model_tensor_name(m, i);
        size_t sz = on_model_tensor_size(m, i);
        char key[300];
        float *g = on_model_tensor_grad(m, i);
        if (g) {
            snprintf(key, sizeof key, "grad.%s", name);
            double scale = -1;
            size_t kl = strlen(key);
            int is_zero = 0;
            for (const char *p = zeros; p && (p = strstr(p, key)); p += kl)
                if ((p == zeros || p[-1] == ',') && (p[kl] == ',' || !p[kl])) is_zero = 1;
            if (is_zero) { /* largest reference gradient of the same layer */
                const char *dot = strrchr(name, '.');
                scale = 0;
                for (int j = 0; j < nt; j++) {
                    const char *o = on_model_tensor_name(m, j);
                    char ok2[300];
                    if (!on_model_tensor_grad(m, j) || strncmp(o, name, (size_t)(dot - name) + 1) ||
                        strchr(o + (dot - name) + 1, '.'))
                        continue;
                    snprintf(ok2, sizeof ok2, "grad.%s", o);
                    const float *b = ref(f, ok2, on_model_tensor_size(m, j), r);
                    if (b && max_abs(b, on_model_tensor_size(m, j)) > scale)
                        scale = max_abs(b, on_model_tensor_size(m, j));
                }
            }
            compare(r, f, key, g, sz, scale);
        } else if (train) {
            snprintf(key, sizeof key, "after.%s", name);
            compare(r, f, key, on_model_tensor_data(m, i), sz, -1);
        } else if (memcmp(saved + off, on_model_tensor_data(m, i), sizeof(float) * sz)) {
            fail(r, "state tensor '%s' changed in eval mode", name);
        }
    }
done:
    free(saved);
    on_model_free(m);
}

static void run_loss_case(const on_st_file *f, result *r) {
    const char *sm = on_st_meta(f, "smoothing");
    const on_st_tensor *lg = on_st_find(f, "logits"), *lb = on_st_find(f, "labels");
    if (!lg || lg->dtype != ON_ST_F32 || lg->ndims != 2 || !lb || !lb->i || lb->ndims != 1 ||
        lb->dims[0] != lg->dims[0] || lg->dims[0] < 1 || lg->dims[1] < 1) {
        fail(r, "loss case needs logits (N,K) F32 and labels (N) integers");
        return;
    }
    int n = (int)lg->dims[0], k = (int)lg->dims[1];
    float s = strtof(sm, NULL);
    float *d = malloc(sizeof(float) * lg->size);
    if (!d) {
        fail(r, "out of memory");
        return;
    }
    const char *bin = on_st_meta(f, "binary");
    if (bin && k != 1) {
        free(d);
        fail(r, "a binary loss case needs logits (N,1)");
        return;
    }
    float loss = bin ? on_binary_xent(lg->f, lb->i, n, s, !strcmp(bin, "logits"), d)
                     : on_softmax_xent(lg->f, lb->i, n, k, s, d);
    compare(r, f, "loss", &loss, 1, -1);
    compare(r, f, "dlogits", d, lg->size, -1);
    free(d);
}

/* ----- the safetensors reader and writer ----- */

static int st_checks, st_fails;
#define ST_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        st_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            st_fails++;                                                                            \
            printf("  safetensors check failed (line %d): ", __LINE__);                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)

/* A file in memory: 8-byte length, the header, then `data` bytes of 0x11. */
static unsigned char *mkfile(const char *hdr, size_t data, size_t *len) {
    size_t h = strlen(hdr);
    unsigned char *b = malloc(8 + h + data + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, hdr, h);
    memset(b + 8 + h, 0x11, data);
    *len = 8 + h + data;
    return b;
}

/* The header must be rejected with a message containing `want`. */
static void bad_header(const char *hdr, size_t data, const char *want) {
    size_t len;
    unsigned char *b = mkfile(hdr, data, &len);
    on_error err = {{0}};
    on_st_file *f = on_st_parse(b, len, "model.ckpt", &err);
    ST_CHECK(!f && strstr(err.msg, want) && strstr(err.msg, "model.ckpt"),
             "header %s: got %s, message '%s', want '%s'", hdr, f ? "a file" : "NULL", err.msg,
             want);
    on_st_free(f);
    free(b);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void safetensors_checks(void) {
    on_error err = {{0}};
    char path[256], tmp[300];
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/ordnet_test_golden_%ld.safetensors", dir, (long)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());

    /* round trip */
    float w[24], s1 = 3.5f;
    for (int i = 0; i < 24; i++) w[i] = (float)i * 0.25f - 2.0f;
    int lab[3] = {2, -7, 2147483647};
    int64_t dw[4] = {2, 3, 2, 2}, dl[1] = {3}, dz[2] = {0, 5};
    on_st_writer *wr = on_st_writer_new();
    ST_CHECK(wr && !on_st_writer_add(wr, "conv2d.weight", w, 4, dw, &err), "add: %s", err.msg);
    ST_CHECK(!on_st_writer_add(wr, "scalar", &s1, 0, NULL, &err), "add scalar: %s", err.msg);
    ST_CHECK(!on_st_writer_add(wr, "empty", w, 2, dz, &err), "add empty: %s", err.msg);
    ST_CHECK(!on_st_writer_add_int(wr, "labels", lab, 1, dl, &err), "add int: %s", err.msg);
    ST_CHECK(on_st_writer_add(wr, "scalar", &s1, 0, NULL, &err) && strstr(err.msg, "twice"),
             "duplicate name accepted");
    ST_CHECK(on_st_writer_add(wr, "__metadata__", &s1, 0, NULL, &err), "reserved name accepted");
    ST_CHECK(!on_st_writer_meta(wr, "spec", "input(4) dense(\"2\")", &err), "meta: %s", err.msg);
    ST_CHECK(!on_st_writer_meta(wr, "step", "1", &err) && !on_st_writer_meta(wr, "step", "2", &err),
             "meta replace: %s", err.msg);
    ST_CHECK(!on_st_write(wr, path, &err), "write: %s", err.msg);
    ST_CHECK(access(tmp, F_OK) != 0, "temporary file left behind");
    on_st_file *f = on_st_read(path, &err);
    ST_CHECK(f != NULL, "read back: %s", err.msg);
    if (f) {
        ST_CHECK(on_st_count(f) == 4 && !strcmp(on_st_name(f, 0), "conv2d.weight") &&
                     !strcmp(on_st_name(f, 3), "labels"),
                 "names or order differ");
        int nd;
        int64_t d[ON_ST_MAX_DIMS];
        const float *p = on_st_find_f32(f, "conv2d.weight", &nd, d);
        ST_CHECK(p && nd == 4 && d[0] == 2 && d[1] == 3 && d[3] == 2 && !memcmp(p, w, sizeof w),
                 "weight differs");
        const on_st_tensor *t = on_st_find(f, "scalar");
        ST_CHECK(t && t->ndims == 0 && t->size == 1 && t->f[0] == 3.5f, "scalar differs");
        t = on_st_find(f, "empty");
        ST_CHECK(t && t->ndims == 2 && t->size == 0 && t->f, "empty tensor differs");
        t = on_st_find(f, "labels");
        ST_CHECK(t && t->dtype == ON_ST_I64 && t->i && !memcmp(t->i, lab, sizeof lab) && !t->f,
                 "labels differ");
        ST_CHECK(!on_st_find(f, "nope") && !on_st_find_f32(f, "labels", NULL, NULL), "find");
        ST_CHECK(on_st_meta(f, "spec") && !strcmp(on_st_meta(f, "spec"), "input(4) dense(\"2\")") &&
                     !strcmp(on_st_meta(f, "step"), "2") && on_st_meta_count(f) == 2,
                 "metadata differs");
        on_st_free(f);
    }
    /* the header is padded so that the data starts 8-byte aligned */
    FILE *fp = fopen(path, "rb");
    unsigned char h8[8] = {0};
    ST_CHECK(fp && fread(h8, 1, 8, fp) == 8 && h8[0] % 8 == 0, "header length not a multiple of 8");
    if (fp) fclose(fp);
    /* overwrite: the new content replaces the old */
    on_st_writer *w2 = on_st_writer_new();
    ST_CHECK(!on_st_writer_add(w2, "only", w, 1, dl, &err) && !on_st_write(w2, path, &err),
             "rewrite: %s", err.msg);
    f = on_st_read(path, &err);
    ST_CHECK(f && on_st_count(f) == 1 && on_st_meta_count(f) == 0, "rewrite not seen");
    on_st_free(f);
    /* a failing write leaves the old file and no temporary */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no_such_dir_%ld/x.safetensors", dir, (long)getpid());
    ST_CHECK(on_st_write(wr, bad, &err) && strstr(err.msg, bad), "write into a missing dir: '%s'",
             err.msg);
    char dpath[300], dtmp[340];
    snprintf(dpath, sizeof dpath, "%s/ordnet_test_golden_dir_%ld", dir, (long)getpid());
    snprintf(dtmp, sizeof dtmp, "%s.tmp.%ld", dpath, (long)getpid());
    mkdir(dpath, 0700);
    ST_CHECK(on_st_write(wr, dpath, &err) && access(dtmp, F_OK) != 0,
             "rename over a directory: should fail and remove the temporary ('%s')", err.msg);
    rmdir(dpath);
    f = on_st_read(path, &err);
    ST_CHECK(f && on_st_count(f) == 1, "old file damaged by failed writes");
    on_st_free(f);
    on_st_writer_free(w2);
    ST_CHECK(!on_st_read(bad, &err) && strstr(err.msg, bad), "reading a missing file");
    ST_CHECK(!on_st_read(dir, &err), "reading a directory");

    /* malformed files */
    size_t len;
    on_st_file *ok;
    unsigned char *b = mkfile("{}", 0, &len);
    ok = on_st_parse(b, len, "x", &err);
    ST_CHECK(ok && on_st_count(ok) == 0, "empty header rejected: %s", err.msg);
    on_st_free(ok);
    ST_CHECK(!on_st_parse(b, 5, "model.ckpt", &err) && strstr(err.msg, "too short"), "5 bytes");
    b[0] = 200;
    ST_CHECK(!on_st_parse(b, len, "model.ckpt", &err) && strstr(err.msg, "header length"),
             "length beyond the file");
    memset(b, 0xff, 8);
    ST_CHECK(!on_st_parse(b, len, "model.ckpt", &err) && strstr(err.msg, "header length"),
             "length 2^64-1");
    free(b);
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 16,
               "not valid JSON");
    bad_header("[1,2]", 0, "not a JSON object");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}} xx", 16,
               "unexpected bytes");
    bad_header("{\"conv2d.weight\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}",
               64, "tensor 'conv2d.weight': data_offsets [0,100] outside the 64-byte data section");
    bad_header("{\"a\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8,
               "not supported");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16,
               "shape entry 0");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,16]}}", 16,
               "shape entry 0");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":\"4\",\"data_offsets\":[0,16]}}", 16,
               "\"shape\"");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
               4, "dimensions");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
               "\"data_offsets\":[0,16]}}",
               16, "more bytes");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16,
               "begin after");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16,
               "needs 12 bytes");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}", 16,
               "[begin, end]");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1e300]}}", 16,
               "non-negative");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,-16]}}", 16,
               "non-negative");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, "data_offsets");
    bad_header("{\"a\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "dtype");
    bad_header("{\"a\":7}", 16, "not a JSON object");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "appears twice");
    bad_header("{\"__metadata__\":{\"k\":5}}", 0, "not a string");
    bad_header("{\"__metadata__\":[1]}", 0, "__metadata__");
    bad_header("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty name");
    bad_header("{\"l\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16,
               "does not fit");
    { /* nesting deeper than cJSON's limit, and a NUL inside a name */
        char deep[4200];
        memset(deep, '[', 2100);
        memset(deep + 2100, ']', 2100);
        deep[4199] = 0;
        deep[4198] = ']';
        bad_header(deep, 0, "JSON");
        unsigned char *z =
            mkfile("{\"ab\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a?\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                   4, &len);
        unsigned char *q = (unsigned char *)strchr((char *)z + 8, '?');
        *q = 0; /* "a\0" */
        ok = on_st_parse(z, len, "x", &err);
        ST_CHECK(ok ? on_st_find(ok, "a") != NULL : strstr(err.msg, "x:") != NULL, "NUL in a name");
        on_st_free(ok);
        free(z);
    }
    b = mkfile("{\"z\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[0,0]},"
               "\"l\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ",
               8, &len);
    ok = on_st_parse(b, len, "x", &err);
    ST_CHECK(ok && on_st_find(ok, "z")->size == 0 && on_st_find(ok, "l")->i[0] == 0x11111111,
             "zero-size and I32 tensors: %s", ok ? "wrong values" : err.msg);
    on_st_free(ok);
    free(b);

    /* random corruptions of a valid file: any result but a crash */
    fp = fopen(path, "rb");
    unsigned char good[4096];
    size_t glen = fp ? fread(good, 1, sizeof good, fp) : 0;
    if (fp) fclose(fp);
    f = on_st_read(path, &err);
    ST_CHECK(glen > 16 && f, "no file to corrupt");
    on_st_free(f);
    unsigned char *mut = malloc(sizeof good);
    int accepted = 0;
    for (int it = 0; glen > 16 && it < 20000; it++) {
        memcpy(mut, good, glen);
        size_t mlen = glen;
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            size_t hl = good[0] | (size_t)good[1] << 8; /* mostly inside the JSON header */
            size_t span = rng() % 4 && hl + 8 < mlen ? hl : mlen - 8;
            size_t at = 8 + rng() % span;
            switch (rng() % 6) {
            case 0:
                mut[at] = (unsigned char)rng();
                break;
            case 1:
                mut[at] ^= (unsigned char)(1u << (rng() % 8));
                break;
            case 2:
                mut[at] = "0123456789[]{},:\"-e."[rng() % 20];
                break;
            case 3:
                mlen = at;
                break; /* truncate */
            case 4:
                mut[rng() % 8] = (unsigned char)rng();
                break; /* header length */
            case 5:
                mut[at] = ' ';
                break;
            }
            if (mlen <= 8) break;
        }
        /* copy to an exact-size buffer so that ASan sees any read past the end */
        unsigned char *exact = malloc(mlen ? mlen : 1);
        memcpy(exact, mut, mlen);
        on_st_file *g = on_st_parse(exact, mlen, "fuzz", &err);
        if (g) {
            accepted++;
            for (int i = 0; i < on_st_count(g); i++) {
                const on_st_tensor *t = on_st_at(g, i);
                volatile float sink = 0;
                for (size_t j = 0; j < t->size; j++) sink += t->f ? t->f[j] : (float)t->i[j];
                (void)sink;
            }
        } else {
            ST_CHECK(err.msg[0] && strstr(err.msg, "fuzz"), "rejection without a message");
        }
        on_st_free(g);
        free(exact);
    }
    free(mut);
    on_st_writer_free(wr);
    remove(path);
    printf("  safetensors: %d checks, %d corrupted files accepted of 20000\n", st_checks, accepted);
}

/* ----- main ----- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    int passed = 0, failed = 0;
    safetensors_checks();
    if (st_fails) {
        printf("FAIL safetensors-io  %d of %d checks failed\n", st_fails, st_checks);
        failed++;
    } else {
        printf("ok   safetensors-io  %d checks\n", st_checks);
        passed++;
    }

    DIR *d = opendir(DATA_DIR);
    char **names = NULL;
    int nn = 0, cap = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l <= 12 || strcmp(e->d_name + l - 12, ".safetensors")) continue;
            if (nn == cap) {
                cap = cap ? 2 * cap : 64;
                names = realloc(names, sizeof *names * (size_t)cap);
            }
            names[nn] = malloc(l + 1);
            memcpy(names[nn++], e->d_name, l + 1);
        }
        closedir(d);
    }
    if (nn == 0) {
        printf("FAIL no golden cases found in %s (run from tests/; generate with golden/gen.py)\n",
               DATA_DIR);
        failed++;
    }
    if (nn) qsort(names, (size_t)nn, sizeof *names, cmp_str);
    for (int i = 0; i < nn; i++) {
        char path[512], cname[256];
        snprintf(path, sizeof path, "%s/%s", DATA_DIR, names[i]);
        snprintf(cname, sizeof cname, "%.*s", (int)(strlen(names[i]) - 12), names[i]);
        result r = {0};
        on_error err = {{0}};
        on_st_file *f = on_st_read(path, &err);
        if (!f)
            fail(&r, "cannot load: %s", err.msg);
        else if (on_st_meta(f, "smoothing"))
            run_loss_case(f, &r);
        else
            run_model_case(f, &r);
        on_st_free(f);
        if (r.fail[0]) {
            printf("FAIL %-32s max err %.2e (%s): %s\n", cname, r.worst, r.worst_what, r.fail);
            failed++;
        } else {
            printf("ok   %-32s max err %.2e (%s)\n", cname, r.worst, r.worst_what);
            passed++;
        }
        if (!(r.worst <= g_worst)) {
            g_worst = r.worst;
            snprintf(g_worst_case, sizeof g_worst_case, "%s: %s", cname, r.worst_what);
        }
        free(names[i]);
    }
    free(names);
    /* every registered op must have at least one case */
    char missing[1024] = "";
    for (int k = 0; k < on_op_count() && nn; k++)
        if (k >= 256 || !g_op_used[k])
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s",
                     on_op_name(on_op_at(k)));
    if (missing[0]) {
        printf("FAIL op-coverage  registered ops without a golden case (add them to "
               "golden/gen.py):%s\n",
               missing);
        failed++;
    } else if (nn) {
        printf("ok   op-coverage  all %d registered ops have golden cases\n", on_op_count());
        passed++;
    }
    printf("largest error over all cases: %.3e (%s), tolerance %.0e\n", g_worst, g_worst_case, TOL);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
