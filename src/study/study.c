/* study.c - train every distinct order of a block and store what happened.
 *
 * The model is a template: text with {...} slots, each replaced by the same order of the
 * block (the default: the reference model's two blocks). The analyzer groups the orders
 * into training classes (docs/ORDERING.md section 4); one member per class, the
 * cheapest, is trained per seed; the others are equal by proof. Every finished run goes
 * into an SQLite database in the output directory in its own transaction, so a killed
 * study loses only the runs in progress, and running the same command again skips the
 * finished ones. With --jobs N, runs go to N forked workers.
 */
#include "study.h"
#include "report.h"
#include "../analyze/analyze.h"
#include "../spec/args.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAXB 8     /* layers in a block */
#define MAXO 40320 /* 8! orders */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void say(const on_study_cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const on_study_cfg *c, const char *fmt, ...) {
    if (!c->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->log(c->user, line);
}

/* Split "a,b(1,2),c" or "a b c" at top-level commas/spaces. Returns the count. */
static int split_tokens(const char *s, char tok[][96], int max) {
    int n = 0, depth = 0;
    size_t k = 0;
    for (const char *p = s;; p++) {
        int end = !*p || (!depth && (*p == ',' || *p == ' ' || *p == ';'));
        if (end) {
            if (k && n < max) {
                tok[n][k < 95 ? k : 95] = 0;
                n++;
            }
            k = 0;
            if (!*p) break;
            continue;
        }
        depth += (*p == '(') - (*p == ')');
        if (n < max && k < 95) tok[n][k] = *p;
        k++;
    }
    return n;
}

/* ----- the template ----- */

typedef struct tmpl {
    char *seg[9]; /* text between slots: seg[0] {B} seg[1] {B} ... */
    int nslots;
} tmpl;

static void tmpl_free(tmpl *t) {
    for (int i = 0; i <= t->nslots; i++) free(t->seg[i]);
    memset(t, 0, sizeof *t);
}

/* "text {x y} more {x y} end" -> segments; the text in the first braces is the block. */
static int tmpl_from_braces(const char *text, tmpl *t, char *block, size_t blen, on_error *err) {
    memset(t, 0, sizeof *t);
    const char *p = text;
    for (;;) {
        const char *o = strchr(p, '{');
        if (!o || t->nslots == 8) {
            t->seg[t->nslots] = strdup(p);
            break;
        }
        const char *c = strchr(o, '}');
        if (!c) {
            tmpl_free(t);
            return on_fail(err, "model:1:%d: '{' without '}'", (int)(o - text) + 1);
        }
        t->seg[t->nslots] = strndup(p, (size_t)(o - p));
        if (!t->nslots) snprintf(block, blen, "%.*s", (int)(c - o - 1), o + 1);
        t->nslots++;
        p = c + 1;
    }
    return 0;
}

/* No braces: the runs of the model whose layers are the block's, in any order, become the
 * slots. tokens: the block's tokens. */
static int tmpl_from_runs(const on_model *m, char tok[][96], int nb, tmpl *t, on_error *err) {
    memset(t, 0, sizeof *t);
    char *spec = on_model_to_spec(m);
    if (!spec) return on_fail(err, "out of memory");
    /* the spec's tokens are the model's nodes, one each, in order (node i = token i) */
    char *words[512] = {0};
    int nw = 0;
    for (char *w = strtok(spec, " "); w && nw < 512; w = strtok(NULL, " ")) words[nw++] = w;
    int nn = on_model_num_nodes(m);
    if (nw != nn) {
        free(spec);
        return on_fail(err, "cannot lay out the model's layers for the study");
    }
    size_t cap = strlen(on_model_notes(m)) + 65536;
    char *cur = calloc(1, cap);
    int i = 1;
    size_t len = (size_t)snprintf(cur, cap, "%s", words[0] ? words[0] : "");
    while (i < nn) {
        /* does a run of nb layers starting at i hold exactly the block's ops? */
        int used[MAXB] = {0}, match = i + nb <= nn && t->nslots < 8;
        for (int k = 0; match && k < nb; k++) {
            const on_op *op = on_model_node_op(m, i + k);
            int found = 0;
            for (int j = 0; j < nb && !found; j++) {
                char name[96];
                snprintf(name, sizeof name, "%.95s", tok[j]);
                char *paren = strchr(name, '(');
                if (paren) *paren = 0;
                if (!used[j] && on_spec_resolve(name, on_model_node_shape(m, i + k - 1)) == op)
                    used[j] = found = 1;
            }
            match = found;
        }
        if (match) {
            t->seg[t->nslots++] = cur;
            cur = calloc(1, cap);
            len = 0;
            i += nb;
        } else {
            len += (size_t)snprintf(cur + len, cap - len, " %s", words[i]);
            i++;
        }
    }
    t->seg[t->nslots] = cur;
    free(spec);
    if (!t->nslots) {
        tmpl_free(t);
        return on_fail(err, "the model has no run of layers made of the block's layers");
    }
    return 0;
}

static char *tmpl_fill(const tmpl *t, const char *order) {
    size_t len = strlen(order) * (size_t)t->nslots + 16;
    for (int i = 0; i <= t->nslots; i++) len += strlen(t->seg[i]) + 2;
    char *s = malloc(len);
    if (!s) return NULL;
    size_t k = 0;
    for (int i = 0; i <= t->nslots; i++) {
        k += (size_t)snprintf(s + k, len - k, "%s", t->seg[i]);
        if (i < t->nslots) k += (size_t)snprintf(s + k, len - k, " %s ", order);
    }
    return s;
}

static char *fill_any(const void *t, const char *order) {
    return tmpl_fill(t, order);
}

/* ----- the store ----- */

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
        " infer_images_per_s REAL, epochs TEXT, finished TEXT, PRIMARY KEY(study, ord, seed));";
    char *msg = NULL;
    if (sqlite3_exec(*db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        on_fail(err, "%s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    return 0;
}

static int db_has(sqlite3 *db, const char *study, const char *ord, int seed) {
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE study=? AND ord=? AND seed=?", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ord, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, seed);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

typedef struct result {
    double acc, loss, epoch_s, train_ips, infer_ips;
    char epochs[4096];
} result;

static int db_put(sqlite3 *db, const char *study, const char *ord, int cls, int seed,
                  const result *r, on_error *err) {
    sqlite3_stmt *st;
    const char *sql = "INSERT OR REPLACE INTO runs VALUES(?,?,?,?,?,?,?,?,?,?,datetime('now'))";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return on_fail(err, "store: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, study, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ord, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, cls);
    sqlite3_bind_int(st, 4, seed);
    sqlite3_bind_double(st, 5, r->acc);
    sqlite3_bind_double(st, 6, r->loss);
    sqlite3_bind_double(st, 7, r->epoch_s);
    sqlite3_bind_double(st, 8, r->train_ips);
    sqlite3_bind_double(st, 9, r->infer_ips);
    sqlite3_bind_text(st, 10, r->epochs, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : on_fail(err, "store: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

/* ----- one run ----- */

typedef struct epochs_log {
    result *r;
    size_t len;
    double secs, ips;
    int n;
} epochs_log;

static int log_epoch(void *user, const on_epoch_report *e) {
    epochs_log *l = user;
    if (!e->done) return 0;
    l->len += (size_t)snprintf(l->r->epochs + l->len, sizeof l->r->epochs - l->len,
                               "%s{\"epoch\":%d,\"loss\":%.5f,\"train_accuracy\":%.5f,"
                               "\"test_accuracy\":%.5f,\"test_loss\":%.5f,\"seconds\":%.3f}",
                               l->len > 1 ? "," : "", e->epoch, e->loss, e->train_acc, e->test_acc,
                               e->test_loss, e->seconds);
    if (l->len >= sizeof l->r->epochs) l->len = sizeof l->r->epochs - 1;
    l->secs += e->seconds;
    l->ips += e->images_per_s;
    l->n++;
    return 0;
}

/* Images per second of inference over the test set, batch 256, best of 2 passes. */
static double infer_speed(on_model *m, const on_dataset *te, on_error *err) {
    double best = 0, loss, acc;
    for (int k = 0; k < 2; k++) {
        double t0 = now();
        if (on_evaluate(m, te, 256, &loss, &acc, NULL, err)) return 0;
        double ips = te->n / (now() - t0);
        if (ips > best) best = ips;
    }
    return best;
}

static int run_one(const char *text, int seed, const on_study_cfg *c, const on_dataset *tr,
                   const on_dataset *te, result *r, on_error *err) {
    on_model *m = on_model_from_spec(text, err);
    if (!m) return -1;
    on_train_cfg tc = c->train;
    tc.seed = (uint64_t)seed + (uint64_t)c->seed_base; /* another set of seeds: --seed-base */
    tc.epochs = c->epochs;
    on_model_init(m, tc.seed);
    memset(r, 0, sizeof *r);
    epochs_log l = {.r = r, .len = 1};
    r->epochs[0] = '[';
    int rc = on_train(m, tr, te, &tc, log_epoch, &l, err);
    if (!rc) {
        snprintf(r->epochs + l.len, sizeof r->epochs - l.len, "]");
        rc = on_evaluate(m, te, 256, &r->loss, &r->acc, NULL, err);
        r->epoch_s = l.n ? l.secs / l.n : 0;
        r->train_ips = l.n ? l.ips / l.n : 0;
        on_rewrite rw[32];
        int nrw = 0;
        on_model *o = rc ? NULL : on_optimize(m, rw, 32, &nrw, err);
        if (!rc) r->infer_ips = infer_speed(o ? o : m, te, err);
        on_model_free(o);
    }
    on_model_free(m);
    return rc;
}

/* ----- the study ----- */

typedef struct job {
    char order[512];
    int cls, seed;
    pid_t pid; /* the worker running it, with --jobs */
} job;

static void study_key(const on_study_cfg *c, const tmpl *t, const char *data, char *out) {
    char buf[8192];
    size_t k = (size_t)snprintf(buf, sizeof buf, "%s|%d|%d|%d|%d|%g|%g|%g|%d|%d|", data, c->epochs,
                                c->limit, c->test_limit, c->train.batch, c->train.lr, c->train.wd,
                                c->train.smoothing, c->train.opt, c->train.augment);
    for (int i = 0; i <= t->nslots && k < sizeof buf; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s{}", t->seg[i]);
    if (c->seed_base && k < sizeof buf) /* another seed set is another study */
        snprintf(buf + k, sizeof buf - k, "|seeds+%d", c->seed_base);
    snprintf(out, 32, "%08lx", crc32(0, (const Bytef *)buf, (uInt)strlen(buf)));
}

on_study_cfg on_study_defaults(void) {
    on_study_cfg c = {.block = "bn,relu,maxpool,dropout(0.2)",
                      .seeds = 3,
                      .epochs = 3,
                      .limit = 12000,
                      .test_limit = 5000,
                      .jobs = 1,
                      .data = "fashion-mnist",
                      .out = "study-out"};
    c.train = on_train_defaults();
    return c;
}

int on_study_run(const on_study_cfg *c, on_error *err) {
    int rc = -1;
    tmpl t = {0};
    char block_text[512], tok[MAXB][96], key[32];
    snprintf(block_text, sizeof block_text, "%s", c->block);
    on_model *base = NULL, *prefix = NULL;
    on_dataset tr = {0}, te = {0};
    sqlite3 *db = NULL;
    job *jobs = NULL;
    on_orders o = {0};
    const char *model = c->model;
    if (!model || strchr(model, '{')) {
        const char *ref =
            "input(28,28,1) conv2d(32,3,same) {B} conv2d(64,3,same) {B} flatten dense(10)";
        if (tmpl_from_braces(model ? model : ref, &t, block_text, sizeof block_text, err))
            goto done;
        if (!model) snprintf(block_text, sizeof block_text, "%s", c->block);
    } else {
        if (!(base = on_model_from_file(model, NULL, 0, err)) &&
            !(base = on_model_from_text(model, "model", NULL, 0, err)))
            goto done;
        int nb0 = split_tokens(c->block, tok, MAXB);
        if (tmpl_from_runs(base, tok, nb0, &t, err)) goto done;
    }
    int nb = split_tokens(block_text, tok, MAXB);
    if (nb < 2) {
        on_fail(err, "the block needs at least 2 layers, got '%s'", block_text);
        goto done;
    }
    /* the block's layers as the analyzer sees them, at the first slot */
    char *ident = NULL;
    {
        char order0[512] = "";
        for (int k = 0; k < nb; k++)
            snprintf(order0 + strlen(order0), sizeof order0 - strlen(order0), "%s%.95s",
                     k ? " " : "", tok[k]);
        ident = tmpl_fill(&t, order0);
        on_model_free(base);
        base = ident ? on_model_from_spec(ident, err) : NULL;
        free(ident);
        if (!base) goto done;
        if (!(prefix = on_model_from_spec(t.seg[0], err))) goto done;
    }
    int first = on_model_num_nodes(prefix);
    on_layer_view L[MAXB];
    for (int k = 0; k < nb; k++) {
        const on_node *nd = &base->nodes[first + k];
        L[k] = (on_layer_view){
            .op = nd->op, .a = nd->a, .xs = base->nodes[nd->in[0]].ys, .name = nd->name};
    }
    if (on_orders_explore(L, nb, L[0].xs, 0, 1, MAXO, &o)) {
        on_fail(err, "cannot enumerate the orders of %d layers", nb);
        goto done;
    }
    /* which orders to consider: all, or the given ones */
    int *want = calloc((size_t)o.count, sizeof(int));
    if (!want) goto done;
    if (c->orders) {
        char given[64][96 * MAXB];
        int ng = 0;
        const char *p = c->orders;
        while (*p && ng < 64) {
            const char *e = strchr(p, ';');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            snprintf(given[ng++], sizeof given[0], "%.*s", (int)n, p);
            p += n + (e ? 1 : 0);
        }
        for (int g = 0; g < ng; g++) {
            char gt[MAXB][96];
            int ngt = split_tokens(given[g], gt, MAXB), hit = -1;
            for (int k = 0; k < o.count && hit < 0 && ngt == nb; k++) {
                int ok = 1;
                for (int j = 0; j < nb && ok; j++) ok = !strcmp(tok[o.orders[k * nb + j]], gt[j]);
                if (ok) hit = k;
            }
            if (hit < 0) {
                free(want);
                on_fail(err, "--orders: '%s' is not an order of the block {%s}", given[g],
                        block_text);
                goto done;
            }
            want[hit] = 1;
        }
    } else {
        for (int k = 0; k < o.count; k++) want[k] = 1;
    }
    /* per class: the cheapest wanted member, and the members */
    int ncls = o.nclasses, *rep = malloc(sizeof(int) * (size_t)ncls);
    double *rep_cost = malloc(sizeof(double) * (size_t)ncls);
    for (int k = 0; k < ncls; k++) rep[k] = -1, rep_cost[k] = 1e300;
    for (int k = 0; k < o.count; k++) {
        if (!want[k]) continue;
        double cost = on_cost_seconds(on_order_cost(L, o.orders + k * nb, nb, L[0].xs, 0, 1));
        if (cost < rep_cost[o.cls[k]] * (1 - 1e-9)) rep[o.cls[k]] = k, rep_cost[o.cls[k]] = cost;
    }
    int nused = 0;
    for (int k = 0; k < ncls; k++) nused += rep[k] >= 0;
    int nwanted = 0;
    for (int k = 0; k < o.count; k++) nwanted += want[k];
    /* data, store */
    if (mkdir(c->out, 0777) && access(c->out, W_OK)) {
        on_fail(err, "%s: cannot create the output directory", c->out);
        free(want), free(rep), free(rep_cost);
        goto done;
    }
    if (db_open(c->out, &db, err)) {
        free(want), free(rep), free(rep_cost);
        goto done;
    }
    study_key(c, &t, c->data, key);
    say(c,
        "study %s: block {%s} in %d slot%s: %d orders -> %d training classes (by proof); "
        "training the cheapest of each, %d seed%s, %d epoch%s on %d images (%d test) of %s",
        key, block_text, t.nslots, t.nslots == 1 ? "" : "s", nwanted, nused, c->seeds,
        c->seeds == 1 ? "" : "s", c->epochs, c->epochs == 1 ? "" : "s", c->limit, c->test_limit,
        c->data);
    /* the job list, skipping finished runs */
    jobs = calloc((size_t)nused * (size_t)c->seeds + 1, sizeof *jobs);
    int njobs = 0, done_before = 0;
    for (int k = 0; k < ncls; k++) {
        if (rep[k] < 0) continue;
        char ord[512] = "";
        for (int j = 0; j < nb; j++)
            snprintf(ord + strlen(ord), sizeof ord - strlen(ord), "%s%.95s", j ? " " : "",
                     tok[o.orders[rep[k] * nb + j]]);
        for (int s = 1; s <= c->seeds; s++) {
            if (db_has(db, key, ord, s)) {
                done_before++;
                continue;
            }
            snprintf(jobs[njobs].order, sizeof jobs[njobs].order, "%s", ord);
            jobs[njobs].cls = k + 1;
            jobs[njobs++].seed = s;
        }
    }
    /* record the study's configuration (classes and members) for the report */
    {
        char *cfgjson = on_study_describe(&o, tok, nb, want, rep, L, c, &t, block_text, key);
        sqlite3_stmt *st;
        if (cfgjson && sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO studies VALUES(?,?)", -1, &st,
                                          NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, cfgjson, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        free(cfgjson);
    }
    free(want);
    free(rep);
    free(rep_cost);
    if (done_before)
        say(c, "%d run%s already in %s/study.sqlite: skipped", done_before,
            done_before == 1 ? "" : "s", c->out);
    if (njobs) {
        if (on_data_load(c->data, 1, c->limit, &tr, err) ||
            on_data_load(c->data, 0, c->test_limit, &te, err))
            goto done;
    }
    double t0 = now();
    int finished = 0, running = 0, next = 0, failed = 0, jobsn = c->jobs > 0 ? c->jobs : 1;
    if (jobsn > 1) sqlite3_close(db), db = NULL; /* children open their own */
    while (finished + failed < njobs) {
        if (jobsn == 1) {
            job *j = &jobs[next++];
            char *text = tmpl_fill(&t, j->order);
            result r;
            double r0 = now();
            if (!text || run_one(text, j->seed, c, &tr, &te, &r, err) ||
                db_put(db, key, j->order, j->cls, j->seed, &r, err)) {
                free(text);
                goto done;
            }
            free(text);
            finished++;
            double el = now() - t0, eta = el / finished * (njobs - finished);
            say(c,
                "[%d/%d] class %d seed %d  {%s}  test acc %.2f%%  %.1f s/epoch  %.0f img/s "
                "inference  (%.0fs; ETA %.0fm%02.0fs)",
                finished, njobs, j->cls, j->seed, j->order, 100 * r.acc, r.epoch_s, r.infer_ips,
                now() - r0, floor(eta / 60), fmod(eta, 60));
            continue;
        }
        /* parallel: keep jobsn children busy; each writes its own row */
        while (running < jobsn && next < njobs) {
            job *j = &jobs[next++];
            pid_t pid = fork();
            if (pid == 0) {
                on_set_threads(c->threads > 0 ? c->threads : 1);
                sqlite3 *cdb = NULL;
                on_error e2;
                char *text = tmpl_fill(&t, j->order);
                result r;
                int ok = text && !db_open(c->out, &cdb, &e2) &&
                         !run_one(text, j->seed, c, &tr, &te, &r, &e2) &&
                         !db_put(cdb, key, j->order, j->cls, j->seed, &r, &e2);
                if (!ok)
                    fprintf(stderr, "ordnet study: run {%s} seed %d: %s\n", j->order, j->seed,
                            e2.msg);
                sqlite3_close(cdb);
                _exit(ok ? 0 : 1);
            }
            if (pid < 0) {
                on_fail(err, "fork failed");
                goto done;
            }
            j->pid = pid;
            running++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) break;
        running--;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (ok)
            finished++;
        else
            failed++;
        job *j = NULL;
        for (int k = 0; k < next && !j; k++)
            if (jobs[k].pid == pid) j = &jobs[k];
        double el = now() - t0, eta = el / (finished + failed) * (njobs - finished - failed);
        say(c, "[%d/%d] class %d seed %d  {%s}  %s  (ETA %.0fm%02.0fs)", finished + failed, njobs,
            j ? j->cls : 0, j ? j->seed : 0, j ? j->order : "?", ok ? "done" : "FAILED",
            floor(eta / 60), fmod(eta, 60));
    }
    if (failed) {
        on_fail(err, "%d run%s failed (see above); finished runs are stored", failed,
                failed == 1 ? "" : "s");
        goto done;
    }
    if (!db && db_open(c->out, &db, err)) goto done;
    /* speed by measurement, interleaved over the classes (speed.c), then the report */
    if (on_study_speed(db, key, c, fill_any, &t, err)) goto done;
    rc = on_study_report(db, key, c, err);
done:
    free(jobs);
    on_orders_free(&o);
    on_model_free(base);
    on_model_free(prefix);
    on_dataset_free(&tr);
    on_dataset_free(&te);
    if (db) sqlite3_close(db);
    tmpl_free(&t);
    return rc;
}
