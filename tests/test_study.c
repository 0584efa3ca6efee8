/* test_study.c - the order study on a tiny budget: classes from the analyzer, one run per
 * class and seed stored as it finishes, a rerun that skips finished runs, a study killed
 * with SIGKILL that loses only the run in progress, and the report files with the fields
 * scripts rely on; plus the statistics behind the report, and `ordnet bench --json` (its
 * fields, not its speed: tests time nothing). */
#include "check.h"
#include "study/runner.h"
#include "study/study.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char out[96];
static int lines;

static void count_line(void *user, const char *line) {
    (void)user;
    if (line[0] == '[') lines++;
}

static int count_rows(void) {
    char path[160];
    snprintf(path, sizeof path, "%s/study.sqlite", out);
    sqlite3 *db = NULL;
    /* read-only: while the CLI starts, the directory or the file may not exist yet, and
     * the test must not create them; a failed open still allocates a handle to close */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM runs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int count_speed(void) {
    char path[160];
    snprintf(path, sizeof path, "%s/study.sqlite", out);
    sqlite3 *db = NULL;
    sqlite3_stmt *st;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM speed WHERE train_ms > 0 AND infer_ms > 0", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

static double num(const cJSON *o, const char *k);

static char *slurp(const char *name) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", out, name);
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

static on_study_cfg tiny(void) {
    on_study_cfg c = on_study_defaults();
    c.model = "input(28,28,1) conv2d(4,3,same) {bn relu maxpool dropout(0.2)} flatten dense(10)";
    /* three orders: two equal by proof (relu moves past maxpool), one of another class */
    c.orders =
        "bn relu maxpool dropout(0.2);bn maxpool relu dropout(0.2);relu bn maxpool dropout(0.2)";
    c.seeds = 2;
    c.epochs = 1;
    c.limit = 300;
    c.test_limit = 200;
    c.out = out;
    c.log = count_line;
    c.train.batch = 50;
    return c;
}

static void test_stats(void) {
    double x[5] = {1, 2, 3, 4, 5};
    on_summary s = on_summarize(x, 5);
    /* mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764 */
    CHECK(fabs(s.mean - 3) < 1e-12 && fabs(s.sd - sqrt(2.5)) < 1e-12, "mean and sd");
    CHECK(fabs(s.half_ci - 2.776445 * sqrt(2.5) / sqrt(5)) < 1e-4, "95%% interval %.6f", s.half_ci);
    CHECK(fabs(on_t_two_sided_p(2.0, 10) - 0.07338803) < 1e-6, "t-test p %.8f",
          on_t_two_sided_p(2.0, 10));
    double a[4] = {0.90, 0.91, 0.92, 0.905}, b[4] = {0.85, 0.86, 0.855, 0.86};
    double p = on_welch_p(on_summarize(a, 4), on_summarize(b, 4));
    CHECK(p < 0.001, "clearly different means: p %.2g", p);
    p = on_welch_p(on_summarize(a, 4), on_summarize(a, 4));
    CHECK(fabs(p - 1) < 1e-9, "equal samples: p %.3g", p);
}

static void test_run_and_resume(void) {
    on_error err;
    on_study_cfg c = tiny();
    lines = 0;
    int rc = on_study_run(&c, &err);
    CHECK(!rc, "study: %s", rc ? err.msg : "");
    /* 3 orders -> 2 classes -> 2 classes x 2 seeds = 4 runs */
    CHECK(count_rows() == 4 && lines == 4, "4 runs stored (%d) and reported (%d)", count_rows(),
          lines);
    lines = 0;
    rc = on_study_run(&c, &err);
    CHECK(!rc && lines == 0 && count_rows() == 4, "a rerun skips every finished run");
    char *js = slurp("results.json");
    cJSON *j = cJSON_Parse(js);
    cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs"),
          *cls = cJSON_GetObjectItemCaseSensitive(j, "classes");
    CHECK(cJSON_GetArraySize(runs) == 4 && cJSON_GetArraySize(cls) == 2,
          "results.json lists runs and classes");
    cJSON *r0 = cJSON_GetArrayItem(runs, 0);
    const char *fields[] = {"order",
                            "class",
                            "seed",
                            "test_accuracy",
                            "epoch_seconds",
                            "train_images_per_s",
                            "infer_images_per_s"};
    for (int i = 0; i < 7; i++)
        CHECK(cJSON_GetObjectItemCaseSensitive(r0, fields[i]) != NULL, "run field %s", fields[i]);
    double acc = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r0, "test_accuracy"));
    CHECK(acc > 0.2 && acc <= 1, "a run learned something: %.3f", acc);
    /* the class with two given orders lists both as members */
    int two = 0;
    for (int i = 0; i < cJSON_GetArraySize(cls); i++)
        two |= cJSON_GetArraySize(
                   cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cls, i), "members")) == 2;
    CHECK(two, "orders equal by proof share a class");
    /* the paired comparison with the best, its verdict, the measured speed */
    int ranked2 = -1;
    for (int i = 0; i < cJSON_GetArraySize(cls); i++) {
        cJSON *ci = cJSON_GetArrayItem(cls, i);
        if (num(ci, "rank") != 2) continue;
        ranked2 = i;
        cJSON *vb = cJSON_GetObjectItemCaseSensitive(ci, "vs_best");
        CHECK(num(vb, "pairs") == 2 && num(vb, "ci95_low") <= num(vb, "difference") &&
                  num(vb, "difference") <= num(vb, "ci95_high") && num(vb, "difference") >= 0,
              "rank 2 against the best: 2 pairs, difference >= 0 inside its interval");
        CHECK(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ci, "decision")) != NULL,
              "a verdict per class");
        CHECK(num(ci, "train_step_ms_median") > 0 && num(ci, "infer_batch_ms_median") > 0,
              "measured step times");
    }
    CHECK(ranked2 >= 0, "a class ranked 2");
    cJSON *qs = cJSON_GetObjectItemCaseSensitive(j, "questions");
    CHECK(cJSON_GetArraySize(qs) >= 1, "the thread's questions as contrasts (%d)",
          cJSON_GetArraySize(qs));
    cJSON_Delete(j);
    CHECK(count_speed() == 2 * 7, "7 interleaved rounds per class in the store (%d rows)",
          count_speed());
    free(js);
    char *md = slurp("report.md"), *svg = slurp("report.svg"), *csv = slurp("results.csv");
    CHECK(md && strstr(md, "95% CI") && strstr(md, "paired t-test") && strstr(md, "Holm") &&
              strstr(md, "BatchNorm before the activation"),
          "report.md has intervals, the test and the thread's questions");
    CHECK(svg && strstr(svg, "<svg") && strstr(svg, "</svg>"), "report.svg is an SVG");
    CHECK(csv && strstr(csv, "order,class,seed,test_accuracy"), "results.csv has a header");
    char *html = slurp("report.html");
    CHECK(html && strstr(html, "<!DOCTYPE html>") && strstr(html, "data-run=\"") &&
              !strstr(html, "<script") && !strstr(html, "http://") && !strstr(html, "https://"),
          "report.html: one page, no scripts, nothing fetched");
    free(html);
    free(md);
    free(svg);
    free(csv);
}

/* --budget: the base seeds, then more for the undecided classes, the report from the
 * whole study with the procedure's error rate. With 300 images, one epoch and 2 seeds
 * nothing is decided (a paired test with 1 degree of freedom), so the undecided class and
 * the best both get seed 3, the cap (max_seeds; the budget is not what stops it, so the
 * test does not depend on the machine's speed). */
static void test_adaptive(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    if (system(cmd)) return;
    on_error err;
    on_study_cfg c = tiny();
    c.budget = 1e6;
    c.max_seeds = 3;
    c.speed_rounds = 1;
    lines = 0;
    int rc = on_study_adaptive(&c, &err);
    int rows = count_rows();
    CHECK(!rc && rows == 6, "adaptive: %d runs (2 classes x 3 seeds)", rows);
    char *js = slurp("results.json");
    cJSON *j = cJSON_Parse(js), *cls = cJSON_GetObjectItemCaseSensitive(j, "classes");
    CHECK(cJSON_GetArraySize(cls) == 2, "the report covers both classes");
    cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "adaptive")), "and says adaptive");
    for (int i = 0; i < cJSON_GetArraySize(cls); i++) {
        cJSON *ci = cJSON_GetArrayItem(cls, i);
        CHECK(num(ci, "runs") == 3, "class %d: 3 seeds (%g)", (int)num(ci, "id"), num(ci, "runs"));
    }
    cJSON_Delete(j);
    free(js);
    lines = 0;
    rc = on_study_adaptive(&c, &err);
    CHECK(!rc && lines == 0 && count_rows() == 6, "a rerun trains nothing more (%d lines)", lines);
    char *md = slurp("report.md");
    CHECK(md && strstr(md, "Adaptive seeds") && strstr(md, "at most 5%"),
          "report.md states the procedure's error rate");
    free(md);
}

/* The test loss of the first run in results.json, and the study's key. */
static double first_loss(char *key, size_t len) {
    char *js = slurp("results.json");
    cJSON *j = cJSON_Parse(js);
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "runs"), 0);
    double loss = num(r0, "test_loss");
    const char *k = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "study"), "study"));
    snprintf(key, len, "%s", k ? k : "");
    cJSON_Delete(j);
    free(js);
    return loss;
}

/* --seed-base: another seed set is another study in the same store, with other runs. */
static void test_seed_base(void) {
    on_error err;
    on_study_cfg c = tiny();
    char key0[64], key1[64];
    double loss0 = first_loss(key0, sizeof key0);
    c.seeds = 1;
    c.seed_base = 100;
    c.speed_rounds = -1;
    int rc = on_study_run(&c, &err);
    double loss1 = first_loss(key1, sizeof key1);
    CHECK(!rc && count_rows() == 6, "seeds 101: 2 more runs beside the 4 (%d)", count_rows());
    CHECK(strcmp(key0, key1) && loss0 != loss1, "another study (%s, %s), other numbers (%g, %g)",
          key0, key1, loss0, loss1);
}

/* The CLI in a fresh process (OpenMP's threads do not survive a fork of this one); its
 * stdout and stderr into errfile when given. */
static pid_t spawn_cli_err(int jobs, const char *errfile) {
    pid_t pid = fork();
    if (pid == 0) {
        if (errfile && (!freopen(errfile, "w", stderr) || dup2(2, 1) < 0)) _exit(126);
        char j[16];
        snprintf(j, sizeof j, "%d", jobs);
        execl(ORDNET_BIN, ORDNET_BIN, "study",
              "input(28,28,1) conv2d(4,3,same) {bn relu maxpool dropout(0.2)} flatten dense(10)",
              "--orders",
              "bn relu maxpool dropout(0.2);bn maxpool relu dropout(0.2);relu bn maxpool "
              "dropout(0.2)",
              "--seeds", "8", "--epochs", "2", "--limit", "12000", "--test-limit", "500", "--out",
              out, "--jobs", j, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_cli(int jobs) {
    return spawn_cli_err(jobs, NULL);
}

/* SIGKILL in the middle: finished runs survive, the rerun completes the rest. 16 runs of
 * 0.2-0.3 s: with 4 of 0.05 s the study could end before this process, slowed down under
 * valgrind, saw its first stored run. */
static void test_kill(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    if (system(cmd)) return;
    pid_t pid = spawn_cli(1);
    /* wait for the first stored run, then kill */
    int rows = -1;
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 3000 && rows < 1; i++) {
        nanosleep(&nap, NULL);
        rows = count_rows();
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    rows = count_rows();
    CHECK(rows >= 1 && rows < 16, "killed after %d of 16 runs", rows);
    /* the rest with two parallel workers */
    pid = spawn_cli(2);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the rerun with --jobs 2 exits 0");
    CHECK(count_rows() == 16, "and stores the missing runs: %d of 16", count_rows());
    char *md = slurp("report.md");
    CHECK(md && strstr(md, "| 1 |"), "and writes the report");
    free(md);
}

/* A worker process killed during a run (--jobs 2 keeps its workers for the whole study):
 * that run fails, named, and the others are stored, the slot's later runs by a new worker;
 * the rerun trains the one missing. */
static void test_worker_killed(void) {
    char cmd[160], errfile[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    snprintf(errfile, sizeof errfile, "%s-stderr.txt", out);
    if (system(cmd)) return;
    pid_t pid = spawn_cli_err(2, errfile);
    int rows = -1;
    struct timespec nap = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 3000 && rows < 1; i++) {
        nanosleep(&nap, NULL);
        rows = count_rows();
    }
    /* a worker: a child of the CLI (Linux lists them in /proc) */
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    int worker = 0;
    if (!f || fscanf(f, "%d", &worker) != 1) worker = 0;
    if (f) fclose(f);
    CHECK(worker > 0, "the study's worker processes are listed (%s)", path);
    if (worker > 0) kill(worker, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    rows = count_rows();
    FILE *ef = fopen(errfile, "r");
    char msg[4096] = {0};
    if (ef) {
        size_t n = fread(msg, 1, sizeof msg - 1, ef);
        msg[n] = 0;
        fclose(ef);
    }
    remove(errfile);
    /* killed in a run (the run fails), or, rarely, in the milliseconds between two (no
     * run lost: the next one goes to a new worker) */
    int in_run = rows == 15 && WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
                 strstr(msg, "killed by signal 9") && strstr(msg, "1 run failed");
    int between = rows == 16 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(in_run || between, "a worker killed: %d of 16 runs stored, exit %d, stderr: %s", rows,
          WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg);
    pid = spawn_cli(2);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && count_rows() == 16,
          "the rerun stores the missing run: %d of 16", count_rows());
}

/* Run the CLI with argv, stdout into a file; returns its JSON output (or NULL). */
static cJSON *cli_json(const char *const *argv) {
    char path[128];
    snprintf(path, sizeof path, "%s-bench.json", out);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(path, "w", stdout)) _exit(126);
        execv(ORDNET_BIN, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    FILE *f = fopen(path, "r");
    char buf[65536] = {0};
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    remove(path);
    buf[n] = 0;
    return WIFEXITED(status) && !WEXITSTATUS(status) ? cJSON_Parse(buf) : NULL;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* ordnet bench: the fields scripts read, positive; a layer entry per layer; ONNX models */
static void test_bench(void) {
    const char *argv[] = {ORDNET_BIN,
                          "bench",
                          "input(8,8,3) conv2d(6,3,same) bn relu maxpool dropout(0.2) flatten "
                          "dense(4)",
                          "--batch",
                          "4",
                          "--infer-batch",
                          "3",
                          "--seconds",
                          "0.01",
                          "--json",
                          NULL};
    cJSON *j = cli_json(argv);
    CHECK(j != NULL, "bench --json prints JSON");
    if (j) {
        CHECK(num(j, "train_images_per_s") > 0 && num(j, "infer_images_per_s") > 0 &&
                  num(j, "peak_rss_mb") > 0 && num(j, "latency_ms_batch1") > 0 &&
                  num(j, "batch") == 4 && num(j, "infer_batch") == 3,
              "bench: train/infer images/s, peak RSS, latency, batches");
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "layers")) == 7,
              "bench: one entry per layer");
        cJSON_Delete(j);
    }
    const char *onnx[] = {ORDNET_BIN,     "bench",     "onnx/data/conv1d.onnx",
                          "--infer-only", "--seconds", "0.01",
                          "--json",       NULL};
    j = cli_json(onnx);
    CHECK(j && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "train_images_per_s")) &&
              num(j, "infer_images_per_s") > 0,
          "bench --infer-only of an ONNX model");
    cJSON_Delete(j);
}

/* A model with values a reader gave (Keras Normalization's mean and variance) is refused:
 * the study rebuilds every order from the definition, which would drop them. */
static void test_given_values(void) {
    on_study_cfg c = tiny();
    c.model = "from tensorflow.keras import layers, Sequential\n"
              "model = Sequential([layers.Input(shape=(28, 28, 1)),\n"
              "    layers.Normalization(mean=0.3, variance=0.09),\n"
              "    layers.Conv2D(4, 3, padding='same'), layers.BatchNormalization(),\n"
              "    layers.ReLU(), layers.MaxPooling2D(), layers.Dropout(0.2),\n"
              "    layers.Flatten(), layers.Dense(10)])\n";
    c.orders = NULL;
    c.block = "bn,relu,maxpool,dropout(0.2)";
    on_error err = {{0}};
    on_study_plan *p = on_study_plan_new(&c, &err);
    CHECK(!p && strstr(err.msg, "normalization") && strstr(err.msg, "given values"),
          "given values refused: %s", p ? "(planned)" : err.msg);
    on_study_plan_free(p);
}

int main(void) {
    on_set_threads(2);
    snprintf(out, sizeof out, "/tmp/ordnet-study-%d", (int)getpid());
    test_stats();
    test_run_and_resume();
    test_seed_base();
    test_kill();
    test_worker_killed();
    test_adaptive();
    test_bench();
    test_given_values();
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    if (system(cmd)) return 1;
    return check_done();
}
