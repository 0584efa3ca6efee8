/* ordnet_study.h - the order study: train every distinct order of a block of layers over
 * several seeds and report which orders matter (`ordnet study`, docs/STUDY.md). Programs
 * that only build, train and run models need only ordnet.h. The study's internals (its plan,
 * store and executors) are not public: src/study/. */
#ifndef ORDNET_STUDY_H
#define ORDNET_STUDY_H

#include "ordnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What this header declares is libordnet's public API: the shared library is built with
 * -fvisibility=hidden and exports these names only (tests/symbols.sh checks it). */
#ifdef __GNUC__
#pragma GCC visibility push(default)
#endif

typedef struct on_study_cfg {
    const char *model;  /* NULL: the reference model; compact text with {...} slots (each
                           replaced by the same order of the block), or a model file whose
                           runs of the block's layers become the slots */
    const char *block;  /* "bn,relu,maxpool,dropout(0.2)" (ignored when model has {...}) */
    const char *orders; /* NULL: every permutation; else "o1;o2;..." */
    /* jobs: the CLI's --jobs (worker processes); on_study_run itself trains one run at a
     * time (other executors: src/study/runner.h, docs/SCALE.md) */
    int seeds, epochs, limit, test_limit, jobs, threads;
    const char *data, *out;
    on_train_cfg train;                        /* the recipe (seed and epochs are set per run) */
    void (*log)(void *user, const char *line); /* progress lines; may be NULL */
    void *user;
    double budget;    /* seconds: > 0 adds seeds to undecided classes until decided or spent
                         (on_study_adaptive, docs/STUDY.md); 0: `seeds` seeds per class */
    int speed_rounds; /* rounds of the interleaved speed measurement (0: 7; -1: none) */
    int max_seeds;    /* with budget: at most this many seeds per class (0: 20) */
    int seed_base;    /* seed s of the study trains with seed s + seed_base: another seed set
                         (a separate study in the store); 0 by default */
} on_study_cfg;

/* The default study: the reference model's block, 3 seeds, 3 epochs on 12000 training
 * images, 5000 test images of Fashion-MNIST, output in study-out/. */
on_study_cfg on_study_defaults(void);
/* Run (or resume) a study and write its report; see docs/STUDY.md. */
int on_study_run(const on_study_cfg *cfg, on_error *err);
/* The same, then more seeds for the classes whose comparison with the best is undecided,
 * until each is decided, a class has cfg->max_seeds (20) seeds, or cfg->budget seconds are
 * spent. */
int on_study_adaptive(const on_study_cfg *cfg, on_error *err);

#ifdef __GNUC__
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif
