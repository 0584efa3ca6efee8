/* cmd_study.c - train every distinct order of a block and report what matters. */
#include "cli.h"
#include "exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_line(void *user, const char *line) {
    (void)user;
    printf("%s\n", line);
    fflush(stdout);
}

/* --jobs N: the plan and the store here, the runs in N worker processes */
static int study_jobs(const on_study_cfg *c, on_error *err) {
    on_study_plan *p = on_study_plan_new(c, err);
    if (!p) return -1;
    int pending = 0, rc = on_study_open(p, NULL, &pending, err);
    if (!rc) {
        on_study_announce(p);
        if (pending) rc = exec_local_study(p, c->jobs, c->threads, err);
    }
    if (!rc) rc = on_study_report_write(p, err);
    on_study_plan_free(p);
    return rc;
}

/* "600", "90s", "10m", "1.5h" -> seconds; -1 when it is none of those. */
static int parse_duration(const char *s, void *dest) {
    double *out = dest;
    char *end;
    double v = strtod(s, &end);
    double unit = !*end || !strcmp(end, "s") ? 1
                  : !strcmp(end, "m")        ? 60
                  : !strcmp(end, "h")        ? 3600
                                             : 0;
    if (end == s || !unit || !(v > 0) || !isfinite(v)) return -1;
    *out = v * unit;
    return 0;
}

static int run(args *a) {
    on_study_cfg c = on_study_defaults();
    int full = 0, epochs = 0, limit = 0, test_limit = 0, seeds = 0, json = 0;
    const cli_opt opts[] = {
        CLI_STRING("--block", &c.block, "\"bn,relu,maxpool,dropout(0.2)\"", NULL,
                   "the layers to permute"),
        CLI_STRING("--orders", &c.orders, "\"o1;o2;...\"", NULL,
                   "only these orders (each: the block's layers, space-separated)"),
        CLI_INT("--seeds", &seeds, 1, 1000, "3", "seeds per class"),
        CLI_INT("--epochs", &epochs, 1, 1000, "2", "epochs per run"),
        CLI_INT("--limit", &limit, 1, 1e9, "12000", "training images"),
        CLI_INT("--test-limit", &test_limit, 1, 1e9, "5000", "test images"),
        CLI_FLAG("--full", &full, "the long version: all 60000 images, 15 epochs, 5 seeds"),
        CLI_STRING("--data", &c.data, "fashion-mnist|DIR", NULL, "the data set"),
        CLI_STRING("--out", &c.out, "DIR", NULL, "where the store and the report go"),
        CLI_INT("--jobs", &c.jobs, 1, 64, NULL,
                "runs in parallel (worker processes); default: one per core,\n"
                "each run on one thread (1 with --threads, --budget or mpirun)"),
        CLI_INT("--threads", &c.threads, 1, 1024, NULL, "threads a run"),
        CLI_INT("--seed-base", &c.seed_base, 0, 1e9, "0",
                "seeds N+1, N+2, ...: another set of seeds (a separate study)"),
        CLI_CUSTOM("--budget", &c.budget, parse_duration, "TIME",
                   "a time such as 600, 90s, 10m or 1h", NULL,
                   "then more seeds for the classes not yet decided against the\n"
                   "best, until decided or TIME (600, 90s, 10m, 1h) is spent"),
        CLI_FLAG("--json", &json, "no progress lines; print results.json at the end"),
    };
    c.jobs = 0; /* not given: decided below */
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    if (a->npos) c.model = a->pos[0];
    if (full) { /* the long version: all the data, more epochs and seeds */
        c.epochs = 15;
        c.limit = 0;
        c.test_limit = 0;
        c.seeds = 5;
    }
    if (epochs) c.epochs = epochs;
    if (limit) c.limit = limit;
    if (test_limit) c.test_limit = test_limit;
    if (seeds) c.seeds = seeds;
    int mpi = mpi_launched(), rank = mpi ? mpi_rank() : 0;
    if (mpi && !c.threads) /* one thread per rank unless told: ranks share the machine */
        c.threads = getenv("OMP_NUM_THREADS") ? atoi(getenv("OMP_NUM_THREADS")) : 1;
    if (mpi && c.jobs > 1) {
        fprintf(stderr, "ordnet study: --jobs under mpirun: the ranks are the workers (-np)\n");
        return 2;
    }
    if (mpi && c.budget > 0) { /* the adaptive rounds run in one process */
        fprintf(stderr,
                "ordnet study: --budget (adaptive seeds) runs in one process, not under mpirun\n");
        return 2;
    }
    if (!c.jobs) {
        /* A worker process per core, each run on one thread, unless told otherwise: the
         * default study took 108 s so, 117 s as one process of two threads (runs share
         * nothing, and one thread a run makes no barriers) */
        int cores = on_get_threads();
        c.jobs = !mpi && c.budget <= 0 && !c.threads && cores > 1 ? (cores < 64 ? cores : 64) : 1;
        if (c.jobs > 1) c.threads = 1;
    }
    if (c.jobs > 1 && !c.threads)
        c.threads = on_get_threads() / c.jobs > 0 ? on_get_threads() / c.jobs : 1;
    if (c.threads && c.jobs == 1) on_set_threads(c.threads);
    c.log = json || rank ? NULL : print_line;
    on_error err;
    rc = mpi            ? exec_mpi_study(&c, &err)
         : c.budget > 0 ? on_study_adaptive(&c, &err)
         : c.jobs > 1   ? study_jobs(&c, &err)
                        : on_study_run(&c, &err);
    if (rc) {
        fprintf(stderr, "ordnet study: %s\n", err.msg);
        return 1;
    }
    if (rank) return 0;
    if (json) { /* the report's results.json, for scripts */
        char path[4096];
        snprintf(path, sizeof path, "%s/results.json", c.out);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "ordnet study: %s: cannot read\n", path);
            return 1;
        }
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, stdout);
        fclose(f);
        putchar('\n');
    }
    return 0;
}

const command cmd_study = {
    "study", run, "train every distinct order of a block and report what matters",
    "study [MODEL] [options]",
    "Trains one member (the cheapest) of every training-equivalence class of the orders of a\n"
    "block, over several seeds, and writes report.md, report.svg, results.csv, results.json.\n"
    "MODEL: compact form with the block in braces, e.g.\n"
    "  \"input(28,28,1) conv2d(32,3,same) {bn relu maxpool dropout(0.2)} conv2d(64,3,same)\n"
    "   {bn relu maxpool dropout(0.2)} flatten dense(10)\"  (every {...} gets the same order),\n"
    "or a model file (Keras or compact) whose runs of the --block layers are permuted.\n"
    "Default: the reference model on Fashion-MNIST.\n"
    "Runs are stored in DIR/study.sqlite as they finish; the same command again resumes, and\n"
    "two studies started on one DIR split the runs (each claims a run before training it).\n"
    "mpirun -np N ordnet study ...: rank 0 stores, every rank trains (--threads per rank,\n"
    "default 1); every rank reads --data from the same path (docs/SCALE.md).\n"};
