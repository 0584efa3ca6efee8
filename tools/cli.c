/* cli.c - what every subcommand shares: option parsing and loading models. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ----- option parsing: --name VALUE, --flag ----- */

int is_opt(args *a, const char *name) {
    return !strcmp(a->argv[a->i], name);
}

const char *opt_value(args *a) {
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "ordnet: %s needs a value\n", a->argv[a->i]);
        a->bad = 1;
        return "0";
    }
    return a->argv[++a->i];
}

double opt_num(args *a, double lo, double hi) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v || d < lo || d > hi) {
        fprintf(stderr, "ordnet: %s: '%s' is not a number in [%g, %g]\n", name, v, lo, hi);
        a->bad = 1;
    }
    return d;
}

int pick(args *a, const char *const *names, int n) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) return k;
    fprintf(stderr, "ordnet: %s: unknown value '%s' (one of:", name, v);
    for (int k = 0; k < n; k++) fprintf(stderr, " %s", names[k]);
    fprintf(stderr, ")\n");
    a->bad = 1;
    return 0;
}

/* A model from the command line: a file (Keras code or the compact form) or the compact
 * form itself. classes > 0 appends a classifier head when the model lacks one. */
on_model *load_model(const char *what, const on_shape *input, int classes, on_error *err) {
    if (access(what, R_OK) == 0) return on_model_from_file(what, input, classes, err);
    if (!strchr(what, '(') && !strchr(what, ' ') && !strchr(what, '\n')) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: no such file, and not a model in the compact form (e.g. \"input(28,28,1) "
                 "conv2d(32,3,same) relu flatten dense(10)\")",
                 what);
        return NULL;
    }
    return on_model_from_text(what, "model", input, classes, err);
}

/* A safetensors file: 8-byte header length, then '{'. */
int is_checkpoint(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char h[9];
    int yes = f && fread(h, 1, 9, f) == 9 && h[8] == '{' && !h[6] && !h[7];
    if (f) fclose(f);
    return yes;
}

/* An ONNX file: named *.onnx, or starting with field 1 of a ModelProto (ir_version). */
int is_onnx(const char *path) {
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".onnx")) return 1;
    FILE *f = fopen(path, "rb");
    int c = f ? fgetc(f) : EOF;
    if (f) fclose(f);
    return c == 0x08 && !is_checkpoint(path);
}

on_model *load_trained(const char *path, on_checkpoint_info *info, on_error *err) {
    if (!is_onnx(path)) return on_checkpoint_load(path, info, err);
    on_model *m = on_onnx_load(path, err);
    if (m && info) {
        memset(info, 0, sizeof *info);
        info->cfg = on_train_defaults();
    }
    return m;
}

/* "28,28,1" (Keras order, channels last) -> a shape */
int parse_shape(const char *s, on_shape *out) {
    int d[3], n = sscanf(s, "%d,%d,%d", &d[0], &d[1], &d[2]);
    for (int i = 0; i < n; i++)
        if (d[i] < 1) return -1;
    if (n == 1)
        *out = (on_shape){1, d[0], 1, 1};
    else if (n == 2)
        *out = (on_shape){2, d[1], 1, d[0]};
    else if (n == 3)
        *out = (on_shape){3, d[2], d[0], d[1]};
    else
        return -1;
    return 0;
}
