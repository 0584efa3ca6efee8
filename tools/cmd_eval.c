/* cmd_eval.c - accuracy, loss, per-class accuracy and confusion matrix of a checkpoint. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *data = NULL;
    int limit = 0, json = 0;
    const cli_opt opts[] = {
        CLI_STRING("--data", &data, "fashion-mnist|DIR", NULL,
                   "the data set (default: the one the checkpoint was trained on)"),
        CLI_INT("--limit", &limit, 1, 1e9, NULL, "use the first N test images"),
        CLI_FLAG("--json", &json,
                 "print {\"accuracy\", \"loss\", \"images\", \"per_class\", \"confusion\"}"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *ckpt = a->npos ? a->pos[0] : NULL;
    if (!ckpt) {
        fprintf(stderr, "ordnet eval: which checkpoint? (ordnet eval CKPT)\n");
        return 2;
    }
    on_error err;
    on_checkpoint_info info;
    on_dataset te = {0};
    long *conf = NULL;
    rc = 1;
    on_model *m = load_trained(ckpt, &info, &err);
    if (!m || on_model_check_one_input(m, &err) ||
        on_data_load(data           ? data
                     : info.data[0] ? info.data
                                    : "fashion-mnist",
                     ON_SPLIT_TEST, limit, &te, &err)) {
        fprintf(stderr, "ordnet eval: %s\n", err.msg);
        goto done;
    }
    int K = te.classes;
    conf = calloc((size_t)K * K, sizeof(long));
    double loss, acc;
    if (!conf || on_evaluate(m, &te, 256, &loss, &acc, conf, &err)) {
        fprintf(stderr, "ordnet eval: %s\n", err.msg);
        goto done;
    }
    if (json) {
        printf("{\"accuracy\": %.6f, \"loss\": %.6f, \"images\": %d, \"per_class\": [", acc, loss,
               te.n);
        for (int c = 0; c < K; c++) {
            long row = 0;
            for (int j = 0; j < K; j++) row += conf[c * K + j];
            printf("%s%.6f", c ? ", " : "", row ? (double)conf[c * K + c] / row : 0.0);
        }
        printf("], \"confusion\": [");
        for (int c = 0; c < K; c++) {
            printf("%s[", c ? ", " : "");
            for (int j = 0; j < K; j++) printf("%s%ld", j ? ", " : "", conf[c * K + j]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("%s on %d images: accuracy %.2f%%, loss %.4f\n\nper class (rows: true class, "
               "columns: predicted)\n",
               ckpt, te.n, 100 * acc, loss);
        printf("class  acc%%  ");
        for (int j = 0; j < K; j++) printf("%6d", j);
        printf("\n");
        for (int c = 0; c < K; c++) {
            long row = 0;
            for (int j = 0; j < K; j++) row += conf[c * K + j];
            printf("%5d %5.1f  ", c, row ? 100.0 * conf[c * K + c] / row : 0.0);
            for (int j = 0; j < K; j++) printf("%6ld", conf[c * K + j]);
            printf("\n");
        }
    }
    rc = 0;
done:
    free(conf);
    on_dataset_free(&te);
    on_model_free(m);
    return rc;
}

const command cmd_eval = {
    "eval", run, "accuracy, loss, per-class accuracy and confusion matrix of a checkpoint",
    "eval CKPT [--data fashion-mnist|DIR] [--limit N] [--json]",
    "CKPT: a checkpoint (ordnet train) or an ONNX file (docs/ONNX.md).\n"
    "Evaluates on the test split of the data the checkpoint was trained on (or --data).\n"};
