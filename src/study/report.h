/* report.h - what the study's report writers share: the runs read from the store, the
 * classes ranked with their comparisons with the best, and the thread's questions as
 * contrasts. report.c fills it and writes the text files; report_html.c draws report.html. */
#ifndef ON_STUDY_REPORT_H
#define ON_STUDY_REPORT_H

#include "study.h"
#include "verdict.h"

#include <cjson/cJSON.h>

typedef struct on_run_row {
    char order[512];
    int cls, seed;
    double acc, loss, epoch_s, train_ips, infer_ips;
    cJSON *epochs; /* [{"epoch", "loss", "train_accuracy", "test_accuracy", "seconds",
                      "test_loss" (newer stores)}], or NULL */
} on_run_row;

typedef struct on_class_row {
    int id, n;
    const char *rep;
    cJSON *members;
    on_summary acc;
    double epoch_s, infer_ips, train_ips, modelled_us;
    on_compare cmp; /* with the best (rank 1) */
} on_class_row;

typedef struct on_question {
    const char *q, *yes, *no; /* the question; what +1 and -1 mean */
    on_paired d;              /* +1 classes minus -1 classes, per seed */
    double p_holm;            /* over the questions answered */
} on_question;

/* A measured speed of one class (speed.c): medians over interleaved rounds. */
typedef struct on_speed_row {
    int cls;
    double train_ms, train_lo, train_hi; /* per training step: median, min, max */
    double infer_ms, infer_lo, infer_hi; /* per inference batch (optimized model) */
} on_speed_row;

typedef struct on_report {
    const char *key, *block;
    const on_study_cfg *c;
    cJSON *conf;
    on_run_row *r;
    int nr;
    on_class_row *cs; /* ranked: cs[0] is the best */
    int nc, ns;       /* classes; the largest seed number */
    double alpha, margin;
    int adaptive, base_seeds;
    on_question q[4];
    int nq;
    on_speed_row *speed; /* NULL when not measured */
    int nspeed, speed_rounds, speed_batch, speed_infer_batch;
} on_report;

/* The study's measured speeds (speed.c) into rp->speed; nothing when none were stored. */
void on_study_speed_load(void *db, const char *key, on_report *rp);
/* Measure each class's training step and inference, interleaved (speed.c), and store the
 * rounds in the store's speed table, unless every class already has them. fill: the model
 * text of an order (the study's template). 0, or -1 with err set. */
int on_study_speed(void *db, const char *key, const on_study_cfg *c,
                   char *(*fill)(const void *t, const char *order), const void *t, on_error *err);

/* The measured speed of the classes with the pool first (tf: training step, sf:
 * inference batch, ms) and of the others (tn, sn): the median over each group's classes
 * of their median times. 0, or -1 when a group was not measured. */
int on_report_pool_first(const on_report *rp, double *tf, double *tn, double *sf, double *sn);

/* report.html from a filled report; the text of the page (malloc'd), or NULL. */
char *on_report_html(const on_report *rp);

#endif
