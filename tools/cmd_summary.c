/* cmd_summary.c - a Keras-like table of a model. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *model = NULL;
    int json = 0, classes = 0, has_input = 0;
    on_shape input;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--json"))
            json = 1;
        else if (is_opt(a, "--classes"))
            classes = (int)opt_num(a, 0, 1e6);
        else if (is_opt(a, "--input")) {
            const char *v = opt_value(a);
            if (parse_shape(v, &input)) {
                fprintf(stderr,
                        "ordnet summary: --input '%s': give the shape as Keras does, e.g. 28,28,1 "
                        "or 128,16\n",
                        v);
                return 2;
            }
            has_input = 1;
        } else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet summary: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model) {
        fprintf(stderr, "usage: ordnet summary MODEL [--input SHAPE] [--classes N] [--json]\n");
        return 2;
    }
    on_error err;
    on_model *m = is_checkpoint(model) || is_onnx(model)
                      ? load_trained(model, NULL, &err)
                      : load_model(model, has_input ? &input : NULL, classes, &err);
    if (!m) {
        fprintf(stderr, "ordnet summary: %s\n", err.msg);
        return 1;
    }
    char *s = on_model_summary(m, json);
    on_model_free(m);
    if (!s) return 1;
    fputs(s, stdout);
    if (json) putchar('\n');
    free(s);
    return 0;
}

const command cmd_summary = {
    "summary", run, "a Keras-like table of a model: shapes, parameters, FLOPs",
    "usage: ordnet summary MODEL [--input SHAPE] [--classes N] [--json]\n"
    "MODEL: a file of Keras code (functional, Sequential, model.add) or of the compact form,\n"
    "the compact form itself, a checkpoint or an ONNX file (docs/ONNX.md). --input 28,28,1 gives "
    "or replaces the input shape (Keras\n"
    "order, channels last). The model is shown as written, with Keras's Total / Trainable /\n"
    "Non-trainable params. --classes N: a model without a classifier (a last Dense layer)\n"
    "gets a head (flatten if needed, dense(N)), shown in the notes; one whose classifier has\n"
    "another number of outputs is an error.\n"
    "--json prints {\"layers\": [{\"name\", \"type\", \"output_shape\", \"params\", \"flops\"}],\n"
    "\"total_params\", \"trainable_params\", \"total_flops\", \"notes\"}. See docs/MODELS.md.\n"};
