/* cmd_export.c - write a trained model as an ONNX file. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *out = NULL;
    const cli_opt opts[] = {
        CLI_STRING("-o|--out", &out, "MODEL.onnx", NULL, "the ONNX file to write"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *model = a->npos ? a->pos[0] : NULL;
    if (!model || !out) {
        fprintf(stderr, "usage: ordnet %s\n", a->cmd->usage);
        return 2;
    }
    on_error err;
    /* a model file, or a definition (compact form or Keras code) exported untrained */
    on_model *m = access(model, F_OK) && !is_onnx(model)
                      ? on_model_from_text(model, "model", NULL, 0, &err)
                      : load_trained(model, NULL, &err);
    if (m && access(model, F_OK)) on_model_init(m, 1);
    if (!m || on_model_check_one_input(m, &err) || on_onnx_save(m, out, &err)) {
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
    "export CKPT -o MODEL.onnx",
    "CKPT: a checkpoint (from train or optimize) or an ONNX file (or a model definition, in\n"
    "the compact form or Keras code, exported with its initial weights). Writes opset 13, one\n"
    "node per layer (GELU, SiLU and Mish as the Erf / Sigmoid / Tanh patterns PyTorch writes),\n"
    "weights as initializers named as ordnet's tensors, the input normalization as Sub and\n"
    "Mul nodes before the first layer; the input is \"input\" (N,C,H,W) with a symbolic N.\n"
    "The file is written atomically. See docs/ONNX.md.\n"};
