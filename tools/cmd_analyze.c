/* cmd_analyze.c - which adjacent layers commute, and the cheapest equal order. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *model = NULL, *block = NULL;
    int infer = 0, json = 0, measure = 0;
    static const char *const modes[] = {"train", "infer"};
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--mode"))
            infer = pick(a, modes, 2);
        else if (is_opt(a, "--measure"))
            measure = 1;
        else if (is_opt(a, "--block"))
            block = opt_value(a);
        else if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet analyze: unknown option '%s' (see ordnet analyze --help)\n",
                    a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model && !block) block = "bn,relu,maxpool,dropout(0.2)";
    on_error err;
    on_model *m = NULL;
    int weights = model && (is_checkpoint(model) || is_onnx(model));
    if (model &&
        !(m = weights ? load_trained(model, NULL, &err) : load_model(model, NULL, 0, &err))) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    char *r = on_analyze_report(m, infer, weights, block, measure, json, &err);
    on_model_free(m);
    if (!r) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    fputs(r, stdout);
    if (json) putchar('\n');
    free(r);
    return 0;
}

const command cmd_analyze = {
    "analyze", run, "which adjacent layers commute, and the cheapest equal order",
    "usage: ordnet analyze [MODEL|CKPT] [--mode train|infer] [--block "
    "\"bn,relu,maxpool,dropout(0.2)\"]\n"
    "                      [--measure] [--json]\n"
    "For each adjacent pair of MODEL: exact, exact-with-change, conditional, rounding,\n"
    "approximate or never, with the reason and the cost of both orders; then the orders\n"
    "equal to MODEL by proof and the cheapest. --block: every permutation of the block\n"
    "(after MODEL's first convolution) grouped into classes. No MODEL and no --block:\n"
    "the default block. --mode: training (default) or inference rules. With a checkpoint,\n"
    "conditions on the weights (BN scale signs, PReLU slopes) are decided, not stated;\n"
    "an ONNX file counts as a checkpoint.\n"
    "--measure times the cheapest order of each class for real (batch of 64).\n"};
