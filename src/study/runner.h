/* runner.h - the study runner's internals, for the executors that start its runs.
 *
 * The study is four steps, each one call here:
 *   plan    on_study_plan_new: the orders, their classes and one job per class and seed
 *           (every rank of an MPI job builds the same plan from the same options);
 *   claim   on_study_open, then on_study_claim: the next job no live process holds,
 *           recorded in the store (owner + heartbeat), so that two studies started on one
 *           output directory split the runs instead of both training all of them;
 *   run     on_study_run_job: train one job; touches no store, so any process may do it;
 *   store   on_study_store: the result and the end of its claim, in one transaction;
 * and on_study_report_write at the end. on_study_execute drives claim -> run -> store
 * over an executor: something that runs jobs on `slots` workers and reports each one
 * finished. The library's executor runs them in this process, one at a time
 * (on_study_run); tools/exec_local.c forks worker processes (--jobs N) and
 * tools/exec_mpi.c hands jobs to MPI ranks. Starting processes and messaging stay in
 * the executors; the library never forks.
 */
#ifndef ON_STUDY_RUNNER_H
#define ON_STUDY_RUNNER_H

#include "ordnet_study.h"

typedef struct on_study_plan on_study_plan;

typedef struct on_study_job {
    char order[512]; /* the trained order, the block's layers space-separated */
    int cls, seed;   /* 1-based class; seed 1..seeds */
} on_study_job;

/* What one run measured; plain bytes, so executors may send it between processes. */
typedef struct on_study_result {
    double acc, loss, epoch_s, train_ips, infer_ips;
    char epochs[4096]; /* JSON array of per-epoch records */
} on_study_result;

/* Analyze the block and list every job. Reads the model file, nothing else. */
on_study_plan *on_study_plan_new(const on_study_cfg *c, on_error *err);
void on_study_plan_free(on_study_plan *p);
int on_study_plan_jobs(const on_study_plan *p);
const on_study_job *on_study_plan_job(const on_study_plan *p, int i);
/* The study's identity in the store: the template, block, data, budget and recipe. */
const char *on_study_plan_key(const on_study_plan *p);
const on_study_cfg *on_study_plan_cfg(const on_study_plan *p);

/* Load the training and test data (once; on_study_run_job loads it when needed). Forking
 * executors load it before forking so that the workers share it. */
int on_study_load_data(on_study_plan *p, on_error *err);
/* Train job i and measure it. Thread-safe against the store calls below. */
int on_study_run_job(on_study_plan *p, int i, on_study_result *r, on_error *err);

/* Open (or create) OUT/study.sqlite as `owner` (a name unique among the processes that may
 * share the directory, "host:pid" by default when NULL), record the study's description,
 * and keep this owner's claims alive with a heartbeat thread until on_study_plan_free.
 * Sets *pending to the jobs not yet stored. */
int on_study_open(on_study_plan *p, const char *owner, int *pending, on_error *err);
/* A claim whose heartbeat is older than this many seconds (default 60), or whose owner is a
 * process on this host that no longer exists, is taken over by the next claimer. */
void on_study_set_stale(on_study_plan *p, double seconds);
/* Say (through cfg.log) what the study is and how many of its runs are already stored. */
void on_study_announce(const on_study_plan *p);
/* Claim the next job that is neither stored nor held by a live claim: returns 1 and sets
 * *job; 0 when none is claimable now (*held: the jobs other live owners hold); -1 error. */
int on_study_claim(on_study_plan *p, int *job, int *held, on_error *err);
/* Store job's result and drop its claim, in one transaction. */
int on_study_store(on_study_plan *p, int job, const on_study_result *r, on_error *err);
/* Give a claim back (the run failed). */
void on_study_release(on_study_plan *p, int job);
/* results.csv, results.json, report.md, report.svg from the store. */
int on_study_report_write(on_study_plan *p, on_error *err);

/* An executor: `slots` workers. start hands job `job` to free slot `slot`; wait blocks until
 * some slot's run ends and returns 0 with *slot and *r set, 1 with *slot set when that run
 * failed (the reason in err), -1 when the executor itself failed (a lost worker). */
typedef struct on_study_executor {
    int slots;
    void *ctx;
    int (*start)(void *ctx, int slot, int job, on_error *err);
    int (*wait)(void *ctx, int *slot, on_study_result *r, on_error *err);
} on_study_executor;

/* Claim jobs into free slots, store each result as it arrives, until every job of the plan
 * is stored (waiting for jobs other live owners hold). Needs on_study_open first. */
int on_study_execute(on_study_plan *p, const on_study_executor *ex, on_error *err);

#endif
