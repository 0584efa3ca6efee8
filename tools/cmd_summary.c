/* cmd_summary.c - a Keras-like table of a model. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "28,28,1" (Keras order) into an on_shape */
static int shape_value(const char *v, void *dest) {
    return parse_shape(v, dest);
}

static int run(args *a) {
    int json = 0, classes = 0;
    on_shape input = {0}; /* rank 0: not given */
    const cli_opt opts[] = {
        CLI_CUSTOM("--input", &input, shape_value, "SHAPE",
                   "the shape as Keras writes it, e.g. 28,28,1 or 128,16", NULL,
                   "give or replace the input shape (Keras order, channels last)"),
        CLI_INT("--classes", &classes, 0, 1e6, NULL,
                "a model without a classifier gets a head: flatten if needed, dense(N)"),
        CLI_FLAG(
            "--json", &json,
            "print {\"layers\": [{\"name\", \"type\", \"output_shape\", \"params\",\n"
            "\"flops\"}], \"total_params\", \"trainable_params\", \"total_flops\", \"notes\"}"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *model = a->npos ? a->pos[0] : NULL;
    if (!model) {
        fprintf(stderr, "usage: ordnet %s\n", a->cmd->usage);
        return 2;
    }
    on_error err;
    on_model *m = is_checkpoint(model) || is_onnx(model)
                      ? load_trained(model, NULL, &err)
                      : load_model(model, input.rank ? &input : NULL, classes, &err);
    if (!m) {
        fprintf(stderr, "ordnet summary: %s\n", err.msg);
        return 1;
    }
    char *s = on_model_summary(m, json ? ON_FORMAT_JSON : ON_FORMAT_TEXT);
    on_model_free(m);
    if (!s) return 1;
    fputs(s, stdout);
    if (json) putchar('\n');
    free(s);
    return 0;
}

const command cmd_summary = {
    "summary", run, "a Keras-like table of a model: shapes, parameters, FLOPs",
    "summary MODEL [--input SHAPE] [--classes N] [--json]",
    "MODEL: a file of Keras code (functional, Sequential, model.add) or of the compact form,\n"
    "the compact form itself, a checkpoint or an ONNX file (docs/ONNX.md). The model is shown\n"
    "as written, with Keras's Total / Trainable / Non-trainable params. With --classes N, a\n"
    "model whose classifier has another number of outputs is an error; the head added is\n"
    "shown in the notes. See docs/MODELS.md.\n"};
