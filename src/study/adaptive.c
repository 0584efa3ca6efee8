/* adaptive.c - `ordnet study --budget TIME`: after the first `seeds` seeds of every class,
 * keep giving another seed to each class whose comparison with the best is not decided yet
 * (verdict.c's on_adaptive_need, a pure function of the accuracies), until every one is
 * decided, a class reaches max_seeds (ADAPTIVE_MAX_SEEDS), or the time budget is spent.
 *
 * It drives on_study_run from outside rather than changing its run loop: each round is
 * the same study (same key, same store) restricted with `orders` to the classes that need
 * seeds and with `seeds` raised, so finished runs are skipped, each new run is stored as it
 * finishes, and a killed adaptive study resumes like any other. A restricted call
 * records its own subset as the study's configuration; the full one is written back after
 * each round, and the final report is written from it.
 */
#include "report.h"
#include "base/base.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADAPTIVE_MAX_SEEDS 20

static void say(const on_study_cfg *c, const char *line) {
    if (c->log) c->log(c->user, line);
}

/* A round's own progress: its runs' lines ("[1/4] class ..."), not its preamble. */
static void round_line(void *user, const char *line) {
    const on_study_cfg *c = user;
    if (line[0] == '[') say(c, line);
}

/* The study's key, from the results.json on_study_run has just written. */
static int study_key(const on_study_cfg *c, char *key, size_t len, on_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/results.json", c->out);
    FILE *f = fopen(path, "rb");
    if (!f) return on_fail(err, "%s: cannot read", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!s) return on_fail(err, "out of memory");
    s[got] = 0;
    cJSON *j = cJSON_Parse(s);
    free(s);
    const char *k = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "study"), "study"));
    int rc = k ? 0 : on_fail(err, "%s: no study key", path);
    if (k) snprintf(key, len, "%s", k);
    cJSON_Delete(j);
    return rc;
}

static char *get_config(sqlite3 *db, const char *key) {
    sqlite3_stmt *st;
    char *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT config FROM studies WHERE study=?", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        s = t ? strdup(t) : NULL;
    }
    sqlite3_finalize(st);
    return s;
}

static int put_config(sqlite3 *db, const char *key, const char *conf) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO studies VALUES(?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conf, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(st);
    return rc;
}

/* The accuracy matrix (class in config order x seed) and the mean seconds of a run. */
static double *accuracies(sqlite3 *db, const char *key, cJSON *classes, int *ns, double *run_s,
                          int epochs) {
    int nc = cJSON_GetArraySize(classes);
    sqlite3_stmt *st;
    *ns = 1, *run_s = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(seed), avg(epoch_seconds) FROM runs WHERE study=?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *ns = sqlite3_column_int(st, 0) > 0 ? sqlite3_column_int(st, 0) : 1;
            *run_s = sqlite3_column_double(st, 1) * epochs;
        }
        sqlite3_finalize(st);
    }
    double *acc = malloc(sizeof(double) * ((size_t)nc * (size_t)*ns + 1));
    if (!acc) return NULL;
    for (int i = 0; i < nc * *ns; i++) acc[i] = NAN;
    if (sqlite3_prepare_v2(db, "SELECT class, seed, test_accuracy FROM runs WHERE study=?", -1, &st,
                           NULL) != SQLITE_OK)
        return acc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0), seed = sqlite3_column_int(st, 1);
        for (int i = 0; i < nc; i++)
            if ((int)cJSON_GetNumberValue(
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(classes, i), "id")) == id &&
                seed >= 1 && seed <= *ns)
                acc[i * *ns + seed - 1] = sqlite3_column_double(st, 2);
    }
    sqlite3_finalize(st);
    return acc;
}

int on_study_adaptive(const on_study_cfg *cfg, on_error *err) {
    double t0 = on_seconds();
    on_study_cfg c = *cfg;
    if (c.seeds < 2) c.seeds = 2; /* a first look needs pairs */
    int max_seeds = c.max_seeds > 0 ? c.max_seeds : ADAPTIVE_MAX_SEEDS;
    if (on_study_run(&c, err)) return -1;
    char key[64], path[4096], line[1024];
    if (study_key(&c, key, sizeof key, err)) return -1;
    snprintf(path, sizeof path, "%s/study.sqlite", c.out);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        sqlite3_close(db);
        return on_fail(err, "%s: cannot open", path);
    }
    sqlite3_busy_timeout(db, 60000);
    char *full = get_config(db, key);
    cJSON *conf = full ? cJSON_Parse(full) : NULL;
    cJSON *classes = cJSON_GetObjectItemCaseSensitive(conf, "classes");
    int nc = cJSON_GetArraySize(classes), rc = conf ? 0 : on_fail(err, "study %s: no config", key);
    int *target = calloc((size_t)nc + 1, sizeof(int)), *have = calloc((size_t)nc + 1, sizeof(int));
    char *orders = malloc(512 * ((size_t)nc + 1));
    if (!target || !have || !orders) rc = on_fail(err, "out of memory");
    for (int round = 1; !rc; round++) {
        int ns;
        double run_s;
        double *acc = accuracies(db, key, classes, &ns, &run_s, c.epochs);
        if (!acc) {
            rc = on_fail(err, "out of memory");
            break;
        }
        int more = on_adaptive_need(acc, nc, ns, c.seeds, 0.05, 0.005, max_seeds, target);
        int runs = 0, top = 0;
        for (int i = 0; i < nc; i++) {
            int n = 0;
            for (int k = 0; k < ns; k++) n += isfinite(acc[i * ns + k]);
            have[i] = n;
            runs += target[i] - n;
            if (target[i] > top) top = target[i];
        }
        free(acc);
        double spent = on_seconds() - t0;
        if (!more) {
            snprintf(line, sizeof line,
                     "adaptive: every comparison with the best is decided (or at %d seeds) "
                     "after %.0f s",
                     max_seeds, spent);
            say(&c, line);
            break;
        }
        /* a round's runs, one after another at the runs' mean time so far */
        double need_s = runs * run_s / (c.jobs > 1 ? c.jobs : 1);
        if (spent + need_s > c.budget) {
            snprintf(line, sizeof line,
                     "adaptive: budget spent (%.0f s of %.0f s; the next round needs about "
                     "%.0f s): %d class%s still undecided",
                     spent, c.budget, need_s, more, more == 1 ? "" : "es");
            say(&c, line);
            break;
        }
        /* the classes that need seeds, one call per seed count they must reach */
        for (int want = 1; want <= top && !rc; want++) {
            size_t len = 0;
            orders[0] = 0;
            int n = 0;
            for (int i = 0; i < nc; i++) {
                if (target[i] != want || target[i] <= have[i]) continue;
                const char *rep = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetArrayItem(classes, i), "representative"));
                len += (size_t)snprintf(orders + len, 512 * ((size_t)nc + 1) - len, "%s%s",
                                        n++ ? ";" : "", rep ? rep : "");
            }
            if (!n) continue;
            snprintf(line, sizeof line, "adaptive round %d: %d class%s to %d seeds: %s", round, n,
                     n == 1 ? "" : "es", want, orders);
            say(&c, line);
            on_study_cfg r = c;
            r.orders = orders;
            r.seeds = want;
            r.speed_rounds = -1; /* measured once, for every class, by the first call */
            r.log = c.log ? round_line : NULL;
            r.user = &c;
            rc = on_study_run(&r, err);
            if (put_config(db, key, full) && !rc)
                rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
        }
    }
    if (!rc) rc = on_study_report(db, key, &c, err);
    free(target);
    free(have);
    free(orders);
    free(full);
    cJSON_Delete(conf);
    sqlite3_close(db);
    return rc;
}
