/* cli.h - what the subcommands of the ordnet tool share. The tool is a thin layer over
 * libordnet: each subcommand is one file, tools/cmd_NAME.c, defining one `command`
 * (name, function, summary, usage, about) that tools/ordnet.c lists, and whose function
 * reads its options from a table of cli_opt rows with cli_parse. */
#ifndef ORDNET_CLI_H
#define ORDNET_CLI_H

#include "ordnet.h"

#include <stdio.h>

#define REFERENCE_MODEL                                                                            \
    "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "                               \
    "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)"

/* The arguments after the subcommand's name; i is the one being read. cli_parse moves the
 * positional arguments (those not starting with '-') to pos[0 .. npos). */
typedef struct command command;
typedef struct args {
    int argc, i;
    char **argv;
    const command *cmd;
    char **pos;
    int npos;
} args;

/* A subcommand: tools/cmd_NAME.c defines one; tools/ordnet.c lists them. --help prints
 * "usage: ordnet " usage, then about, then the option table. */
struct command {
    const char *name;
    int (*run)(args *a);
    const char *summary; /* one line, for `ordnet --help` */
    const char *usage;   /* after "ordnet ": "train [MODEL] [options]" */
    const char *about;   /* what it does, what its positional arguments are */
};

/* ----- the option table: one row an option, read by cli_parse ----- */

typedef enum cli_type {
    OPT_FLAG,    /* no value: sets *(int *)dest to 1 */
    OPT_INT,     /* a whole number in [lo, hi]: *(int *)dest */
    OPT_U64,     /* a whole number in [lo, hi]: *(uint64_t *)dest */
    OPT_FLOAT,   /* a number in [lo, hi]: *(float *)dest */
    OPT_DOUBLE,  /* a number in [lo, hi]: *(double *)dest */
    OPT_STRING,  /* *(const char **)dest (the last one given) */
    OPT_CHOICE,  /* one of choices (NULL-terminated): its index into *(int *)dest */
    OPT_STRINGS, /* repeatable: appended to ((const char **)dest)[*count], at most max */
    OPT_CUSTOM,  /* parse(value, dest) == 0; else an error saying what is wanted (want) */
} cli_type;

typedef struct cli_opt {
    const char *name; /* "--epochs"; "-o|--out": a short spelling too */
    cli_type type;
    void *dest;                 /* where the value goes (see cli_type) */
    const char *value;          /* the value's name in --help: "N", "DIR" (NULL: from the type) */
    const char *def;            /* the default shown in --help, or NULL */
    const char *help;           /* one line or more ("\n" continues it in the help column) */
    double lo, hi;              /* OPT_INT, OPT_U64, OPT_FLOAT, OPT_DOUBLE */
    const char *const *choices; /* OPT_CHOICE */
    int max, *count;            /* OPT_STRINGS */
    int (*parse)(const char *value, void *dest); /* OPT_CUSTOM */
    const char *want;                            /* OPT_CUSTOM */
} cli_opt;

/* The rows, one a line in each command's table: name, where the value goes, its limits or
 * choices, the default shown in --help (NULL: none), the help text. */
#define CLI_FLAG(NAME, DEST, HELP)                                                                 \
    { .name = NAME, .type = OPT_FLAG, .dest = DEST, .help = HELP }
#define CLI_INT(NAME, DEST, LO, HI, DEF, HELP)                                                     \
    { .name = NAME, .type = OPT_INT, .dest = DEST, .lo = LO, .hi = HI, .def = DEF, .help = HELP }
#define CLI_U64(NAME, DEST, LO, HI, DEF, HELP)                                                     \
    { .name = NAME, .type = OPT_U64, .dest = DEST, .lo = LO, .hi = HI, .def = DEF, .help = HELP }
#define CLI_FLOAT(NAME, DEST, LO, HI, DEF, HELP)                                                   \
    { .name = NAME, .type = OPT_FLOAT, .dest = DEST, .lo = LO, .hi = HI, .def = DEF, .help = HELP }
#define CLI_DOUBLE(NAME, DEST, LO, HI, DEF, HELP)                                                  \
    { .name = NAME, .type = OPT_DOUBLE, .dest = DEST, .lo = LO, .hi = HI, .def = DEF, .help = HELP }
#define CLI_STRING(NAME, DEST, VALUE, DEF, HELP)                                                   \
    { .name = NAME, .type = OPT_STRING, .dest = DEST, .value = VALUE, .def = DEF, .help = HELP }
#define CLI_CHOICE(NAME, DEST, CHOICES, DEF, HELP)                                                 \
    { .name = NAME, .type = OPT_CHOICE, .dest = DEST, .choices = CHOICES, .def = DEF, .help = HELP }
#define CLI_STRINGS(NAME, DEST, COUNT, MAX, VALUE, HELP)                                           \
    {                                                                                              \
        .name = NAME, .type = OPT_STRINGS, .dest = DEST, .count = COUNT, .max = MAX,               \
        .value = VALUE, .help = HELP                                                               \
    }
#define CLI_CUSTOM(NAME, DEST, PARSE, VALUE, WANT, DEF, HELP)                                      \
    {                                                                                              \
        .name = NAME, .type = OPT_CUSTOM, .dest = DEST, .parse = PARSE, .value = VALUE,            \
        .want = WANT, .def = DEF, .help = HELP                                                     \
    }

/* cli_parse's answer when the command goes on; any other is the exit status to return now
 * (0 after --help, 2 after a usage error, which it has printed: an unknown option, a missing
 * or bad value naming the option and the value, more than max_pos positional arguments). */
enum { CLI_GO = -1 };
int cli_parse(args *a, const cli_opt *opts, int nopts, int max_pos);
#define CLI_PARSE(a, opts, max_pos)                                                                \
    cli_parse(a, opts, (int)(sizeof(opts) / sizeof(opts)[0]), max_pos)
/* The command's --help: usage, about and the table. */
void cli_help(FILE *f, const command *c, const cli_opt *opts, int nopts);

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
