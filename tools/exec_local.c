/* exec_local.c - the --jobs N executor: N worker processes, forked once, each running the
 * runs it is handed one after another (a job number down one pipe, the result back up
 * another); the parent alone claims runs and writes the store.
 *
 * Workers live for the whole study, not one run: a run's memory (its arena, 90 MB for the
 * default model) then lands on pages the worker already has, kept by big_alloc.c, instead
 * of pages new to a fresh process (the kernel finding and clearing them took ~0.1 s of a
 * 6.5 s run, with the other core busy). A worker that dies fails the run it held; the slot
 * gets a new worker for its next run. */
#include "exec.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
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

typedef struct worker {
    pid_t pid;    /* 0: none */
    int to, from; /* job numbers down, replies up */
    int busy;
} worker;

typedef struct local {
    on_study_plan *p;
    int threads, n;
    worker *w;
} local;

/* All len bytes through the pipe (out: written to it, else read from it): 0, or -1 at the
 * end of the pipe or an error */
static int move_all(int fd, void *buf, size_t len, int out) {
    char *b = buf;
    while (len) {
        ssize_t n = out ? write(fd, b, len) : read(fd, b, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        b += n, len -= (size_t)n;
    }
    return 0;
}

/* The worker: a run for every job number that comes, until the pipe closes. */
static void serve(local *x, int in, int out) {
    on_set_threads(x->threads);
    reply *rp = calloc(1, sizeof *rp);
    if (!rp) _exit(1);
    int job;
    while (!move_all(in, &job, sizeof job, 0)) {
        memset(rp, 0, sizeof *rp);
        rp->rc = on_study_run_job(x->p, job, &rp->r, &rp->e);
        if (move_all(out, rp, sizeof *rp, 1)) _exit(1);
    }
    _exit(0); /* without cleanup: the parent's state is not this process's to tear down */
}

/* The end of a worker: its pipes closed (an idle one then leaves its loop), waited for; one
 * still in a run (the study stopped on an error) is killed, not waited for. */
static void stop(worker *w) {
    if (!w->pid) return;
    if (w->busy) kill(w->pid, SIGKILL);
    close(w->to);
    close(w->from);
    while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    memset(w, 0, sizeof *w);
}

static int spawn(local *x, worker *w, on_error *err) {
    int down[2], up[2];
    if (pipe(down)) return on_fail(err, "pipe: %s", strerror(errno));
    if (pipe(up)) {
        close(down[0]);
        close(down[1]);
        return on_fail(err, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(down[0]), close(down[1]), close(up[0]), close(up[1]);
        return on_fail(err, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        for (int s = 0; s < x->n; s++) /* the other workers' pipes are not this one's */
            if (x->w[s].pid) close(x->w[s].to), close(x->w[s].from);
        serve(x, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    *w = (worker){pid, down[1], up[0], 0};
    return 0;
}

static int start(void *ctx, int slot, int job, on_error *err) {
    local *x = ctx;
    worker *w = &x->w[slot];
    if (!w->pid && spawn(x, w, err)) return -1;
    if (move_all(w->to, &job, sizeof job, 1)) {
        stop(w); /* it died between runs: a new one takes the job */
        if (spawn(x, w, err)) return -1;
        if (move_all(w->to, &job, sizeof job, 1)) {
            stop(w);
            return on_fail(err, "cannot hand run %d to a worker process", job);
        }
    }
    w->busy = 1;
    return 0;
}

/* The next busy worker with a reply (or whose pipe ended: it died during the run). */
static int wait_one(void *ctx, int *slot, on_study_result *r, on_error *err) {
    local *x = ctx;
    struct pollfd *fds = calloc((size_t)x->n, sizeof *fds);
    reply *rp = calloc(1, sizeof *rp);
    if (!fds || !rp) {
        free(fds);
        free(rp);
        return on_fail(err, "out of memory");
    }
    int s = -1;
    while (s < 0) {
        for (int k = 0; k < x->n; k++)
            fds[k] = (struct pollfd){x->w[k].busy ? x->w[k].from : -1, POLLIN, 0};
        int got = poll(fds, (nfds_t)x->n, -1);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            free(fds);
            free(rp);
            return on_fail(err, "poll: %s", strerror(errno));
        }
        for (int k = 0; k < x->n && s < 0; k++)
            if (fds[k].revents) s = k;
    }
    free(fds);
    worker *w = &x->w[s];
    *slot = s;
    w->busy = 0;
    int rc = 0;
    if (move_all(w->from, rp, sizeof *rp, 0)) {
        pid_t pid = w->pid;
        int status = 0;
        close(w->to);
        close(w->from);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        memset(w, 0, sizeof *w);
        rc = 1;
        if (WIFSIGNALED(status))
            on_fail(err, "the worker (pid %d) was killed by signal %d (%s) during the run",
                    (int)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
            on_fail(err, "the worker (pid %d) ended (status %d) before reporting", (int)pid,
                    WEXITSTATUS(status));
    } else if (rp->rc) {
        *err = rp->e;
        rc = 1;
    } else
        *r = rp->r;
    free(rp);
    return rc;
}

int exec_local_study(on_study_plan *p, int jobs, int threads, on_error *err) {
    /* the data once, before forking: the workers share its pages */
    if (on_study_load_data(p, err)) return -1;
    local x = {p, threads > 0 ? threads : 1, jobs, calloc((size_t)jobs, sizeof(worker))};
    if (!x.w) return on_fail(err, "out of memory");
    /* a worker gone between runs must fail a write, not end the parent */
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    on_study_executor ex = {jobs, &x, start, wait_one};
    int rc = on_study_execute(p, &ex, err);
    for (int s = 0; s < jobs; s++) stop(&x.w[s]);
    sigaction(SIGPIPE, &old, NULL);
    free(x.w);
    return rc;
}
