/* cmd_predict.c - classify image files with a checkpoint. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    int json = 0;
    const cli_opt opts[] = {
        CLI_FLAG("--json", &json,
                 "one {\"file\", \"index\", \"class\", \"probabilities\"} per image"),
    };
    int rc = CLI_PARSE(a, opts, a->argc);
    if (rc != CLI_GO) return rc;
    if (a->npos < 2) {
        fprintf(stderr, "usage: ordnet predict CKPT FILE... (PGM, PNG or IDX images)\n");
        return 2;
    }
    const char *ckpt = a->pos[0];
    on_error err;
    on_model *m = load_trained(ckpt, NULL, &err);
    if (!m || on_model_check_one_input(m, &err) || on_model_compile(m, 64, &err)) {
        fprintf(stderr, "ordnet predict: %s\n", err.msg);
        on_model_free(m);
        return 1;
    }
    on_shape in = on_model_node_shape(m, 0);
    size_t per = on_shape_size(in);
    int K = on_model_output_shape(m).c;
    rc = 0;
    float *x = malloc(sizeof(float) * per * 64), *prob = malloc(sizeof(float) * (size_t)K);
    const float *mean, *sd;
    on_model_normalization(m, &mean, &sd);
    for (int i = 1; i < a->npos && x && prob; i++) {
        const char *path = a->pos[i];
        on_dataset d = {0};
        int is_idx = strstr(path, "idx") != NULL;
        if (is_idx ? on_idx_load(path, NULL, 0, &d, &err) : on_image_load(path, in, x, &err)) {
            fprintf(stderr, "ordnet predict: %s\n", err.msg);
            rc = 1;
            continue;
        }
        int n = is_idx ? d.n : 1;
        if (is_idx && on_shape_size(d.shape) != per) {
            fprintf(stderr, "ordnet predict: %s: images of %dx%d, the model takes %dx%d\n", path,
                    d.shape.w, d.shape.h, in.w, in.h);
            on_dataset_free(&d);
            rc = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            if (is_idx) memcpy(x, d.x + (size_t)k * per, sizeof(float) * per);
            for (int c = 0; mean && c < in.c; c++)
                for (size_t j = 0; j < per / (size_t)in.c; j++) {
                    float *v = x + (size_t)c * (per / (size_t)in.c) + j;
                    *v = (*v - mean[c]) / sd[c];
                }
            if (on_model_forward(m, x, 1, ON_EVAL)) {
                fprintf(stderr, "ordnet predict: %s: %s\n", path, on_model_last_error(m));
                rc = 1;
                break;
            }
            const float *z = on_model_output(m);
            float mx = z[0], s = 0;
            int best = 0;
            for (int j = 1; j < K; j++)
                if (z[j] > mx) mx = z[j], best = j;
            for (int j = 0; j < K; j++) s += prob[j] = expf(z[j] - mx);
            if (json)
                printf("{\"file\": \"%s\", \"index\": %d, \"class\": %d, \"probabilities\": [",
                       path, k, best);
            else
                printf("%s%s%.0d: class %d (%.1f%%)  [", path, is_idx ? "#" : "", is_idx ? k : 0,
                       best, 100 * prob[best] / s);
            for (int j = 0; j < K; j++) printf("%s%.4f", j ? ", " : "", prob[j] / s);
            printf(json ? "]}\n" : "]\n");
        }
        on_dataset_free(&d);
    }
    free(x);
    free(prob);
    on_model_free(m);
    return rc;
}

const command cmd_predict = {
    "predict", run, "classify images with a checkpoint", "predict CKPT FILE... [--json]",
    "CKPT: a checkpoint (ordnet train) or an ONNX file (docs/ONNX.md).\n"
    "FILE: a PGM or PNG image of the model's size, or an IDX image file (every image in it).\n"
    "Prints the class and the probabilities of each image.\n"};
