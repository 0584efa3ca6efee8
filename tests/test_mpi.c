/* test_mpi.c - ordnet on MPI ranks, on this machine's loopback (mpirun --oversubscribe -np 3,
 * one thread a rank, tiny budgets):
 *   - a study gives the same numbers, run for run, under mpirun as in one process;
 *   - killing a rank (SIGKILL) ends the job, loses only the runs in progress, and the same
 *     command again completes the study and its report;
 *   - data-parallel training: the same command twice gives bit-identical checkpoints, and
 *     a run killed after a checkpoint and resumed (--resume, under mpirun) ends with the
 *     same file as the uninterrupted one;
 *   - commands other than study and train refuse to run under mpirun.
 * In a build without MPI it checks only that ordnet refuses to run under an MPI launcher
 * (the launcher's variables set by hand). */
#include "check.h"
#include "graph.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODEL "input(28,28,1) conv2d(4,3,same) {bn relu maxpool dropout(0.2)} flatten dense(10)"
#define ORDERS                                                                                     \
    "bn relu maxpool dropout(0.2);bn maxpool relu dropout(0.2);relu bn maxpool dropout(0.2)"

static char dir[96];

static void nap_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Start argv (NULL-terminated) with stdout and stderr into log; returns the pid. */
static pid_t spawn(const char *const *argv, const char *log) {
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr)) _exit(126);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid, at most `secs` seconds (then kill it): its exit code, or -1. */
static int finish(pid_t pid, int secs) {
    int status;
    for (int i = 0; i < secs * 20; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        nap_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    printf("timed out after %d s\n", secs);
    return -1;
}

static int run(const char *const *argv, const char *log, int secs) {
    return finish(spawn(argv, log), secs);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

#ifdef ORDNET_HAVE_MPI

static int sql_int(const char *out, const char *sql) {
    char path[256];
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

#define MPI_ARGS MPIEXEC, "--oversubscribe", "--allow-run-as-root", "-np", "3"

/* The pid of MPI rank `rank` among the children of mpirun `parent` (0 if not found). */
static pid_t rank_pid(pid_t parent, int rank) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    while (d && !found && (e = readdir(d))) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0) continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        int ppid = 0;
        if (f) {
            if (fgets(buf, sizeof buf, f)) {
                char *close_paren = strrchr(buf, ')');
                if (close_paren) sscanf(close_paren + 2, "%*c %d", &ppid);
            }
            fclose(f);
        }
        if (ppid != parent) continue;
        snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
        if (!(f = fopen(path, "rb"))) continue;
        static char env[1 << 16];
        size_t n = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i += strlen(env + i) + 1)
            if (!strcmp(env + i, want)) found = pid;
    }
    if (d) closedir(d);
    return found;
}

/* Per-run numbers of a study: "order|seed|accuracy|loss" lines, sorted, %.17g. */
static void study_numbers(const char *out, char *buf, size_t len) {
    char path[256];
    snprintf(path, sizeof path, "%s/study.sqlite", out);
    sqlite3 *db = NULL;
    buf[0] = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        size_t k = 0;
        if (sqlite3_prepare_v2(db,
                               "SELECT ord, seed, test_accuracy, test_loss FROM runs ORDER BY "
                               "ord, seed",
                               -1, &st, NULL) == SQLITE_OK)
            while (sqlite3_step(st) == SQLITE_ROW && k < len)
                k += (size_t)snprintf(buf + k, len - k, "%s|%d|%.17g|%.17g\n",
                                      (const char *)sqlite3_column_text(st, 0),
                                      sqlite3_column_int(st, 1), sqlite3_column_double(st, 2),
                                      sqlite3_column_double(st, 3));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

static void test_study_same_numbers(void) {
    char one[160], many[160], log[200];
    snprintf(one, sizeof one, "%s/one", dir);
    snprintf(many, sizeof many, "%s/mpi", dir);
    snprintf(log, sizeof log, "%s/study.log", dir);
    const char *a1[] = {ORDNET_BIN, "study",     MODEL, "--orders", ORDERS, "--seeds",
                        "2",        "--epochs",  "1",   "--limit",  "300",  "--test-limit",
                        "200",      "--threads", "1",   "--out",    one,    NULL};
    CHECK(run(a1, log, 300) == 0, "the study in one process");
    const char *am[] = {
        MPI_ARGS,    ORDNET_BIN, "study", MODEL,     "--orders", ORDERS,         "--seeds",
        "2",         "--epochs", "1",     "--limit", "300",      "--test-limit", "200",
        "--threads", "1",        "--out", many,      NULL};
    int rc = run(am, log, 300);
    char *txt = slurp(log);
    CHECK(rc == 0, "the study under mpirun -np 3: %s", txt ? txt : "");
    CHECK(txt && strstr(txt, "3 MPI ranks"), "it ran on 3 ranks");
    free(txt);
    static char n1[8192], nm[8192];
    study_numbers(one, n1, sizeof n1);
    study_numbers(many, nm, sizeof nm);
    CHECK(n1[0] && !strcmp(n1, nm), "every run's numbers are the same:\n%s---\n%s", n1, nm);
    char rep[200];
    snprintf(rep, sizeof rep, "%s/report.md", many);
    char *md = slurp(rep);
    CHECK(md && strstr(md, "| 1 |"), "rank 0 wrote the report");
    free(md);
}

static void test_study_kill(void) {
    char out[160], log[200];
    snprintf(out, sizeof out, "%s/killed", dir);
    snprintf(log, sizeof log, "%s/kill.log", dir);
    const char *a[] = {
        MPI_ARGS,    ORDNET_BIN, "study", MODEL,     "--orders", ORDERS,         "--seeds",
        "3",         "--epochs", "1",     "--limit", "600",      "--test-limit", "200",
        "--threads", "1",        "--out", out,       NULL};
    pid_t mpirun = spawn(a, log);
    int rows = -1;
    for (int i = 0; i < 6000 && rows < 1; i++) {
        nap_ms(20);
        rows = sql_int(out, "SELECT count(*) FROM runs");
    }
    pid_t victim = rank_pid(mpirun, 1);
    CHECK(victim > 0, "found rank 1 under mpirun");
    if (victim > 0) kill(victim, SIGKILL);
    int rc = finish(mpirun, 120);
    rows = sql_int(out, "SELECT count(*) FROM runs");
    CHECK(rc != 0 && rows >= 1 && rows < 6, "killing rank 1 ended the job after %d of 6 runs",
          rows);
    rc = run(a, log, 300);
    char *txt = slurp(log);
    CHECK(rc == 0, "the same command again: %s", txt ? txt : "");
    CHECK(txt && strstr(txt, "already in"), "skipping the stored runs");
    free(txt);
    CHECK(sql_int(out, "SELECT count(*) FROM runs") == 6, "and completing the study");
    CHECK(sql_int(out, "SELECT count(*) FROM claims") == 0, "with no claim left");
}

static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_train(void) {
    char c1[160], c2[160], c3[160], log[200];
    snprintf(c1, sizeof c1, "%s/a.ckpt", dir);
    snprintf(c2, sizeof c2, "%s/b.ckpt", dir);
    snprintf(c3, sizeof c3, "%s/c.ckpt", dir);
    snprintf(log, sizeof log, "%s/train.log", dir);
#define TRAIN(ck)                                                                                  \
    MPI_ARGS, ORDNET_BIN, "train", "--limit", "600", "--test-limit", "200", "--epochs", "3",       \
        "--batch", "50", "--threads", "1", "-o", ck
    const char *a[] = {TRAIN(c1), NULL};
    const char *b[] = {TRAIN(c2), NULL};
    int rc = run(a, log, 300);
    char *txt = slurp(log);
    CHECK(rc == 0 && txt && strstr(txt, "data-parallel over 3 MPI ranks") &&
              strstr(txt, "epoch 3/3"),
          "mpirun -np 3 ordnet train: %s", txt ? txt : "");
    free(txt);
    CHECK(run(b, log, 300) == 0, "again");
    CHECK(same_file(c1, c2), "the same command twice: bit-identical checkpoints");
    /* killed after a checkpoint, then resumed under mpirun */
    const char *k[] = {TRAIN(c3), NULL};
    pid_t mpirun = spawn(k, log);
    struct stat st;
    for (int i = 0; i < 6000 && stat(c3, &st); i++) nap_ms(20);
    pid_t victim = rank_pid(mpirun, 2);
    if (victim > 0) kill(victim, SIGKILL);
    rc = finish(mpirun, 120);
    CHECK(victim > 0 && rc != 0 && !stat(c3, &st), "killed rank 2 after the first checkpoint");
    const char *r[] = {MPI_ARGS, ORDNET_BIN,  "train", "--resume", "--limit", "600", "--test-limit",
                       "200",    "--threads", "1",     "-o",       c3,        NULL};
    rc = run(r, log, 300);
    txt = slurp(log);
    CHECK(rc == 0, "mpirun ... train --resume: %s", txt ? txt : "");
    free(txt);
    CHECK(same_file(c1, c3), "the resumed run ends with the uninterrupted run's checkpoint");
}

/* --sync-bn: BatchNorm over the whole batch, so without dropout the ranks train what one
 * process trains, to the rounding of the gradient sum. SGD: AdamW divides each step by
 * the root of its running squared gradient, which turns the rounding of near-zero
 * gradients into full-size steps of another sign, so its runs drift apart faster. */
static void test_sync_bn(void) {
    char c1[160], c3[160], log[200];
    snprintf(c1, sizeof c1, "%s/one-bn.ckpt", dir);
    snprintf(c3, sizeof c3, "%s/sync-bn.ckpt", dir);
    snprintf(log, sizeof log, "%s/sync.log", dir);
#define BN_MODEL "input(28,28,1) conv2d(8,3,same) bn relu maxpool flatten dense(10)"
#define BN_ARGS                                                                                    \
    "train", BN_MODEL, "--limit", "600", "--epochs", "1", "--batch", "50", "--opt", "sgd",         \
        "--threads", "1"
    const char *one[] = {ORDNET_BIN, BN_ARGS, "-o", c1, NULL};
    const char *sync[] = {MPI_ARGS, ORDNET_BIN, BN_ARGS, "--sync-bn", "-o", c3, NULL};
    CHECK(run(one, log, 300) == 0, "one process");
    int rc = run(sync, log, 300);
    char *txt = slurp(log);
    CHECK(rc == 0 && txt && strstr(txt, "over all ranks (--sync-bn)"), "mpirun ... --sync-bn: %s",
          txt ? txt : "");
    free(txt);
    on_error err;
    on_model *a = on_checkpoint_load(c1, NULL, &err), *b = on_checkpoint_load(c3, NULL, &err);
    double d2 = 0, n2 = 0;
    int same = a && b && a->np == b->np && a->ns == b->ns;
    for (size_t i = 0; same && i < a->np; i++) {
        d2 += (double)(a->params[i] - b->params[i]) * (a->params[i] - b->params[i]);
        n2 += (double)a->params[i] * a->params[i];
    }
    double rel = same && n2 > 0 ? sqrt(d2 / n2) : 1;
    printf("--sync-bn over 3 ranks vs one process: |w1 - w3| / |w1| = %.2g\n", rel);
    CHECK(rel < 1e-4, "--sync-bn over 3 ranks trains as one process: %.2g", rel);
    on_model_free(a);
    on_model_free(b);
}

static void test_refusals(void) {
    char log[200];
    snprintf(log, sizeof log, "%s/ops.log", dir);
    const char *a[] = {MPI_ARGS, ORDNET_BIN, "ops", NULL};
    int rc = run(a, log, 120);
    char *txt = slurp(log);
    CHECK(rc != 0 && txt && strstr(txt, "does not run on MPI ranks"),
          "ordnet ops under mpirun is refused: %s", txt ? txt : "");
    free(txt);
}

#endif

/* Started by a launcher in a build without MPI: refuse (all builds check this path by
 * setting the launcher's variable by hand: in an MPI build, MPI_Init then fails or runs
 * one rank, so only the build without MPI can test it). */
static void test_without_mpi(void) {
#ifndef ORDNET_HAVE_MPI
    char log[200];
    snprintf(log, sizeof log, "%s/nompi.log", dir);
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    const char *a[] = {ORDNET_BIN, "study", "--out", dir, NULL};
    int rc = run(a, log, 60);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    char *txt = slurp(log);
    CHECK(rc == 1 && txt && strstr(txt, "built without MPI"),
          "without MPI, ordnet under mpirun says so and stops: %s", txt ? txt : "");
    free(txt);
    struct stat st;
    char db[200];
    snprintf(db, sizeof db, "%s/study.sqlite", dir);
    CHECK(stat(db, &st) != 0, "and writes no store");
#endif
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ordnet-mpi-%d", (int)getpid());
    /* containers often forbid the cross-memory attach Open MPI's shared-memory transport
     * tries first; plain copies work everywhere */
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    mkdir(dir, 0777);
    test_without_mpi();
#ifdef ORDNET_HAVE_MPI
    test_refusals();
    test_study_same_numbers();
    test_study_kill();
    test_train();
    test_sync_bn();
#endif
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_done();
}
