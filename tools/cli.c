/* cli.c - what every subcommand shares: option parsing and loading models. */
#include "cli.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ----- the option table ----- */

/* Does arg spell the option's name ("--out", or either side of "-o|--out")? */
static int spells(const char *name, const char *arg) {
    const char *bar = strchr(name, '|');
    if (!bar) return !strcmp(name, arg);
    size_t n = (size_t)(bar - name);
    return (strlen(arg) == n && !strncmp(name, arg, n)) || !strcmp(bar + 1, arg);
}

/* v as a number in [lo, hi] (whole: no fraction); 0, or -1 after saying why. */
static int number(const args *a, const char *opt, const char *v, double lo, double hi, int whole,
                  double *out) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi) || (whole && d != floor(d))) {
        fprintf(stderr, "ordnet %s: %s: '%s' is not a %s in [%.15g, %.15g]\n", a->cmd->name, opt, v,
                whole ? "whole number" : "number", lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* Read the value of option o (its spelling in argv[a->i]) into o->dest; 0 or -1. */
static int take(args *a, const cli_opt *o) {
    const char *opt = a->argv[a->i], *cmd = a->cmd->name;
    if (o->type == OPT_FLAG) {
        *(int *)o->dest = 1;
        return 0;
    }
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "ordnet %s: %s needs a value (see ordnet %s --help)\n", cmd, opt, cmd);
        return -1;
    }
    const char *v = a->argv[++a->i];
    double d;
    switch (o->type) {
    case OPT_INT:
    case OPT_U64:
    case OPT_FLOAT:
    case OPT_DOUBLE:
        if (number(a, opt, v, o->lo, o->hi, o->type == OPT_INT || o->type == OPT_U64, &d))
            return -1;
        if (o->type == OPT_INT) *(int *)o->dest = (int)d;
        if (o->type == OPT_U64) *(uint64_t *)o->dest = (uint64_t)d;
        if (o->type == OPT_FLOAT) *(float *)o->dest = (float)d;
        if (o->type == OPT_DOUBLE) *(double *)o->dest = d;
        return 0;
    case OPT_STRING:
        *(const char **)o->dest = v;
        return 0;
    case OPT_CHOICE:
        for (int k = 0; o->choices[k]; k++)
            if (!strcmp(v, o->choices[k])) {
                *(int *)o->dest = k;
                return 0;
            }
        fprintf(stderr, "ordnet %s: %s: unknown value '%s' (one of:", cmd, opt, v);
        for (int k = 0; o->choices[k]; k++) fprintf(stderr, " %s", o->choices[k]);
        fprintf(stderr, ")\n");
        return -1;
    case OPT_STRINGS:
        if (*o->count >= o->max) {
            fprintf(stderr, "ordnet %s: %s '%s': at most %d of them\n", cmd, opt, v, o->max);
            return -1;
        }
        ((const char **)o->dest)[(*o->count)++] = v;
        return 0;
    case OPT_CUSTOM:
        if (!o->parse(v, o->dest)) return 0;
        fprintf(stderr, "ordnet %s: %s '%s': want %s\n", cmd, opt, v, o->want);
        return -1;
    case OPT_FLAG:
        break;
    }
    return -1;
}

int cli_parse(args *a, const cli_opt *opts, int nopts, int max_pos) {
    a->pos = a->argv + a->i; /* positionals are moved down over what was read */
    a->npos = 0;
    for (; a->i < a->argc; a->i++) {
        const char *arg = a->argv[a->i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cli_help(stdout, a->cmd, opts, nopts);
            return 0;
        }
        if (arg[0] != '-') {
            if (a->npos == max_pos) {
                fprintf(stderr, "ordnet %s: unexpected argument '%s' (usage: ordnet %s)\n",
                        a->cmd->name, arg, a->cmd->usage);
                return 2;
            }
            a->pos[a->npos++] = a->argv[a->i];
            continue;
        }
        int k = 0;
        while (k < nopts && !spells(opts[k].name, arg)) k++;
        if (k == nopts) {
            fprintf(stderr, "ordnet %s: unknown option '%s' (see ordnet %s --help)\n", a->cmd->name,
                    arg, a->cmd->name);
            return 2;
        }
        if (take(a, &opts[k])) return 2;
    }
    return CLI_GO;
}

/* The value's name in --help: the row's, else the choices, else from the type. */
static void value_name(const cli_opt *o, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = 0;
    if (o->value)
        snprintf(buf, len, "%s", o->value);
    else if (o->type == OPT_CHOICE)
        for (int k = 0; o->choices[k] && n < len; k++)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", k ? "|" : "", o->choices[k]);
    else if (o->type == OPT_INT || o->type == OPT_U64)
        snprintf(buf, len, "N");
    else if (o->type == OPT_FLOAT || o->type == OPT_DOUBLE)
        snprintf(buf, len, "X");
    else if (o->type != OPT_FLAG)
        snprintf(buf, len, "VALUE");
}

/* The value o's destination holds before parsing, which is the default: 0 when there is
 * none to show (zero, or no string). */
static int current(const cli_opt *o, char *buf, size_t len) {
    switch (o->type) {
    case OPT_INT:
        return *(int *)o->dest && snprintf(buf, len, "%d", *(int *)o->dest);
    case OPT_U64:
        return *(uint64_t *)o->dest &&
               snprintf(buf, len, "%llu", (unsigned long long)*(uint64_t *)o->dest);
    case OPT_FLOAT:
        return *(float *)o->dest != 0 && snprintf(buf, len, "%g", *(float *)o->dest);
    case OPT_DOUBLE:
        return *(double *)o->dest != 0 && snprintf(buf, len, "%g", *(double *)o->dest);
    case OPT_STRING:
        return *(const char **)o->dest && snprintf(buf, len, "%s", *(const char **)o->dest);
    case OPT_CHOICE:
        return snprintf(buf, len, "%s", o->choices[*(int *)o->dest]) > 0;
    default:
        return 0;
    }
}

void cli_help(FILE *f, const command *c, const cli_opt *opts, int nopts) {
    fprintf(f, "usage: ordnet %s\n%s", c->usage, c->about);
    if (nopts) fprintf(f, "options:\n");
    for (int k = 0; k < nopts; k++) {
        const cli_opt *o = &opts[k];
        char left[160], val[120];
        const char *bar = strchr(o->name, '|');
        value_name(o, val, sizeof val);
        int n =
            bar ? snprintf(left, sizeof left, "  %.*s, %s", (int)(bar - o->name), o->name, bar + 1)
                : snprintf(left, sizeof left, "  %s", o->name);
        if (val[0] && n > 0 && (size_t)n < sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", val);
        fprintf(f, "%-28s", left);
        if (strlen(left) >= 28) fprintf(f, "\n%28s", "");
        /* the help text, continuation lines indented to its column */
        for (const char *h = o->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "%28s", "");
        }
        char now[160];
        if (o->def || current(o, now, sizeof now))
            fprintf(f, " (default %s)", o->def ? o->def : now);
        if (o->type == OPT_STRINGS) fprintf(f, " (repeatable)");
        fputc('\n', f);
    }
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
    int d[3], n = 0;
    for (const char *p = s; n < 3; n++) { /* 1 to 3 positive whole numbers, nothing else */
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1 << 24) return -1;
        d[n] = (int)v;
        if (!*end) {
            n++;
            break;
        }
        if (*end != ',' || n == 2) return -1;
        p = end + 1;
    }
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
