/* study.h - the order study's internals: statistics, the run store, the report. */
#ifndef ON_STUDY_H
#define ON_STUDY_H

#include "../analyze/analyze.h"
#include "ordnet_study.h"

/* mean, sample sd, half width of the 95% Student-t interval (NAN when n < 2) */
typedef struct on_summary {
    int n;
    double mean, sd, half_ci;
} on_summary;

on_summary on_summarize(const double *x, int n);
/* Two-sided p-value of Student's t with df degrees of freedom. */
double on_t_two_sided_p(double t, double df);
/* The 97.5% quantile of Student's t (for 95% intervals). */
double on_t_quantile975(double df);
/* Welch's unequal-variance t-test: two-sided p-value (NAN when a side has n < 2). */
double on_welch_p(on_summary a, on_summary b);

/* The study's configuration as JSON: classes, their members and representatives. */
char *on_study_describe(const on_orders *o, char tok[][96], int nb, const int *want, const int *rep,
                        const on_layer_view *L, const on_study_cfg *c, const void *tmpl,
                        const char *block, const char *key);
/* Write results.csv, results.json, report.md and report.svg for study `key` from the
 * store (an sqlite3 handle). */
int on_study_report(void *db, const char *key, const on_study_cfg *c, on_error *err);

#endif
