/* runner.c - one run of a study, and the loop that drives runs through an executor:
 * claim a job for every free slot, store each result as it arrives (its own transaction),
 * wait for the jobs other processes hold, until every job of the plan is stored. The
 * in-process executor (one run at a time) makes on_study_run, the public entry point;
 * the CLI's executors (tools/exec_local.c, tools/exec_mpi.c) plug into the same loop.
 */
#include "plan.h"
#include "base/base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int on_study_load_data(on_study_plan *p, on_error *err) {
    if (p->loaded) return 0;
    if (on_data_load(p->c.data, ON_SPLIT_TRAIN, p->c.limit, &p->tr, err) ||
        on_data_load(p->c.data, ON_SPLIT_TEST, p->c.test_limit, &p->te, err))
        return -1;
    p->loaded = 1;
    return 0;
}

/* ----- one run ----- */

typedef struct epochs_log {
    on_study_result *r;
    size_t len;
    double secs, ips;
    int n;
} epochs_log;

static int log_epoch(void *user, const on_epoch_report *e) {
    epochs_log *l = user;
    if (!e->done) return 0;
    l->len += (size_t)snprintf(l->r->epochs + l->len, sizeof l->r->epochs - l->len,
                               "%s{\"epoch\":%d,\"loss\":%.5f,\"train_accuracy\":%.5f,"
                               "\"test_accuracy\":%.5f,\"test_loss\":%.5f,\"seconds\":%.3f}",
                               l->len > 1 ? "," : "", e->epoch, e->loss, e->train_acc, e->test_acc,
                               e->test_loss, e->seconds);
    if (l->len >= sizeof l->r->epochs) l->len = sizeof l->r->epochs - 1;
    l->secs += e->seconds;
    l->ips += e->images_per_s;
    l->n++;
    l->r->loss = e->test_loss; /* the last epoch's are the run's result */
    l->r->acc = e->test_acc;
    return 0;
}

/* Images per second of inference, batch 256, best of 2 passes over the first INFER_IMAGES test
 * images: a speed measurement, so a sample of the test set is enough (the whole 5000 twice
 * cost a tenth of a default run; 1024 twice 0.24 s of a 7 s run, half of it the first pass's
 * compile, now outside the timing). The study's speed answer is the interleaved measurement
 * (speed.c); this one is the run's own. */
enum { INFER_IMAGES = 512, INFER_BATCH = 256 };
static double infer_speed(on_model *m, const on_dataset *te, on_error *err) {
    on_dataset d = *te;
    if (d.n > INFER_IMAGES) d.n = INFER_IMAGES;
    double best = 0, loss, acc;
    if (on_model_compile(m, INFER_BATCH, err)) return 0;
    for (int k = 0; k < 2; k++) {
        double t0 = on_seconds();
        if (on_evaluate(m, &d, INFER_BATCH, &loss, &acc, NULL, err)) return 0;
        double ips = d.n / (on_seconds() - t0);
        if (ips > best) best = ips;
    }
    return best;
}

int on_study_run_job(on_study_plan *p, int i, on_study_result *r, on_error *err) {
    if (i < 0 || i >= p->njobs) return on_fail(err, "study: no run %d (of %d)", i, p->njobs);
    if (on_study_load_data(p, err)) return -1;
    const on_study_job *j = &p->jobs[i];
    char *text = on_study_tmpl_fill(&p->t, j->order);
    on_model *m = text ? on_model_from_spec(text, err) : NULL;
    free(text);
    if (!m) return -1;
    on_train_cfg tc = p->c.train;
    tc.seed = (uint64_t)j->seed + (uint64_t)p->c.seed_base; /* another seed set: --seed-base */
    tc.epochs = p->c.epochs;
    tc.start_epoch = 0;
    on_model_init(m, tc.seed);
    memset(r, 0, sizeof *r);
    epochs_log l = {.r = r, .len = 1};
    r->epochs[0] = '[';
    int rc = on_train(m, &p->tr, &p->te, &tc, log_epoch, &l, err);
    if (!rc) {
        snprintf(r->epochs + l.len, sizeof r->epochs - l.len, "]");
        /* r->acc and r->loss: the last epoch's test evaluation (log_epoch) */
        r->epoch_s = l.n ? l.secs / l.n : 0;
        r->train_ips = l.n ? l.ips / l.n : 0;
        on_rewrite rw[32];
        int nrw = 0;
        on_model *o = on_optimize(m, rw, 32, &nrw, err);
        /* the optimized model is a copy: the trained one's arena goes back before the copy
         * takes one, which then lands on pages just freed (0.01 s) instead of pages new to
         * the process (0.25 s a run on these machines: the kernel finding and clearing them) */
        if (o) on_model_free(m), m = NULL;
        r->infer_ips = infer_speed(o ? o : m, &p->te, err);
        on_model_free(o);
    }
    on_model_free(m);
    return rc;
}

/* ----- the loop ----- */

int on_study_execute(on_study_plan *p, const on_study_executor *ex, on_error *err) {
    const on_study_cfg *c = &p->c;
    if (!p->db) return on_fail(err, "the study's store is not open");
    int slots = ex->slots > 0 ? ex->slots : 1;
    int *slot_job = malloc(sizeof(int) * (size_t)slots);
    double *slot_t0 = malloc(sizeof(double) * (size_t)slots);
    if (!slot_job || !slot_t0) {
        free(slot_job);
        free(slot_t0);
        return on_fail(err, "out of memory");
    }
    for (int s = 0; s < slots; s++) slot_job[s] = -1;
    int running = 0, finished = 0, failed = 0, rc = 0, waited = 0;
    double t0 = on_seconds();
    for (;;) {
        /* fill the free slots */
        int held = 0;
        for (int s = 0; s < slots && !rc; s++) {
            if (slot_job[s] >= 0) continue;
            int job, got = on_study_claim(p, &job, &held, err);
            if (got < 0) rc = -1;
            if (got <= 0) break;
            slot_t0[s] = on_seconds(); /* before start: the in-process executor runs it there */
            if (ex->start(ex->ctx, s, job, err)) {
                on_study_release(p, job);
                rc = -1;
                break;
            }
            slot_job[s] = job;
            running++;
        }
        if (rc && !running) break;
        if (!running) {
            if (!held) break; /* everything is stored */
            /* the rest is in other processes' hands: wait for them (or for their claims to
             * go stale) so that the report is whole */
            if (!waited++)
                on_study_say(c, "%d run%s held by another process on %s: waiting for them", held,
                             held == 1 ? "" : "s", c->out);
            double nap = p->stale / 8 < 0.5 ? p->stale / 8 : 0.5;
            struct timespec ts = {(time_t)nap, (long)((nap - (double)(time_t)nap) * 1e9)};
            nanosleep(&ts, NULL);
            continue;
        }
        int slot = -1;
        on_study_result r;
        on_error e2;
        int w = ex->wait(ex->ctx, &slot, &r, &e2);
        if (w < 0 || slot < 0 || slot >= slots || slot_job[slot] < 0) {
            if (!rc) on_fail(err, "%s", w < 0 ? e2.msg : "the executor lost a run");
            rc = -1;
            break; /* claims of the lost runs go with this owner (released at close) */
        }
        int job = slot_job[slot];
        const on_study_job *j = &p->jobs[job];
        slot_job[slot] = -1;
        running--;
        if (w == 0 && on_study_store(p, job, &r, &e2)) w = 1;
        if (w) { /* given back to other processes, not to this one: it would fail again */
            on_study_release(p, job);
            p->running[job] = -1;
            on_study_say(c, "run {%s} seed %d FAILED: %s", j->order, j->seed, e2.msg);
            failed++;
            continue;
        }
        finished++;
        int left = p->pending - finished - failed;
        double eta = (on_seconds() - t0) / finished * (left > 0 ? left : 0);
        on_study_say(c,
                     "[%d/%d] class %d seed %d  {%s}  test acc %.2f%%  %.1f s/epoch  %.0f img/s "
                     "inference  (%.1fs; ETA %.0fm%02.0fs)",
                     finished, p->pending, j->cls, j->seed, j->order, 100 * r.acc, r.epoch_s,
                     r.infer_ips, on_seconds() - slot_t0[slot], floor(eta / 60), fmod(eta, 60));
        if (rc && !running) break;
    }
    free(slot_job);
    free(slot_t0);
    if (!rc && failed)
        rc = on_fail(err, "%d run%s failed (see above); finished runs are stored", failed,
                     failed == 1 ? "" : "s");
    return rc;
}

void on_study_announce(const on_study_plan *p) {
    const on_study_cfg *c = &p->c;
    on_study_say(c,
                 "study %s: block {%s} in %d slot%s: %d orders -> %d training classes (by "
                 "proof); training the cheapest of each, %d seed%s, %d epoch%s on %d images "
                 "(%d test) of %s",
                 p->key, p->block, p->t.nslots, p->t.nslots == 1 ? "" : "s", p->nwanted, p->nused,
                 c->seeds, c->seeds == 1 ? "" : "s", c->epochs, c->epochs == 1 ? "" : "s", c->limit,
                 c->test_limit, c->data);
    int done = p->njobs - p->pending;
    if (done)
        on_study_say(c, "%d run%s already in %s/study.sqlite: skipped", done, done == 1 ? "" : "s",
                     c->out);
}

/* ----- the in-process executor: one run at a time, in the caller's thread ----- */

typedef struct inproc {
    on_study_plan *p;
    int slot, rc;
    on_study_result r;
    on_error e;
} inproc;

static int inproc_start(void *ctx, int slot, int job, on_error *err) {
    (void)err;
    inproc *x = ctx;
    x->slot = slot;
    x->rc = on_study_run_job(x->p, job, &x->r, &x->e) ? 1 : 0;
    return 0;
}

static int inproc_wait(void *ctx, int *slot, on_study_result *r, on_error *err) {
    inproc *x = ctx;
    *slot = x->slot;
    if (x->rc) {
        *err = x->e;
        return 1;
    }
    *r = x->r;
    return 0;
}

int on_study_run(const on_study_cfg *c, on_error *err) {
    on_study_plan *p = on_study_plan_new(c, err);
    if (!p) return -1;
    int pending = 0, rc = on_study_open(p, NULL, &pending, err);
    if (!rc) {
        on_study_announce(p);
        inproc x = {.p = p};
        on_study_executor ex = {1, &x, inproc_start, inproc_wait};
        rc = on_study_execute(p, &ex, err);
    }
    if (!rc) rc = on_study_report_write(p, err);
    on_study_plan_free(p);
    return rc;
}
