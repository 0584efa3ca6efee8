/* exec_mpi.c - the study and training on MPI ranks (built when CMake finds MPI).
 *
 * The study: every rank builds the same plan from the same command line (rank 0 checks
 * that the study keys agree). Rank 0 alone opens the store: it claims runs and hands them
 * to the ranks as they become free (a dynamic queue, since runs differ in length), one
 * int per run; each rank loads the data itself from the same path (--data must name the
 * same files on every machine), trains the run and sends its result (a fixed-size
 * struct) back; rank 0 stores it in its own transaction. Rank 0 trains runs too, on a
 * thread of its own that makes no MPI calls (MPI_THREAD_FUNNELED), so -np 2 trains two
 * runs at once. Killing a rank ends the job (mpirun); the runs stored survive, and rank
 * 0's claims die with its process, so the same command again resumes.
 *
 * Training: the gradient hook of on_train_distributed is an MPI_Allreduce (sum) of
 * floats; --sync-bn adds one of doubles for BatchNorm's statistics.
 */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mpi_launched(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK",
                                 "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

#ifndef ORDNET_MPI

int mpi_available(void) {
    return 0;
}
int exec_mpi_study(const on_study_cfg *c, on_error *err) {
    (void)c;
    return on_fail(err, "this ordnet was built without MPI");
}
int mpi_rank(void) {
    return 0;
}
int mpi_size(void) {
    return 1;
}
void mpi_finalize(void) {}
void mpi_abort(int code) {
    (void)code;
}
int mpi_train_dist(on_train_dist *d, int sync_bn) {
    (void)d;
    (void)sync_bn;
    return -1;
}

#else

#include <mpi.h>
#include <pthread.h>
#include <time.h>

enum { TAG_JOB = 1, TAG_RESULT = 2 };

typedef struct reply {
    int job, rc;
    on_study_result r;
    on_error e;
} reply;

static int inited;

static int init(void) {
    if (inited) return 0;
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return -1;
    inited = 1;
    return 0;
}

int mpi_available(void) {
    return 1;
}
int mpi_rank(void) {
    int r = 0;
    if (!init()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}
int mpi_size(void) {
    int n = 1;
    if (!init()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}
void mpi_finalize(void) {
    if (inited) MPI_Finalize();
    inited = 0;
}

void mpi_abort(int code) {
    if (inited) MPI_Abort(MPI_COMM_WORLD, code);
}

/* The gradient sum of data-parallel training, in pieces that fit MPI's int count. */
static int allreduce(void *ctx, float *x, size_t n) {
    (void)ctx;
    for (size_t i = 0; i < n; i += (size_t)1 << 30) {
        size_t k = n - i < (size_t)1 << 30 ? n - i : (size_t)1 << 30;
        if (MPI_Allreduce(MPI_IN_PLACE, x + i, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) !=
            MPI_SUCCESS)
            return -1;
    }
    return 0;
}

/* --sync-bn: BatchNorm's per-channel sums (a few doubles per layer) */
static int allreduce_d(void *ctx, double *x, size_t n) {
    (void)ctx;
    return MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) ==
                   MPI_SUCCESS
               ? 0
               : -1;
}

int mpi_train_dist(on_train_dist *d, int sync_bn) {
    if (init()) return -1;
    *d = (on_train_dist){.rank = mpi_rank(),
                         .size = mpi_size(),
                         .allreduce = allreduce,
                         .sync_bn = sync_bn ? allreduce_d : NULL};
    return 0;
}

/* ----- rank 0's executor: slot 0 is its own thread, slot s > 0 is rank s ----- */

typedef struct local_run {
    on_study_plan *p;
    int threads, job;
    reply rp;
    pthread_t th;
    volatile int busy, done;
    pthread_mutex_t mu;
} local_run;

static void *local_thread(void *arg) {
    local_run *l = arg;
    on_set_threads(l->threads); /* the thread's own OpenMP setting */
    reply rp = {.job = l->job};
    rp.rc = on_study_run_job(l->p, l->job, &rp.r, &rp.e);
    pthread_mutex_lock(&l->mu);
    l->rp = rp;
    l->done = 1;
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static int start(void *ctx, int slot, int job, on_error *err) {
    local_run *l = ctx;
    if (slot == 0) {
        l->job = job;
        l->done = 0;
        if (pthread_create(&l->th, NULL, local_thread, l))
            return on_fail(err, "rank 0: cannot start a thread");
        l->busy = 1;
        return 0;
    }
    if (MPI_Send(&job, 1, MPI_INT, slot, TAG_JOB, MPI_COMM_WORLD) != MPI_SUCCESS)
        return on_fail(err, "MPI_Send to rank %d failed", slot);
    return 0;
}

static int finish(const reply *rp, on_study_result *r, on_error *err) {
    if (rp->rc) {
        *err = rp->e;
        return 1;
    }
    *r = rp->r;
    return 0;
}

static int wait_one(void *ctx, int *slot, on_study_result *r, on_error *err) {
    local_run *l = ctx;
    reply *rp = malloc(sizeof *rp);
    if (!rp) return on_fail(err, "out of memory");
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (;;) {
        if (l->busy) {
            pthread_mutex_lock(&l->mu);
            int d = l->done;
            pthread_mutex_unlock(&l->mu);
            if (d) {
                pthread_join(l->th, NULL);
                l->busy = 0;
                *slot = 0;
                int rc = finish(&l->rp, r, err);
                free(rp);
                return rc;
            }
        }
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
            MPI_Recv(rp, (int)sizeof *rp, MPI_BYTE, st.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            *slot = st.MPI_SOURCE;
            int rc = finish(rp, r, err);
            free(rp);
            return rc;
        }
        nanosleep(&nap, NULL);
    }
}

/* ----- the other ranks: run what rank 0 sends until it sends -1 ----- */

static void serve(on_study_plan *p, int threads) {
    on_set_threads(threads);
    reply *rp = malloc(sizeof *rp);
    for (;;) {
        int job;
        MPI_Recv(&job, 1, MPI_INT, 0, TAG_JOB, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (job < 0) break;
        memset(rp, 0, sizeof *rp);
        rp->job = job;
        rp->rc = on_study_run_job(p, job, &rp->r, &rp->e);
        MPI_Send(rp, (int)sizeof *rp, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
    free(rp);
}

/* Do all ranks agree (ok on each)? */
static int all_ok(int ok) {
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

int exec_mpi_study(const on_study_cfg *c, on_error *err) {
    if (init()) return on_fail(err, "MPI_Init failed");
    int rank = mpi_rank(), size = mpi_size();
    on_study_plan *p = on_study_plan_new(c, err);
    if (!all_ok(p != NULL)) {
        on_study_plan_free(p);
        return p ? on_fail(err, "another rank could not plan the study") : -1;
    }
    char key[32];
    snprintf(key, sizeof key, "%s", on_study_plan_key(p));
    MPI_Bcast(key, sizeof key, MPI_CHAR, 0, MPI_COMM_WORLD);
    int same = !strcmp(key, on_study_plan_key(p));
    if (!all_ok(same)) {
        on_study_plan_free(p);
        return on_fail(err,
                       "rank %d: the ranks planned different studies (%s on rank 0, %s "
                       "here): give every rank the same command and the same files",
                       rank, key, same ? key : on_study_plan_key(p));
    }
    int threads = c->threads > 0 ? c->threads : 1, rc = 0;
    if (rank) {
        serve(p, threads);
    } else {
        int pending = 0;
        rc = on_study_open(p, NULL, &pending, err);
        if (!rc) {
            on_study_announce(p);
            if (pending && c->log) {
                char line[160];
                snprintf(line, sizeof line, "%d MPI rank%s x %d thread%s, rank 0 storing", size,
                         size == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
                c->log(c->user, line);
            }
            local_run l = {.p = p, .threads = threads};
            pthread_mutex_init(&l.mu, NULL);
            on_study_executor ex = {size, &l, start, wait_one};
            rc = pending ? on_study_execute(p, &ex, err) : 0;
            if (l.busy) pthread_join(l.th, NULL);
            pthread_mutex_destroy(&l.mu);
        }
        if (rc) {
            /* ranks may be in the middle of runs: end the job rather than wait for them */
            fprintf(stderr, "ordnet study: %s\n", err->msg);
            fflush(stderr);
            on_study_plan_free(p); /* drops this owner's claims */
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        int stop = -1;
        for (int r = 1; r < size; r++) MPI_Send(&stop, 1, MPI_INT, r, TAG_JOB, MPI_COMM_WORLD);
        rc = on_study_report_write(p, err);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    on_study_plan_free(p);
    if (rc && rank) return on_fail(err, "rank 0 failed (see its message)");
    return rc;
}

#endif
