/* test_claims.c - runs are claimed in the store before they are trained: two `ordnet
 * study` processes on one directory split the runs (every run trained once, both exit
 * with the whole report); a claim held by a live process is skipped; a claim whose owner
 * died on this host is taken over at once; one from another host only once its heartbeat
 * is older than the stale limit. Also drives the runner API (src/study/runner.h) with an
 * executor written here, as tools/exec_*.c do. */
#include "check.h"
#include "study/runner.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODEL "input(28,28,1) conv2d(4,3,same) {bn relu maxpool dropout(0.2)} flatten dense(10)"
#define ORDERS                                                                                     \
    "bn relu maxpool dropout(0.2);bn maxpool relu dropout(0.2);relu bn maxpool dropout(0.2)"

static char out[96];

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int sql_int(const char *sql) {
    char path[160];
    snprintf(path, sizeof path, "%s/study.sqlite", out);
    sqlite3 *db = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static void clean(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    if (system(cmd)) printf("cannot remove %s\n", out);
}

/* ----- two CLI processes at once ----- */

static pid_t spawn(const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stdout)) _exit(126);
        execl(ORDNET_BIN, ORDNET_BIN, "study", MODEL, "--orders", ORDERS, "--seeds", "3",
              "--epochs", "1", "--limit", "600", "--test-limit", "200", "--threads", "1", "--out",
              out, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int trained_lines(const char *log) { /* "[k/n] class ..." per run it trained */
    FILE *f = fopen(log, "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n += line[0] == '[';
    if (f) fclose(f);
    return n;
}

static void test_two_processes(void) {
    clean();
    char la[128], lb[128];
    snprintf(la, sizeof la, "%s-a.log", out);
    snprintf(lb, sizeof lb, "%s-b.log", out);
    pid_t a = spawn(la), b = spawn(lb);
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    CHECK(WIFEXITED(sa) && !WEXITSTATUS(sa) && WIFEXITED(sb) && !WEXITSTATUS(sb),
          "both studies exit 0");
    int na = trained_lines(la), nb = trained_lines(lb);
    /* 2 classes x 3 seeds */
    CHECK(na + nb == 6, "every run trained once between them: %d + %d", na, nb);
    printf("two processes: %d and %d runs\n", na, nb);
    CHECK(sql_int("SELECT count(*) FROM runs") == 6, "6 runs stored");
    CHECK(sql_int("SELECT count(*) FROM claims") == 0, "no claim left");
    remove(la);
    remove(lb);
}

/* ----- the runner API with claims planted in the store ----- */

typedef struct inline_exec {
    on_study_plan *p;
    int slot, rc;
    on_study_result r;
    on_error e;
} inline_exec;

static int ie_start(void *ctx, int slot, int job, on_error *err) {
    (void)err;
    inline_exec *x = ctx;
    x->slot = slot;
    x->rc = on_study_run_job(x->p, job, &x->r, &x->e) ? 1 : 0;
    return 0;
}

static int ie_wait(void *ctx, int *slot, on_study_result *r, on_error *err) {
    inline_exec *x = ctx;
    *slot = x->slot;
    *r = x->r;
    *err = x->e;
    return x->rc;
}

static on_study_cfg tiny(void) {
    on_study_cfg c = on_study_defaults();
    c.model = MODEL;
    c.orders = ORDERS;
    c.seeds = 2;
    c.epochs = 1;
    c.limit = 300;
    c.test_limit = 200;
    c.out = out;
    c.train.batch = 50;
    return c;
}

/* Plant a claim on the plan's job 0 by `owner`, `age` seconds old. */
static void plant(on_study_plan *p, const char *owner, double age) {
    char path[160];
    snprintf(path, sizeof path, "%s/study.sqlite", out);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO claims VALUES(?,?,?,?,?)", -1, &st, NULL);
    const on_study_job *j = on_study_plan_job(p, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    sqlite3_bind_text(st, 1, on_study_plan_key(p), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, j->seed);
    sqlite3_bind_text(st, 4, owner, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, (double)t.tv_sec + 1e-9 * t.tv_nsec - age);
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static on_study_plan *opened(int *pending) {
    on_error err;
    on_study_cfg c = tiny();
    on_study_plan *p = on_study_plan_new(&c, &err);
    CHECK(p != NULL, "plan: %s", p ? "" : err.msg);
    if (p && on_study_open(p, NULL, pending, &err)) {
        CHECK(0, "open: %s", err.msg);
        on_study_plan_free(p);
        return NULL;
    }
    return p;
}

static void test_claims(void) {
    char host[128] = "localhost", owner[200];
    gethostname(host, sizeof host - 1);
    on_error err;
    int pending = 0, held = 0, job = -1;
    /* a live owner on this host (our parent): its claim is skipped */
    clean();
    on_study_plan *p = opened(&pending);
    if (!p) return;
    CHECK(on_study_plan_jobs(p) == 4 && pending == 4, "4 jobs, all pending");
    snprintf(owner, sizeof owner, "%s:%d", host, (int)getppid());
    plant(p, owner, 0);
    int claimed = 0, got_zero = 0, r;
    while ((r = on_study_claim(p, &job, &held, &err)) == 1) claimed++, got_zero |= job == 0;
    CHECK(r == 0 && claimed == 3 && !got_zero && held == 1,
          "a live claim is skipped: %d claimed, %d held, job 0 %s", claimed, held,
          got_zero ? "taken" : "left");
    CHECK(sql_int("SELECT count(*) FROM claims") == 4, "4 claims in the store");
    on_study_plan_free(p);
    CHECK(sql_int("SELECT count(*) FROM claims") == 1, "closing drops this owner's claims");

    /* the heartbeat: a claim held longer than the stale limit stays fresh */
    clean();
    if (!(p = opened(&pending))) return;
    on_study_set_stale(p, 0.4);
    CHECK(on_study_claim(p, &job, &held, &err) == 1, "claim");
    struct timespec nap = {1, 0};
    nanosleep(&nap, NULL);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    char q[200];
    snprintf(q, sizeof q, "SELECT CAST((%.3f - beat) * 1000 AS INT) FROM claims",
             (double)t.tv_sec + 1e-9 * t.tv_nsec);
    int age_ms = sql_int(q);
    CHECK(age_ms >= 0 && age_ms < 400, "after 1 s the heartbeat is %d ms old (stale at 400)",
          age_ms);
    on_study_plan_free(p);

    /* an owner on this host that died: taken over at once, though its heartbeat is fresh */
    clean();
    if (!(p = opened(&pending))) return;
    /* exec, not exit: a forked copy of this process would leave valgrind a leak report */
    pid_t dead = fork();
    if (dead == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(0);
    }
    waitpid(dead, NULL, 0);
    snprintf(owner, sizeof owner, "%s:%d", host, (int)dead);
    plant(p, owner, 0);
    CHECK(on_study_claim(p, &job, &held, &err) == 1 && job == 0,
          "the claim of a dead process is taken over");
    on_study_plan_free(p);

    /* another host's claim: skipped while fresh, taken when stale; the study waits for it
     * and then trains it itself, so its report is whole */
    clean();
    if (!(p = opened(&pending))) return;
    plant(p, "elsewhere.example:1", 0);
    on_study_set_stale(p, 1.5);
    inline_exec x = {.p = p};
    on_study_executor ex = {1, &x, ie_start, ie_wait};
    double t0 = mono();
    int rc = on_study_execute(p, &ex, &err);
    double waited = mono() - t0;
    CHECK(!rc, "execute: %s", rc ? err.msg : "");
    CHECK(sql_int("SELECT count(*) FROM runs") == 4, "all 4 runs stored, the stale one too");
    CHECK(waited >= 1.0, "it waited for the other host's claim to go stale (%.1fs)", waited);
    CHECK(sql_int("SELECT count(*) FROM claims") == 0, "no claim left");
    CHECK(!on_study_report_write(p, &err), "report: %s", err.msg);
    on_study_plan_free(p);
}

/* Runs that fail (training diverges) are reported once each, not retried forever, and
 * leave neither rows nor claims. */
static void test_failures(void) {
    clean();
    on_error err;
    on_study_cfg c = tiny();
    c.train.lr = 1e30f;
    int rc = on_study_run(&c, &err);
    CHECK(rc != 0 && strstr(err.msg, "4 runs failed"), "4 diverging runs fail once each: %s",
          rc ? err.msg : "no error");
    CHECK(sql_int("SELECT count(*) FROM runs") == 0 && sql_int("SELECT count(*) FROM claims") == 0,
          "and leave no row and no claim");
}

int main(void) {
    on_set_threads(1);
    snprintf(out, sizeof out, "/tmp/ordnet-claims-%d", (int)getpid());
    test_claims();
    test_two_processes();
    test_failures();
    clean();
    return check_done();
}
