/* cmd_analyze.c - which adjacent layers commute, and the cheapest equal order. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *block = NULL;
    int infer = 0, json = 0, measure = 0;
    static const char *const modes[] = {"train", "infer", NULL};
    const cli_opt opts[] = {
        CLI_CHOICE("--mode", &infer, modes, NULL, "training or inference rules"),
        CLI_STRING("--block", &block, "\"bn,relu,maxpool,dropout(0.2)\"", NULL,
                   "every permutation of these layers, grouped into classes"),
        CLI_FLAG("--measure", &measure,
                 "time the cheapest order of each class for real (batch of 64)"),
        CLI_FLAG("--json", &json, "print {\"pairs\", \"classes\", \"cheapest\", ...}"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *model = a->npos ? a->pos[0] : NULL;
    if (!model && !block) block = "bn,relu,maxpool,dropout(0.2)";
    on_error err;
    on_model *m = NULL;
    int weights = model && (is_checkpoint(model) || is_onnx(model));
    if (model &&
        !(m = weights ? load_trained(model, NULL, &err) : load_model(model, NULL, 0, &err))) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    on_analyze_opts o = {.infer = infer ? ON_FOR_INFERENCE : ON_FOR_TRAINING,
                         .weights = weights ? ON_WEIGHTS_DECIDE : ON_WEIGHTS_AS_CONDITIONS,
                         .block = block,
                         .measure = measure,
                         .format = json ? ON_FORMAT_JSON : ON_FORMAT_TEXT};
    char *r = on_analyze(m, &o, &err);
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
    "analyze [MODEL|CKPT] [options]",
    "For each adjacent pair of MODEL: exact, exact-with-change, conditional, rounding,\n"
    "approximate or never, with the reason and the cost of both orders; then the orders\n"
    "equal to MODEL by proof and the cheapest. --block: every permutation of the block\n"
    "(after MODEL's first convolution) grouped into classes. No MODEL and no --block:\n"
    "the default block. With a checkpoint, conditions on the weights (BN scale signs, PReLU\n"
    "slopes) are decided, not stated; an ONNX file counts as a checkpoint.\n"};
