/* speed.c - the study's speed answer, measured: each class's training step and inference
 * timed class after class, in several rounds, as `ordnet bench` times one model. The
 * training runs' wall clock mixes in whatever else the machine did while each ran (one
 * study saw 2.2 to 4.7 s/epoch for orders of nearly the same cost); interleaving puts every
 * class under the same conditions in each round, and the median over rounds drops the
 * rounds something else disturbed. The rounds go into the store's `speed` table (created
 * here if missing, so older stores stay readable) and are measured once per study.
 */
#include "report.h"
#include "base/base.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* Steps timed per class and round, after one untimed. Two: with three, the default study's
 * answer (a training step with the pool first against the others) was -11.5% to -13.6% in
 * four studies; with two, -13.5% to -15.2% in three, the phase 2 s shorter (6.1-6.8 s). The
 * median over the rounds is what takes out a disturbed round, not the steps within one. */
#define SPEED_STEPS 2

static int ensure_table(sqlite3 *db) {
    return sqlite3_exec(db,
                        "CREATE TABLE IF NOT EXISTS speed(study TEXT, class INT, round INT, "
                        "train_ms REAL, infer_ms REAL, batch INT, infer_batch INT, "
                        "PRIMARY KEY(study, class, round))",
                        NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* How many classes of study key have at least `rounds` rounds stored. */
static int measured(sqlite3 *db, const char *key, int rounds) {
    sqlite3_stmt *st;
    int n = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM (SELECT class FROM speed WHERE study=? GROUP BY "
                           "class HAVING count(*) >= ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, rounds);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

typedef struct timed_class {
    int id;
    on_model *train, *infer; /* compiled only while timed (time_compiled) */
} timed_class;

/* Milliseconds per step, over SPEED_STEPS steps after one untimed. */
static double time_steps(on_model *m, const float *x, const int *y, int n, int train) {
    double t0 = 0;
    for (int s = 0; s <= SPEED_STEPS; s++) {
        if (s == 1) t0 = on_seconds();
        on_model_forward(m, x, n, train);
        if (!train) continue;
        on_model_loss(m, y, 0.0f);
        on_model_zero_grad(m);
        on_model_backward(m);
        on_sgd_step(m, 0.01f, 0.9f, 5e-4f, 0);
    }
    return 1e3 * (on_seconds() - t0) / SPEED_STEPS;
}

/* time_steps on m compiled for n samples just for it, then for one: only the model being
 * timed holds a full batch's arena (all of them at once took 3.2 GB for the default study's
 * 12 classes). The untimed first step runs on the fresh memory. -1 if it cannot compile. */
static double time_compiled(on_model *m, const float *x, const int *y, int n, int train,
                            on_error *err) {
    if (on_model_compile(m, n, err)) return -1;
    double ms = time_steps(m, x, y, n, train);
    return on_model_compile(m, 1, err) ? -1 : ms;
}

int on_study_speed(void *dbp, const char *key, const on_study_cfg *c,
                   char *(*fill)(const void *t, const char *order), const void *t, on_error *err) {
    sqlite3 *db = dbp;
    int rounds = c->speed_rounds ? c->speed_rounds : 7;
    if (rounds < 0) return 0;
    if (ensure_table(db)) return on_fail(err, "store: %s", sqlite3_errmsg(db));
    cJSON *conf = NULL;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT config FROM studies WHERE study=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            conf = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (!conf) return on_fail(err, "study %s: no configuration stored", key);
    cJSON *jc = cJSON_GetObjectItemCaseSensitive(conf, "classes");
    int nc = cJSON_GetArraySize(jc), rc = 0;
    if (measured(db, key, rounds) >= nc) {
        cJSON_Delete(conf);
        return 0;
    }
    int batch = c->train.batch > 0 ? c->train.batch : 128, ib = 256;
    timed_class *tc = calloc((size_t)nc + 1, sizeof *tc);
    double *ms = calloc((size_t)nc * (size_t)rounds * 2 + 1, sizeof(double));
    float *x = NULL;
    int *y = NULL;
    if (!tc || !ms) {
        rc = on_fail(err, "out of memory");
        goto done;
    }
    for (int i = 0; i < nc && !rc; i++) {
        cJSON *co = cJSON_GetArrayItem(jc, i);
        const char *rep =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(co, "representative"));
        tc[i].id = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(co, "id"));
        char *text = rep ? fill(t, rep) : NULL;
        on_rewrite rw[32];
        int nrw = 0;
        if (!text || !(tc[i].train = on_model_from_spec(text, err))) rc = -1;
        free(text);
        if (rc) break;
        on_model_init(tc[i].train, 1);
        if (!(tc[i].infer = on_optimize(tc[i].train, rw, 32, &nrw, err))) rc = -1;
    }
    if (rc) goto done;
    /* deterministic inputs in [-1, 1) and labels, as ordnet bench */
    on_shape in = on_model_node_shape(tc[0].train, 0), out = on_model_output_shape(tc[0].train);
    size_t isz = on_shape_size(in), len = isz * (size_t)(batch > ib ? batch : ib);
    int maxb = batch > ib ? batch : ib, ncls = out.rank == 1 && out.c > 0 ? out.c : 10;
    x = malloc(sizeof(float) * len);
    y = malloc(sizeof(int) * (size_t)maxb);
    if (!x || !y) {
        rc = on_fail(err, "out of memory");
        goto done;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int vocab = on_model_takes_ids(tc[0].train); /* an Embedding's input: whole token ids */
    for (size_t i = 0; i < len; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = vocab ? (float)((s >> 33) % (uint64_t)vocab) : (float)(s >> 40) / 8388608.0f - 1.0f;
    }
    for (int i = 0; i < maxb; i++) y[i] = (int)((i * 7919u) % (unsigned)ncls);
    /* the rounds: every class in turn, starting one further each round */
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < nc; k++) {
            int i = (k + r) % nc;
            double *t = ms + (i * rounds + r) * 2;
            if ((t[0] = time_compiled(tc[i].train, x, y, batch, 1, err)) < 0 ||
                (t[1] = time_compiled(tc[i].infer, x, y, ib, 0, err)) < 0) {
                rc = -1;
                goto done;
            }
        }
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO speed VALUES(?,?,?,?,?,?,?)", -1, &st,
                           NULL) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
        goto done;
    }
    for (int i = 0; i < nc; i++)
        for (int r = 0; r < rounds; r++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 2, tc[i].id);
            sqlite3_bind_int(st, 3, r + 1);
            sqlite3_bind_double(st, 4, ms[(i * rounds + r) * 2]);
            sqlite3_bind_double(st, 5, ms[(i * rounds + r) * 2 + 1]);
            sqlite3_bind_int(st, 6, batch);
            sqlite3_bind_int(st, 7, ib);
            if (sqlite3_step(st) != SQLITE_DONE) rc = -1;
        }
    sqlite3_finalize(st);
    if (rc || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        rc = on_fail(err, "store: %s", sqlite3_errmsg(db));
    }
done:
    for (int i = 0; tc && i < nc; i++) on_model_free(tc[i].train), on_model_free(tc[i].infer);
    free(tc);
    free(ms);
    free(x);
    free(y);
    cJSON_Delete(conf);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void on_study_speed_load(void *dbp, const char *key, on_report *rp) {
    sqlite3 *db = dbp;
    sqlite3_stmt *st;
    /* a store from before the measurement has no speed table: nothing to load */
    if (sqlite3_prepare_v2(db,
                           "SELECT class, train_ms, infer_ms, batch, infer_batch FROM speed "
                           "WHERE study=? ORDER BY class, round",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    double tr[256], in[256];
    int n = 0, cur = -1, cap = 0;
    for (int more = 1; more;) {
        more = sqlite3_step(st) == SQLITE_ROW;
        int cls = more ? sqlite3_column_int(st, 0) : -2;
        if (cls != cur && n) { /* close the class before */
            if (rp->nspeed == cap) {
                cap = cap ? 2 * cap : 16;
                on_speed_row *ns = realloc(rp->speed, sizeof *ns * (size_t)cap);
                if (!ns) break;
                rp->speed = ns;
            }
            on_speed_row *sp = &rp->speed[rp->nspeed++];
            sp->cls = cur;
            rp->speed_rounds = n;
            sp->train_ms = median(tr, n), sp->train_lo = tr[0], sp->train_hi = tr[n - 1];
            sp->infer_ms = median(in, n), sp->infer_lo = in[0], sp->infer_hi = in[n - 1];
            n = 0;
        }
        if (!more) break;
        cur = cls;
        if (n < 256) {
            tr[n] = sqlite3_column_double(st, 1);
            in[n++] = sqlite3_column_double(st, 2);
        }
        rp->speed_batch = sqlite3_column_int(st, 3);
        rp->speed_infer_batch = sqlite3_column_int(st, 4);
    }
    sqlite3_finalize(st);
}
