/* exec.h - the study's executors: where its runs execute (src/study/runner.h has the
 * interface they implement and the loop that drives them). */
#ifndef ORDNET_EXEC_H
#define ORDNET_EXEC_H

#include "base/base.h" /* on_fail */
#include "study/runner.h"

/* --jobs N: each run in a forked worker process with `threads` threads; the parent
 * claims, stores and reports. */
int exec_local_study(on_study_plan *p, int jobs, int threads, on_error *err);

/* Started by mpirun (or another MPI launcher)? From the environment, so that a build
 * without MPI can say so instead of running N copies of the same command. */
int mpi_launched(void);
/* 1 when this build has MPI. */
int mpi_available(void);
/* Under mpirun: rank 0 claims, stores and reports; every rank (rank 0 too, on a thread)
 * trains the runs rank 0 hands it. Returns what the study returns on every rank. */
int exec_mpi_study(const on_study_cfg *c, on_error *err);
/* Data-parallel training over the MPI ranks: rank, size and MPI_Allreduce as the hooks
 * on_train_distributed calls (sync_bn: BatchNorm's statistics over all ranks too). -1
 * without MPI. */
int mpi_train_dist(on_train_dist *d, int sync_bn);
int mpi_rank(void), mpi_size(void);
void mpi_finalize(void);
void mpi_abort(int code); /* end every rank (a rank that cannot go on with the others) */

#endif
