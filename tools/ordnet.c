/* ordnet.c - the command-line tool: subcommands over libordnet, nothing more.
 * Each command is one table entry: name, function, one-line summary, --help text. */
#include "ordnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REFERENCE_MODEL                                                                            \
    "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "                               \
    "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)"

/* ----- option parsing: --name VALUE, --flag ----- */

typedef struct args {
    int argc, i;
    char **argv;
    int bad;
} args;

static int is_opt(args *a, const char *name) { return !strcmp(a->argv[a->i], name); }

static const char *opt_value(args *a) {
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "ordnet: %s needs a value\n", a->argv[a->i]);
        a->bad = 1;
        return "0";
    }
    return a->argv[++a->i];
}

static double opt_num(args *a, double lo, double hi) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v || d < lo || d > hi) {
        fprintf(stderr, "ordnet: %s: '%s' is not a number in [%g, %g]\n", name, v, lo, hi);
        a->bad = 1;
    }
    return d;
}

static int pick(args *a, const char *const *names, int n) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) return k;
    fprintf(stderr, "ordnet: %s: unknown value '%s' (one of:", name, v);
    for (int k = 0; k < n; k++) fprintf(stderr, " %s", names[k]);
    fprintf(stderr, ")\n");
    a->bad = 1;
    return 0;
}

/* A model from the command line: compact text, or a file holding it. */
static on_model *load_model(const char *what, on_error *err) {
    if (!strchr(what, '(') && !strchr(what, ' ')) {
        FILE *f = fopen(what, "r");
        if (!f) {
            snprintf(err->msg, sizeof err->msg, "%s: no such file, and not a model in the compact form", what);
            return NULL;
        }
        static char text[65536];
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = 0;
        for (char *p = text; *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
        return on_model_from_spec(text, err);
    }
    return on_model_from_spec(what, err);
}

/* ----- train ----- */

typedef struct progress {
    int tty, json;
} progress;

static int on_progress(void *user, const on_epoch_report *r) {
    progress *p = user;
    if (r->done) {
        if (p->tty) printf("\r\033[K");
        if (p->json)
            printf("{\"epoch\": %d, \"loss\": %.5f, \"train_accuracy\": %.5f, \"test_loss\": %.5f, "
                   "\"test_accuracy\": %.5f, \"seconds\": %.3f, \"images_per_s\": %.1f}\n",
                   r->epoch, r->loss, r->train_acc, r->test_loss, r->test_acc, r->seconds,
                   r->images_per_s);
        else
            printf("epoch %d/%d  loss %.4f  train acc %.2f%%  test acc %.2f%%  %.1fs  %.0f img/s\n",
                   r->epoch, r->epochs, r->loss, 100 * r->train_acc, 100 * r->test_acc,
                   r->seconds, r->images_per_s);
        fflush(stdout);
    } else if (p->tty && !p->json && (r->batch % 5 == 0 || r->batch == r->batches)) {
        int w = 30, fill = w * r->batch / r->batches;
        double eta = (r->batches - r->batch) * r->seconds / r->batch;
        printf("\repoch %d/%d [%.*s%*s] %d/%d  loss %.4f  %.0f img/s  ETA %.0fs ", r->epoch,
               r->epochs, fill, "##############################", w - fill, "", r->batch,
               r->batches, r->loss, r->images_per_s, eta);
        fflush(stdout);
    }
    return 0;
}

static int cmd_train(args *a) {
    on_train_cfg cfg = on_train_defaults();
    const char *model = REFERENCE_MODEL, *data = "fashion-mnist";
    static const char *const opts[] = {"sgd", "adamw"};
    static const char *const scheds[] = {"const", "step", "cosine", "onecycle"};
    int limit = 0, test_limit = 0, json = 0, threads = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--epochs")) cfg.epochs = (int)opt_num(a, 1, 1e6);
        else if (is_opt(a, "--batch")) cfg.batch = (int)opt_num(a, 1, 1 << 16);
        else if (is_opt(a, "--lr")) cfg.lr = (float)opt_num(a, 1e-9, 100);
        else if (is_opt(a, "--wd")) cfg.wd = (float)opt_num(a, 0, 10);
        else if (is_opt(a, "--momentum")) cfg.momentum = (float)opt_num(a, 0, 1);
        else if (is_opt(a, "--nesterov")) cfg.nesterov = 1;
        else if (is_opt(a, "--label-smoothing")) cfg.smoothing = (float)opt_num(a, 0, 1);
        else if (is_opt(a, "--clip")) cfg.clip = (float)opt_num(a, 0, 1e9);
        else if (is_opt(a, "--augment")) cfg.augment = 1;
        else if (is_opt(a, "--seed")) cfg.seed = (uint64_t)opt_num(a, 0, 1e18);
        else if (is_opt(a, "--opt")) cfg.opt = pick(a, opts, 2);
        else if (is_opt(a, "--schedule")) cfg.schedule = pick(a, scheds, 4);
        else if (is_opt(a, "--data")) data = opt_value(a);
        else if (is_opt(a, "--limit")) limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--test-limit")) test_limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--threads")) threads = (int)opt_num(a, 1, 1024);
        else if (is_opt(a, "--json")) json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet train: unknown option '%s' (see ordnet train --help)\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (threads) on_set_threads(threads);
    on_error err;
    on_dataset tr = {0}, te = {0};
    on_model *m = NULL;
    int rc = 1;
    if (!(m = load_model(model, &err)) || on_data_load(data, 1, limit, &tr, &err) ||
        on_data_load(data, 0, test_limit ? test_limit : limit, &te, &err)) {
        fprintf(stderr, "ordnet train: %s\n", err.msg);
        goto done;
    }
    on_model_init(m, cfg.seed);
    if (!json)
        printf("training on %d images (%d test), %d epochs, batch %d, %s %s lr %g, %zu parameters, %d threads\n",
               tr.n, te.n, cfg.epochs, cfg.batch, opts[cfg.opt], scheds[cfg.schedule], cfg.lr,
               on_model_num_params(m), on_get_threads());
    progress p = {isatty(1), json};
    if (on_train(m, &tr, &te, &cfg, on_progress, &p, &err)) {
        fprintf(stderr, "ordnet train: %s\n", err.msg);
        goto done;
    }
    rc = 0;
done:
    on_dataset_free(&tr);
    on_dataset_free(&te);
    on_model_free(m);
    return rc;
}

/* ----- analyze ----- */

static int cmd_analyze(args *a) {
    const char *model = NULL, *block = NULL;
    int infer = 0, json = 0;
    static const char *const modes[] = {"train", "infer"};
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--mode")) infer = pick(a, modes, 2);
        else if (is_opt(a, "--block")) block = opt_value(a);
        else if (is_opt(a, "--json")) json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet analyze: unknown option '%s' (see ordnet analyze --help)\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model && !block) block = "bn,relu,maxpool,dropout(0.2)";
    on_error err;
    on_model *m = NULL;
    if (model && !(m = load_model(model, &err))) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    char *r = on_analyze_report(m, infer, 0, block, json, &err);
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

/* ----- ops ----- */

static int cmd_ops(args *a) {
    (void)a;
    for (int i = 0; i < on_op_count(); i++) printf("%s\n", on_op_name(on_op_at(i)));
    return 0;
}

/* ----- the table ----- */

typedef struct command {
    const char *name;
    int (*run)(args *a);
    const char *summary, *help;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a model on a data set",
     "usage: ordnet train [MODEL] [options]\n"
     "MODEL is the compact form (quoted) or a file holding it; default: the reference model\n"
     "  " REFERENCE_MODEL "\n"
     "options:\n"
     "  --data fashion-mnist|DIR  IDX data (default fashion-mnist, Debian's dataset-fashion-mnist)\n"
     "  --limit N                 use the first N training (and test) images\n"
     "  --test-limit N            use the first N test images\n"
     "  --epochs N (5)  --batch N (128)  --lr X (3e-3)  --wd X (1e-2)\n"
     "  --opt sgd|adamw (adamw)   --schedule const|step|cosine|onecycle (onecycle)\n"
     "  --momentum X (0.9; AdamW beta1)  --nesterov  --label-smoothing X (0.1)  --clip X\n"
     "  --augment                 random shifts of up to 2 pixels and horizontal flips\n"
     "  --seed N (42)  --threads N  --json (one JSON object per epoch)\n"},
    {"analyze", cmd_analyze, "which adjacent layers commute, and the cheapest equal order",
     "usage: ordnet analyze [MODEL] [--mode train|infer] [--block \"bn,relu,maxpool,dropout(0.2)\"] [--json]\n"
     "For each adjacent pair of MODEL: exact, exact-with-change, conditional, rounding,\n"
     "approximate or never, with the reason and the cost of both orders; then the orders\n"
     "equal to MODEL by proof and the cheapest. --block: every permutation of the block\n"
     "(after MODEL's first convolution) grouped into classes. No MODEL and no --block:\n"
     "the default block. --mode: training (default) or inference rules.\n"},
    {"ops", cmd_ops, "list the layers ordnet has", "usage: ordnet ops\n"},
};

static void usage(FILE *f) {
    fprintf(f, "ordnet %s: does the order of your layers matter?\n\nusage: ordnet COMMAND [ARGS]\n\n",
            ORDNET_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nordnet COMMAND --help describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ordnet %s\n", ORDNET_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        for (int k = 2; k < argc; k++)
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                fputs(commands[i].help, stdout);
                return 0;
            }
        args a = {argc, 2, argv, 0};
        return commands[i].run(&a);
    }
    fprintf(stderr, "ordnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
