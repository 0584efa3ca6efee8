/* store.c - the study's store, OUT/study.sqlite: finished runs, and claims on the runs in
 * progress.
 *
 * Every finished run is one row of `runs`, written in its own transaction, so a killed
 * study loses only the runs in progress and the same command again skips the finished
 * ones. A process about to train a run first claims it: a row of `claims` with its owner
 * ("host:pid") and a heartbeat that a thread refreshes while the owner lives. Another
 * process started on the same directory skips the runs with a live claim, so two studies
 * split the runs instead of both training all of them. A claim is live while its
 * heartbeat is younger than the stale limit and, when its owner is on this host, the
 * owner's process exists: a study killed with SIGKILL leaves claims that the next one
 * takes over at once on this host, or after the stale limit from another host.
 */
#include "base/base.h"
#include "plan.h"
#include "report.h"
#include "study.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int db_open(const char *dir, sqlite3 **db, on_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/study.sqlite", dir);
    if (sqlite3_open(path, db) != SQLITE_OK) {
        on_fail(err, "%s: %s", path, *db ? sqlite3_errmsg(*db) : "cannot open");
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, 60000);
    const char *schema =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE IF NOT EXISTS studies(study TEXT PRIMARY KEY, config TEXT);"
        "CREATE TABLE IF NOT EXISTS runs(study TEXT, ord TEXT, class INT, seed INT,"
        " test_accuracy REAL, test_loss REAL, epoch_seconds REAL, train_images_per_s REAL,"
        " infer_images_per_s REAL, epochs TEXT, finished TEXT, PRIMARY KEY(study, ord, seed));"
        "CREATE TABLE IF NOT EXISTS claims(study TEXT, ord TEXT, seed INT, owner TEXT,"
        " beat REAL, PRIMARY KEY(study, ord, seed));";
    char *msg = NULL;
    int rc;
    /* Two processes opening a new store at once: switching it to WAL can answer SQLITE_BUSY
     * at once, without the busy handler, while the other one sets it up. Retry for up to the
     * busy timeout; every statement here may run again. */
    for (int tries = 0;
         (rc = sqlite3_exec(*db, schema, NULL, NULL, &msg)) == SQLITE_BUSY && tries < 600;
         tries++) {
        sqlite3_free(msg);
        msg = NULL;
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    if (rc != SQLITE_OK) {
        on_fail(err, "%s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

static int exec(sqlite3 *db, const char *sql) {
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static int db_has(sqlite3 *db, const char *study, const on_study_job *j) {
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE study=? AND ord=? AND seed=?", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, j->seed);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* Refresh this owner's claims every quarter of the stale limit, on its own connection. */
static void *heartbeat(void *arg) {
    on_study_plan *p = arg;
    sqlite3 *db = NULL;
    on_error e;
    if (db_open(p->c.out, &db, &e)) return NULL;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        double period = p->stale / 4 > 0.05 ? p->stale / 4 : 0.05,
               until = on_wall_seconds() + period;
        struct timespec ts = {(time_t)until, (long)((until - (double)(time_t)until) * 1e9)};
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        if (p->stop) break;
        pthread_mutex_unlock(&p->mu);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "UPDATE claims SET beat=? WHERE owner=?", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_double(st, 1, on_wall_seconds());
            sqlite3_bind_text(st, 2, p->owner, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    sqlite3_close(db);
    return NULL;
}

int on_study_open(on_study_plan *p, const char *owner, int *pending, on_error *err) {
    const on_study_cfg *c = &p->c;
    if (p->db) return on_fail(err, "the study's store is already open");
    if (mkdir(c->out, 0777) && access(c->out, W_OK))
        return on_fail(err, "%s: cannot create the output directory", c->out);
    sqlite3 *db = NULL;
    if (db_open(c->out, &db, err)) return -1;
    p->db = db;
    if (owner)
        snprintf(p->owner, sizeof p->owner, "%s", owner);
    else {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = 0;
        snprintf(p->owner, sizeof p->owner, "%s:%d", host, (int)getpid());
    }
    if (!(p->running = calloc((size_t)p->njobs + 1, sizeof(int))))
        return on_fail(err, "out of memory");
    char *cfgjson = on_study_plan_describe(p);
    sqlite3_stmt *st;
    if (cfgjson && sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO studies VALUES(?,?)", -1, &st,
                                      NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cfgjson, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    free(cfgjson);
    *pending = 0;
    for (int i = 0; i < p->njobs; i++) *pending += !db_has(db, p->key, &p->jobs[i]);
    p->pending = *pending;
    p->stop = 0;
    p->beating = !pthread_create(&p->beat, NULL, heartbeat, p);
    return 0;
}

void on_study_set_stale(on_study_plan *p, double seconds) {
    pthread_mutex_lock(&p->mu);
    p->stale = seconds;
    pthread_cond_signal(&p->cv); /* the heartbeat takes the new period now */
    pthread_mutex_unlock(&p->mu);
}

void on_study_store_close(on_study_plan *p) {
    if (p->beating) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->beat, NULL);
        p->beating = 0;
    }
    if (p->db) {
        /* claims this owner still holds (runs that failed or were never finished) */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(p->db, "DELETE FROM claims WHERE owner=?", -1, &st, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(st, 1, p->owner, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        sqlite3_close(p->db);
        p->db = NULL;
    }
}

/* Is a claim by `owner` with heartbeat `beat` still live? */
static int claim_live(const on_study_plan *p, const char *owner, double beat) {
    if (on_wall_seconds() - beat > p->stale) return 0;
    char host[128] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = 0;
    const char *colon = strrchr(owner, ':');
    if (colon && (size_t)(colon - owner) == strlen(host) && !strncmp(owner, host, strlen(host))) {
        long pid = strtol(colon + 1, NULL, 10);
        if (pid > 0 && kill((pid_t)pid, 0) && errno == ESRCH) return 0; /* died */
    }
    return 1;
}

int on_study_claim(on_study_plan *p, int *job, int *held, on_error *err) {
    sqlite3 *db = p->db;
    *held = 0;
    if (!db) return on_fail(err, "the study's store is not open");
    if (exec(db, "BEGIN IMMEDIATE")) return on_fail(err, "store: %s", sqlite3_errmsg(db));
    int got = 0;
    for (int i = 0; i < p->njobs && !got; i++) {
        const on_study_job *j = &p->jobs[i];
        if (p->running[i] || db_has(db, p->key, j)) continue;
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db,
                               "SELECT owner, beat FROM claims WHERE study=? AND ord=? AND "
                               "seed=?",
                               -1, &st, NULL) != SQLITE_OK)
            break;
        sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, j->seed);
        int live = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *owner = (const char *)sqlite3_column_text(st, 0);
            live = owner && claim_live(p, owner, sqlite3_column_double(st, 1));
        }
        sqlite3_finalize(st);
        if (live) {
            (*held)++;
            continue;
        }
        if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO claims VALUES(?,?,?,?,?)", -1, &st,
                               NULL) != SQLITE_OK)
            break;
        sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, j->seed);
        sqlite3_bind_text(st, 4, p->owner, -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 5, on_wall_seconds());
        if (sqlite3_step(st) == SQLITE_DONE) {
            got = 1;
            *job = i;
            p->running[i] = 1;
        }
        sqlite3_finalize(st);
    }
    if (exec(db, "COMMIT")) {
        exec(db, "ROLLBACK");
        if (got) p->running[*job] = 0;
        return on_fail(err, "store: %s", sqlite3_errmsg(db));
    }
    return got;
}

static void claim_drop(sqlite3 *db, const char *key, const on_study_job *j, const char *owner) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM claims WHERE study=? AND ord=? AND seed=? AND owner=?",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, j->seed);
    sqlite3_bind_text(st, 4, owner, -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

int on_study_store(on_study_plan *p, int job, const on_study_result *r, on_error *err) {
    sqlite3 *db = p->db;
    if (!db || job < 0 || job >= p->njobs) return on_fail(err, "store: no such run (%d)", job);
    const on_study_job *j = &p->jobs[job];
    if (exec(db, "BEGIN IMMEDIATE")) return on_fail(err, "store: %s", sqlite3_errmsg(db));
    sqlite3_stmt *st;
    const char *sql = "INSERT OR REPLACE INTO runs VALUES(?,?,?,?,?,?,?,?,?,?,datetime('now'))";
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
    } else {
        sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, j->order, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, j->cls);
        sqlite3_bind_int(st, 4, j->seed);
        sqlite3_bind_double(st, 5, r->acc);
        sqlite3_bind_double(st, 6, r->loss);
        sqlite3_bind_double(st, 7, r->epoch_s);
        sqlite3_bind_double(st, 8, r->train_ips);
        sqlite3_bind_double(st, 9, r->infer_ips);
        sqlite3_bind_text(st, 10, r->epochs, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    if (!rc) claim_drop(db, p->key, j, p->owner);
    if (rc || exec(db, "COMMIT")) {
        if (!rc) rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
        exec(db, "ROLLBACK");
        return rc;
    }
    p->running[job] = 0;
    return 0;
}

void on_study_release(on_study_plan *p, int job) {
    if (!p->db || job < 0 || job >= p->njobs) return;
    claim_drop(p->db, p->key, &p->jobs[job], p->owner);
    p->running[job] = 0;
}

static char *fill_any(const void *t, const char *order) {
    return on_study_tmpl_fill(t, order);
}

int on_study_report_write(on_study_plan *p, on_error *err) {
    if (!p->db) return on_fail(err, "the study's store is not open");
    /* speed by measurement, interleaved over the classes (speed.c), then the report */
    if (on_study_speed(p->db, p->key, &p->c, fill_any, &p->t, err)) return -1;
    return on_study_report(p->db, p->key, &p->c, err);
}
