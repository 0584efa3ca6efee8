/* cmd_run.c - inference on a NumPy array: for scripts, and for checking ordnet against
 * other frameworks on the same model (an ONNX file) and the same input. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The array's shape must be the model's input, with a batch dimension first or none. */
static int batch_of(const on_array *x, on_shape in, int *n) {
    int64_t want[3] = {in.c, in.rank == 3 ? in.h : in.w, in.w};
    int r = in.rank, lead = x->ndim - r;
    if (lead != 0 && lead != 1) return -1;
    for (int i = 0; i < r; i++)
        if (x->dims[lead + i] != want[i]) return -1;
    *n = lead ? (int)x->dims[0] : 1;
    return lead && x->dims[0] > (1 << 30) ? -1 : 0;
}

static void softmax_rows(float *y, size_t n, int k) {
    for (size_t i = 0; i < n; i++) {
        float *r = y + i * (size_t)k, mx = r[0];
        double s = 0;
        for (int j = 1; j < k; j++) mx = r[j] > mx ? r[j] : mx;
        for (int j = 0; j < k; j++) s += r[j] = expf(r[j] - mx);
        for (int j = 0; j < k; j++) r[j] = (float)(r[j] / s);
    }
}

static int run(args *a) {
    const char *model = NULL, *in = NULL, *out = NULL;
    int soft = 0, batch = 64, quiet = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--input") || is_opt(a, "-i"))
            in = opt_value(a);
        else if (is_opt(a, "-o") || is_opt(a, "--out"))
            out = opt_value(a);
        else if (is_opt(a, "--softmax"))
            soft = 1;
        else if (is_opt(a, "--quiet"))
            quiet = 1;
        else if (is_opt(a, "--batch"))
            batch = (int)opt_num(a, 1, 65536);
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet run: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model || !in || !out) {
        fprintf(stderr, "usage: ordnet run MODEL --input X.npy -o Y.npy [--softmax] [--batch N]\n");
        return 2;
    }
    on_error err;
    on_array x = {0};
    float *y = NULL, *buf = NULL;
    int rc = 1, n;
    on_model *m = load_trained(model, NULL, &err);
    if (!m || on_npy_load(in, &x, &err)) goto fail;
    on_shape is = on_model_node_shape(m, 0), os = on_model_output_shape(m);
    char s1[48];
    if (batch_of(&x, is, &n)) {
        fprintf(stderr, "ordnet run: %s: the model takes (N,%s (or one sample %s), the array is (",
                in, on_shape_str(is, s1, sizeof s1) + 1, s1);
        for (int i = 0; i < x.ndim; i++)
            fprintf(stderr, "%s%lld", i ? "," : "", (long long)x.dims[i]);
        fprintf(stderr, ")\n");
        goto done;
    }
    if (soft && os.rank != 1) {
        fprintf(stderr, "ordnet run: --softmax needs a model with flat outputs (N, classes)\n");
        goto done;
    }
    if (batch > n) batch = n;
    if (on_model_compile(m, batch, &err)) goto fail;
    size_t per_in = on_shape_size(is), per_out = on_shape_size(os);
    y = malloc(sizeof(float) * per_out * (size_t)n);
    buf = malloc(sizeof(float) * per_in * (size_t)batch);
    if (!y || !buf) {
        fprintf(stderr, "ordnet run: out of memory\n");
        goto done;
    }
    /* a checkpoint's input normalization, applied as on_evaluate does: (x - mean) * (1/std) */
    const float *mean, *sd;
    int norm = on_model_normalization(m, &mean, &sd);
    size_t plane = per_in / (size_t)is.c;
    for (int i0 = 0; i0 < n; i0 += batch) {
        int b = n - i0 < batch ? n - i0 : batch;
        memcpy(buf, x.data + (size_t)i0 * per_in, sizeof(float) * per_in * (size_t)b);
        for (int s = 0; norm && s < b; s++)
            for (int c = 0; c < is.c; c++) {
                float mu = mean[c], inv = 1.0f / sd[c], *p = buf + s * per_in + c * plane;
                for (size_t j = 0; j < plane; j++) p[j] = (p[j] - mu) * inv;
            }
        if (on_model_forward(m, buf, b, 0)) {
            fprintf(stderr, "ordnet run: forward failed: %s\n", on_model_last_error(m));
            goto done;
        }
        memcpy(y + (size_t)i0 * per_out, on_model_output(m), sizeof(float) * per_out * (size_t)b);
    }
    if (soft) softmax_rows(y, (size_t)n, os.c);
    int64_t dims[4] = {n, os.c, os.rank == 3 ? os.h : os.w, os.w};
    if (on_npy_save(out, y, os.rank + 1, dims, &err)) goto fail;
    if (!quiet) {
        const char *notes = on_model_notes(m);
        if (*notes) fprintf(stderr, "note: %s", notes);
        printf("%s: %d inputs -> %s (N,%s%s\n", model, n, out, on_shape_str(os, s1, sizeof s1) + 1,
               soft ? " softmax" : "");
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "ordnet run: %s\n", err.msg);
done:
    free(y);
    free(buf);
    on_array_free(&x);
    on_model_free(m);
    return rc;
}

const command cmd_run = {
    "run", run, "run a model on a NumPy array (inference), write the outputs as .npy",
    "usage: ordnet run MODEL --input X.npy -o Y.npy [--softmax] [--batch N] [--quiet]\n"
    "MODEL: an ONNX file or a checkpoint. X.npy: float32 (or float64) samples in the model's\n"
    "layout, channels first: (N,C,H,W) for images, (N,C,L) for 1-D signals, (N,F) for\n"
    "features; one sample without N is taken as N = 1. Runs in eval mode (BatchNorm with its\n"
    "running statistics, no dropout) and writes the outputs as float32 Y.npy, (N,classes)\n"
    "for a classifier. ordnet models output logits: a Softmax at the end of an ONNX model is\n"
    "dropped when it is read (a note says so); --softmax applies it. A checkpoint's input\n"
    "normalization is applied first, as eval and predict do. --batch: samples per forward\n"
    "pass (default 64). See docs/ONNX.md.\n"};
