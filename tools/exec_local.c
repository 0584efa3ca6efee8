/* exec_local.c - the --jobs N executor: each run in a forked worker process, its result
 * sent back over a pipe; the parent alone claims runs and writes the store. */
#include "exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct reply {
    int rc;
    on_study_result r;
    on_error e;
} reply;

typedef struct local {
    on_study_plan *p;
    int threads;
    pid_t *pid;
    int *fd;
} local;

static int start(void *ctx, int slot, int job, on_error *err) {
    local *x = ctx;
    int pfd[2];
    if (pipe(pfd)) return on_fail(err, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return on_fail(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) { /* the worker: train, write the reply, leave without cleanup */
        close(pfd[0]);
        on_set_threads(x->threads);
        reply *rp = calloc(1, sizeof *rp);
        if (!rp) _exit(1);
        rp->rc = on_study_run_job(x->p, job, &rp->r, &rp->e);
        const char *b = (const char *)rp;
        size_t left = sizeof *rp;
        while (left) {
            ssize_t n = write(pfd[1], b, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) _exit(1);
            b += n, left -= (size_t)n;
        }
        _exit(0);
    }
    close(pfd[1]);
    x->pid[slot] = pid;
    x->fd[slot] = pfd[0];
    return 0;
}

/* The next worker to finish: its reply came through the pipe before it exited. */
static int wait_one(void *ctx, int *slot, on_study_result *r, on_error *err) {
    local *x = ctx;
    int status;
    pid_t pid;
    while ((pid = wait(&status)) < 0 && errno == EINTR) {
    }
    if (pid < 0) return on_fail(err, "wait: %s", strerror(errno));
    int s = 0;
    while (x->pid[s] != pid) s++; /* every child is a slot's */
    *slot = s;
    reply *rp = calloc(1, sizeof *rp);
    size_t got = 0;
    while (rp && got < sizeof *rp) {
        ssize_t n = read(x->fd[s], (char *)rp + got, sizeof *rp - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(x->fd[s]);
    x->pid[s] = 0;
    int rc;
    if (!rp || got < sizeof *rp) {
        on_fail(err, "the worker (pid %d) ended (status %d) before reporting", (int)pid, status);
        rc = 1;
    } else if (rp->rc) {
        *err = rp->e;
        rc = 1;
    } else {
        *r = rp->r;
        rc = 0;
    }
    free(rp);
    return rc;
}

int exec_local_study(on_study_plan *p, int jobs, int threads, on_error *err) {
    /* the data once, before forking: the workers share its pages */
    if (on_study_load_data(p, err)) return -1;
    local x = {p, threads > 0 ? threads : 1, calloc((size_t)jobs, sizeof(pid_t)),
               calloc((size_t)jobs, sizeof(int))};
    int rc = -1;
    if (x.pid && x.fd) {
        on_study_executor ex = {jobs, &x, start, wait_one};
        rc = on_study_execute(p, &ex, err);
    } else
        on_fail(err, "out of memory");
    free(x.pid);
    free(x.fd);
    return rc;
}
