/* plan.h - the study plan's fields, shared by study.c (planning), store.c (claims and
 * results) and runner.c (runs and the executor loop). */
#ifndef ON_STUDY_PLAN_H
#define ON_STUDY_PLAN_H

#include "../analyze/analyze.h"
#include "runner.h"

#include <pthread.h>

#define ON_STUDY_MAXB 8     /* layers in a block */
#define ON_STUDY_MAXO 40320 /* 8! orders */

typedef struct on_study_tmpl {
    char *seg[9]; /* text between slots: seg[0] {B} seg[1] {B} ... */
    int nslots;
} on_study_tmpl;

struct on_study_plan {
    on_study_cfg c;
    on_study_tmpl t;
    char block[512], tok[ON_STUDY_MAXB][96], key[32];
    int nb, nused, nwanted, pending;
    on_model *base; /* the block's layers (L[] points into it) */
    on_layer_view L[ON_STUDY_MAXB];
    on_orders o;
    int *want, *rep;
    on_study_job *jobs;
    int njobs;
    on_dataset tr, te;
    int loaded;
    /* the store: db belongs to the thread that opened it; the heartbeat has its own */
    void *db;
    char owner[160];
    double stale;
    int *running; /* per job: 1 this owner holds it (claimed, not stored), -1 it failed here */
    pthread_t beat;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int beating, stop;
};

char *on_study_tmpl_fill(const on_study_tmpl *t, const char *order);
void on_study_say(const on_study_cfg *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void on_study_store_close(on_study_plan *p);
char *on_study_plan_describe(const on_study_plan *p); /* JSON for the studies table */

#endif
