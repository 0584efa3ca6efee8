/* cli.h - what the subcommands of the ordnet tool share. The tool is a thin layer over
 * libordnet: each subcommand is one file, tools/cmd_NAME.c, defining one `command`
 * (name, function, one-line summary, --help text) that tools/ordnet.c lists. */
#ifndef ORDNET_CLI_H
#define ORDNET_CLI_H

#include "ordnet.h"

#define REFERENCE_MODEL                                                                            \
    "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "                               \
    "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)"

/* The arguments after the subcommand's name; i is the one being read. A parse error
 * prints a message and sets bad. */
typedef struct args {
    int argc, i;
    char **argv;
    int bad;
} args;

typedef struct command {
    const char *name;
    int (*run)(args *a);
    const char *summary, *help;
} command;

int is_opt(args *a, const char *name);
const char *opt_value(args *a);                     /* the value after --name */
double opt_num(args *a, double lo, double hi);      /* ... as a number in [lo, hi] */
int pick(args *a, const char *const *names, int n); /* ... as one of names[] */

/* A model from the command line: a file (Keras code or the compact form) or the compact
 * form itself. classes > 0 appends a classifier head when the model lacks one. */
on_model *load_model(const char *what, const on_shape *input, int classes, on_error *err);
int is_checkpoint(const char *path); /* a safetensors file? */
int is_onnx(const char *path);       /* an ONNX file (by name or first byte)? */
/* A model with weights: a safetensors checkpoint or an ONNX file. info (may be NULL) gets
 * what the checkpoint records; for an ONNX file, the defaults and no data set. */
on_model *load_trained(const char *path, on_checkpoint_info *info, on_error *err);
int parse_shape(const char *s, on_shape *out); /* "28,28,1" (Keras order) -> a shape */

extern const command cmd_bench;
extern const command cmd_run, cmd_export;
extern const command cmd_study, cmd_train, cmd_eval, cmd_predict, cmd_analyze, cmd_optimize,
    cmd_summary, cmd_ops;

#endif
