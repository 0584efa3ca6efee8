/* fuzz_onnx.c - libFuzzer harness over the ONNX reader (on_onnx_parse) and writer
 * (on_onnx_encode). The input is the bytes of an .onnx file.
 *
 * Besides crashes, hangs and leaks, it stops when an error message is empty, unterminated
 * or does not start with the file's name; when an imported model has no summary or does
 * not compile and run; and when writing the model and reading it back does not give the
 * same layers (ops, names, shapes), the same outputs with the same dimensions, and
 * bit-identical outputs. Models whose activations
 * would take more than 4 MiB or 1e8 FLOPs per sample are imported and written but not run.
 * Seeds: corpus_onnx/ (small PyTorch exports from tests/onnx/gen.py and rejected files;
 * text_* take token ids: an embedding, ReduceMax/ReduceMean over the tokens). */
#include "ordnet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_error(const on_error *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || strncmp(err->msg, "fuzz.onnx: ", 11)) abort();
}

/* The smallest table of the embeddings reading the input (token ids run below it); 0 when
 * the input is not token ids. */
static int ids_vocab(const on_model *m) {
    int vocab = 0;
    for (int i = 1; i < on_model_num_nodes(m); i++) {
        if (on_model_node_op(m, i) != on_op_find("embedding") || on_model_node_input(m, i, 0))
            continue;
        char t[256];
        int dims[4], ti;
        snprintf(t, sizeof t, "%s.weight", on_model_node_name(m, i));
        if ((ti = on_model_tensor_find(m, t)) < 0 || on_model_tensor_dims(m, ti, dims) != 2)
            abort();
        if (!vocab || dims[0] < vocab) vocab = dims[0];
    }
    return vocab;
}

/* Forward one deterministic input in eval mode (token ids when embeddings read it); a malloc'd copy
 * of the output or NULL when the model is too large to run here. */
static float *run(on_model *m) {
    double act = 0, flops = 0;
    for (int i = 0; i < on_model_num_nodes(m); i++) {
        act += (double)on_shape_size(on_model_node_shape(m, i));
        flops += on_model_node_cost(m, i).flops_fwd;
    }
    if (act > (1 << 20) || flops > 1e8) return NULL;
    on_error err;
    if (on_model_compile(m, 2, &err)) abort(); /* the shapes were checked when it was built */
    size_t in = on_shape_size(on_model_node_shape(m, 0)),
           out = on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * 2 * in), *y = malloc(sizeof(float) * 2 * out);
    if (!x || !y) abort();
    int vocab = ids_vocab(m);
    for (size_t i = 0; i < 2 * in; i++)
        x[i] = vocab ? (float)((i * 2654435761u) % (unsigned)vocab)
                     : (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    if (on_model_forward(m, x, 2, 0)) abort();
    memcpy(y, on_model_output(m), sizeof(float) * 2 * out);
    free(x);
    return y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return 0;
    on_error err;
    err.msg[0] = 0;
    on_model *m = on_onnx_parse(data, size, "fuzz.onnx", &err);
    if (!m) {
        check_error(&err);
        return 0;
    }
    char *s = on_model_summary(m, 0);
    if (!s || !strstr(s, "Total params: ")) abort();
    free(s);
    void *buf;
    size_t len;
    if (on_onnx_encode(m, &buf, &len, &err)) abort(); /* every imported layer has an export */
    on_model *r = on_onnx_parse(buf, len, "fuzz.onnx", &err);
    if (!r || on_model_num_nodes(r) != on_model_num_nodes(m)) abort();
    for (int i = 1; i < on_model_num_nodes(m); i++) {
        on_shape a = on_model_node_shape(m, i), b = on_model_node_shape(r, i);
        if (on_model_node_op(m, i) != on_model_node_op(r, i) ||
            strcmp(on_model_node_name(m, i), on_model_node_name(r, i)) || a.rank != b.rank ||
            a.c != b.c || a.h != b.h || a.w != b.w)
            abort();
    }
    /* every output, with its ONNX dimensions */
    if (on_model_num_outputs(r) != on_model_num_outputs(m)) abort();
    for (int k = 0; k < on_model_num_outputs(m); k++) {
        int64_t a[ON_ARRAY_MAX_DIMS], b[ON_ARRAY_MAX_DIMS];
        int na = on_model_output_dims(m, k, a), nb = on_model_output_dims(r, k, b);
        if (na != nb || memcmp(a, b, sizeof(int64_t) * (size_t)na)) abort();
    }
    float *y = run(m), *yr = y ? run(r) : NULL;
    size_t out = 2 * on_shape_size(on_model_output_shape(m));
    if (y && (!yr || memcmp(y, yr, sizeof(float) * out))) abort();
    free(y);
    free(yr);
    free(buf);
    on_model_free(r);
    on_model_free(m);
    return 0;
}
