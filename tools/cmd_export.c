/* cmd_export.c - write a trained model as an ONNX file. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *model = NULL, *out = NULL;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "-o") || is_opt(a, "--out"))
            out = opt_value(a);
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet export: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model || !out) {
        fprintf(stderr, "usage: ordnet export CKPT -o MODEL.onnx\n");
        return 2;
    }
    on_error err;
    /* a model file, or a definition (compact form or Keras code) exported untrained */
    on_model *m = access(model, F_OK) && !is_onnx(model)
                      ? on_model_from_text(model, "model", NULL, 0, &err)
                      : load_trained(model, NULL, &err);
    if (m && access(model, F_OK)) on_model_init(m, 1);
    if (!m || on_onnx_save(m, out, &err)) {
        fprintf(stderr, "ordnet export: %s\n", err.msg);
        on_model_free(m);
        return 1;
    }
    printf("saved %s (%d layers, ONNX opset 13)\n", out, on_model_num_nodes(m) - 1);
    on_model_free(m);
    return 0;
}

const command cmd_export = {
    "export", run, "write a checkpoint (or an optimized one) as an ONNX file",
    "usage: ordnet export CKPT -o MODEL.onnx\n"
    "CKPT: a checkpoint (from train or optimize) or an ONNX file (or a model definition, in\n"
    "the compact form or Keras code, exported with its initial weights). Writes opset 13, one "
    "node\n"
    "per layer (GELU, SiLU and Mish as the Erf / Sigmoid / Tanh patterns PyTorch writes),\n"
    "weights as initializers named as ordnet's tensors, the input normalization as Sub and\n"
    "Mul nodes before the first layer; the input is \"input\" (N,C,H,W) with a symbolic N.\n"
    "The file is written atomically. See docs/ONNX.md.\n"};
