/* cmd_run.c - inference on NumPy arrays: for scripts, and for checking ordnet against other
 * frameworks on the same model (an ONNX file) and the same input. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 64

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

/* Token ids for the embeddings that read the input: whole numbers in [0, vocab). Checked
 * over the whole array before the first batch, so that the error names the position in the
 * array given (the layer's own check, which stops any read out of the table, counts
 * samples within one batch). what names the input. */
static int check_ids(on_model *m, const on_array *x, int n, const char *what) {
    const on_op *emb = on_op_find("embedding");
    size_t per = on_shape_size(on_model_node_shape(m, 0));
    for (int i = 1; i < on_model_num_nodes(m); i++) {
        if (on_model_node_op(m, i) != emb || on_model_node_input(m, i, 0) != 0) continue;
        char t[256];
        snprintf(t, sizeof t, "%s.weight", on_model_node_name(m, i));
        int ti = on_model_tensor_find(m, t), dims[4];
        if (ti < 0 || on_model_tensor_dims(m, ti, dims) != 2) continue;
        for (size_t j = 0; j < (size_t)n * per; j++) {
            float v = x->data[j];
            if (v == floorf(v) && v >= 0 && v < (float)dims[0]) continue;
            char at[64];
            if (x->ndim == 2)
                snprintf(at, sizeof at, "[%zu, %zu]", j / per, j % per);
            else
                snprintf(at, sizeof at, "[%zu]", j);
            fprintf(stderr,
                    "ordnet run: %s: token id %g at %s is %s the vocabulary of embedding '%s' "
                    "(%d ids: 0 to %d)\n",
                    what, (double)v, at, v == floorf(v) ? "outside" : "not a whole id of",
                    on_model_node_name(m, i), dims[0], dims[0] - 1);
            return -1;
        }
    }
    return 0;
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

static int is_npz(const char *p) {
    size_t n = strlen(p);
    return n > 4 && !strcmp(p + n - 4, ".npz");
}

/* "--input NAME=FILE.npy" names a graph input; a plain path (one that exists, even with an
 * '=' in it) is the data. */
static int named(const char *s) {
    const char *eq = strchr(s, '=');
    return eq && eq > s && access(s, F_OK) != 0;
}

typedef struct run_io {
    const char *data;              /* the plain --input */
    char what[600];                /* the data input, for messages: "input 'ids' (ids.npy)" */
    const char *in_name[MAX_ARGS]; /* NAME of --input NAME=FILE */
    const char *in_file[MAX_ARGS]; /* its FILE */
    on_array in_arr[MAX_ARGS];
    int nin;
    const char *out[MAX_ARGS];
    int nout;
} run_io;

/* The model, and x: the data array (plain --input, or the feed naming the data input). An
 * ONNX model gets the plain --input too, for the input dimensions the file leaves open. */
static on_model *load(const char *model, run_io *io, on_array *x, on_error *err) {
    snprintf(io->what, sizeof io->what, "input %.300s", io->data ? io->data : "");
    if (io->data && on_npy_load(io->data, x, err)) return NULL;
    if (!is_onnx(model)) {
        on_model *m = io->nin ? NULL : load_trained(model, NULL, err);
        if (m && on_model_check_one_input(m, err)) {
            on_model_free(m);
            return NULL;
        }
        if (!io->nin) return m;
        snprintf(err->msg, sizeof err->msg,
                 "%s: --input NAME=FILE names inputs of ONNX graphs; this is a checkpoint", model);
        return NULL;
    }
    on_onnx_feed f[MAX_ARGS + 1];
    int nf = 0, df;
    for (int i = 0; i < io->nin; i++) f[nf++] = (on_onnx_feed){io->in_name[i], &io->in_arr[i]};
    if (io->data) f[nf++] = (on_onnx_feed){NULL, x};
    on_model *m = on_onnx_load_feeds(model, f, nf, &df, err);
    if (!m) return NULL;
    int named = df >= 0 && df < io->nin;
    if (named && io->data) {
        snprintf(err->msg, sizeof err->msg,
                 "the data input '%s' is given twice (--input %s and --input %s=...)",
                 io->in_name[df], io->data, io->in_name[df]);
    } else if (df < 0) {
        snprintf(err->msg, sizeof err->msg,
                 "no data: give the model's data input as --input X.npy");
    } else {
        if (named) *x = io->in_arr[df], io->in_arr[df] = (on_array){0};
        if (named)
            snprintf(io->what, sizeof io->what, "input '%.200s' (%.300s)", io->in_name[df],
                     io->in_file[df]);
        return m;
    }
    on_model_free(m);
    return NULL;
}

static int run(args *a) {
    run_io io = {0};
    int soft = 0, batch = 64, quiet = 0, rc = 1, n, ninputs = 0;
    const char *inputs[MAX_ARGS + 1];
    on_error err;
    const cli_opt opts[] = {
        CLI_STRINGS("-i|--input", inputs, &ninputs, MAX_ARGS + 1, "X.npy|NAME=FILE.npy",
                    "the data (the model's layout, channels first), or a value for the\n"
                    "ONNX graph input NAME"),
        CLI_STRINGS("-o|--out", io.out, &io.nout, MAX_ARGS, "Y.npy",
                    "one per output, in the graph's order, or one FILE.npz for them all"),
        CLI_FLAG("--softmax", &soft, "apply softmax to the first output"),
        CLI_FLAG("--quiet", &quiet, "print nothing when it succeeds"),
        CLI_INT("--batch", &batch, 1, 65536, NULL, "samples per forward pass"),
    };
    rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    rc = 1;
    const char *model = a->npos ? a->pos[0] : NULL;
    for (int k = 0; k < ninputs; k++) {
        const char *v = inputs[k];
        if (!named(v)) {
            io.data = v;
            continue;
        }
        if (io.nin == MAX_ARGS) {
            fprintf(stderr, "ordnet run: more than %d --input NAME=FILE\n", MAX_ARGS);
            rc = 2;
            goto done;
        }
        char *name = strdup(v);
        *strchr(name, '=') = 0;
        io.in_name[io.nin] = name;
        io.in_file[io.nin] = strchr(v, '=') + 1;
        if (on_npy_load(strchr(v, '=') + 1, &io.in_arr[io.nin++], &err)) {
            fprintf(stderr, "ordnet run: %s\n", err.msg);
            goto done;
        }
    }
    if (!model || (!io.data && !io.nin) || !io.nout) {
        fprintf(stderr, "usage: ordnet run MODEL --input X.npy [--input NAME=FILE.npy ...] -o "
                        "Y.npy [-o Y2.npy ...] [--softmax] [--batch N]\n");
        rc = 2;
        goto done;
    }
    on_array x = {0};
    float *y[MAX_ARGS] = {0}, *buf = NULL;
    on_model *m = load(model, &io, &x, &err);
    if (!m) goto fail;
    int nout = on_model_num_outputs(m);
    on_shape is = on_model_node_shape(m, 0), os = on_model_output_shape(m);
    char s1[48];
    if (batch_of(&x, is, &n)) {
        fprintf(stderr, "ordnet run: the model takes (N,%s (or one sample %s), the array is (",
                on_shape_str(is, s1, sizeof s1) + 1, s1);
        for (int i = 0; i < x.ndim; i++)
            fprintf(stderr, "%s%lld", i ? "," : "", (long long)x.dims[i]);
        fprintf(stderr, ")\n");
        goto free;
    }
    if (nout > MAX_ARGS || (io.nout != nout && !(io.nout == 1 && is_npz(io.out[0])))) {
        fprintf(stderr, "ordnet run: the model has %d outputs (", nout);
        for (int k = 0; k < nout; k++)
            fprintf(stderr, "%s%s", k ? ", " : "", on_model_output_name(m, k));
        fprintf(stderr, "): give -o once for each, in this order, or one -o FILE.npz\n");
        goto free;
    }
    if (soft && os.rank != 1) {
        fprintf(stderr, "ordnet run: --softmax needs a model with flat outputs (N, classes)\n");
        goto free;
    }
    if (check_ids(m, &x, n, io.what)) goto free;
    if (batch > n) batch = n;
    if (on_model_compile(m, batch, &err)) goto fail;
    size_t per_in = on_shape_size(is), per_out[MAX_ARGS];
    buf = malloc(sizeof(float) * per_in * (size_t)batch);
    for (int k = 0; k < nout; k++) {
        per_out[k] = on_shape_size(on_model_node_shape(m, on_model_output_node(m, k)));
        y[k] = malloc(sizeof(float) * per_out[k] * (size_t)n);
        if (!y[k]) buf = (free(buf), NULL);
    }
    if (!buf) {
        fprintf(stderr, "ordnet run: out of memory\n");
        goto free;
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
        if (on_model_forward(m, buf, b, ON_EVAL)) {
            fprintf(stderr, "ordnet run: forward failed: %s\n", on_model_last_error(m));
            goto free;
        }
        for (int k = 0; k < nout; k++) {
            const float *o = on_model_output_at(m, k);
            if (o == buf) o = x.data + (size_t)i0 * per_in; /* an output that is the input */
            memcpy(y[k] + (size_t)i0 * per_out[k], o, sizeof(float) * per_out[k] * (size_t)b);
        }
    }
    if (soft) softmax_rows(y[0], (size_t)n, os.c);
    /* each output with the dimensions its source declares ((N,C,1,1) after ONNX's
     * GlobalAveragePool, where ordnet holds (N,C)) */
    on_array arr[MAX_ARGS];
    const char *names[MAX_ARGS];
    for (int k = 0; k < nout; k++) {
        int64_t d[ON_ARRAY_MAX_DIMS];
        int nd = on_model_output_dims(m, k, d);
        arr[k] =
            (on_array){.ndim = nd + 1, .dims = {n}, .size = per_out[k] * (size_t)n, .data = y[k]};
        memcpy(arr[k].dims + 1, d, sizeof(int64_t) * (size_t)(nd < 7 ? nd : 7));
        names[k] = on_model_output_name(m, k);
        if (io.nout == nout && !is_npz(io.out[k]) &&
            on_npy_save(io.out[k], y[k], arr[k].ndim, arr[k].dims, &err))
            goto fail;
    }
    if (io.nout == 1 && is_npz(io.out[0]) && on_npz_save(io.out[0], nout, names, arr, &err))
        goto fail;
    if (!quiet) {
        const char *notes = on_model_notes(m);
        if (*notes) fprintf(stderr, "note: %s", notes);
        for (int k = 0; k < nout; k++) {
            printf("%s: %d inputs -> %s%s%s (N", model, n, io.out[io.nout == 1 ? 0 : k],
                   io.nout == 1 && nout > 1 ? "/" : "", io.nout == 1 && nout > 1 ? names[k] : "");
            for (int i = 1; i < arr[k].ndim; i++) printf(",%lld", (long long)arr[k].dims[i]);
            printf(")%s\n", soft && !k ? " softmax" : "");
        }
    }
    rc = 0;
    goto free;
fail:
    fprintf(stderr, "ordnet run: %s\n", err.msg);
free:
    for (int k = 0; k < MAX_ARGS; k++) free(y[k]);
    free(buf);
    on_array_free(&x);
    on_model_free(m);
done:
    for (int i = 0; i < io.nin; i++) {
        free((char *)io.in_name[i]);
        on_array_free(&io.in_arr[i]);
    }
    return rc;
}

const command cmd_run = {
    "run", run, "run a model on a NumPy array (inference), write the outputs as .npy",
    "run MODEL --input X.npy [--input NAME=FILE.npy ...] -o Y.npy [-o ...] [options]",
    "MODEL: an ONNX file or a checkpoint. X.npy: float32 (or float64) samples in the model's\n"
    "layout, channels first: (N,C,H,W) for images, (N,C,L) for 1-D signals, (N,F) for\n"
    "features, or int64 / int32 token ids (N,L) for a model starting with an embedding (ids\n"
    "outside [0, vocab) are an error naming the position); one sample without N is N = 1.\n"
    "--input NAME=FILE.npy gives an ONNX graph input that has no initializer a value (a\n"
    "constant); the data input may be given this way too. Runs in eval mode (BatchNorm with\n"
    "its running statistics, no dropout) and writes each output as float32 .npy with the\n"
    "dimensions the ONNX graph declares\n"
    "((N,classes) for a classifier; (N,C,1,1) after a GlobalAveragePool): -o once per output,\n"
    "in the graph's order, or one -o FILE.npz holding them all by name. ordnet models output\n"
    "logits: a Softmax at the end of an ONNX model is dropped when it is read (a note says\n"
    "so); --softmax applies it to the first output. A checkpoint's input normalization is\n"
    "applied first, as eval and predict do. See docs/ONNX.md.\n"};
