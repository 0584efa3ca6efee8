/* no_sqlite.c - the order study of a build without SQLite (-DORDNET_SQLITE=OFF, or
 * libsqlite3-dev missing): the study keeps its runs in study.sqlite to resume and to share
 * them between processes, so opening its store fails with a message saying so; the plan
 * (study.c) and the runner (runner.c) are built as usual and stop there. Everything else
 * works. */
#include "../ops/op.h"
#include "../study/plan.h"
#include "../study/runner.h"
#include "../study/study.h"

static const char missing[] = "ordnet study: ordnet was built without SQLite support, where the "
                              "study keeps its runs (rebuild with libsqlite3-dev installed)";

int on_study_open(on_study_plan *p, const char *owner, int *pending, on_error *err) {
    (void)p, (void)owner, (void)pending;
    return on_fail(err, "%s", missing);
}
int on_study_adaptive(const on_study_cfg *c, on_error *err) {
    (void)c;
    return on_fail(err, "%s", missing);
}
/* Unreachable once on_study_open has failed; here so that executors link. */
void on_study_set_stale(on_study_plan *p, double seconds) {
    (void)p, (void)seconds;
}
int on_study_claim(on_study_plan *p, int *job, int *held, on_error *err) {
    (void)p, (void)job, (void)held;
    return on_fail(err, "%s", missing);
}
int on_study_store(on_study_plan *p, int job, const on_study_result *r, on_error *err) {
    (void)p, (void)job, (void)r;
    return on_fail(err, "%s", missing);
}
void on_study_release(on_study_plan *p, int job) {
    (void)p, (void)job;
}
int on_study_report_write(on_study_plan *p, on_error *err) {
    (void)p;
    return on_fail(err, "%s", missing);
}
void on_study_store_close(on_study_plan *p) {
    (void)p;
}
char *on_study_describe(const on_orders *o, char tok[][96], int nb, const int *want, const int *rep,
                        const on_layer_view *L, const on_study_cfg *c, const void *tmpl,
                        const char *block, const char *key) {
    (void)o, (void)tok, (void)nb, (void)want, (void)rep, (void)L, (void)c, (void)tmpl, (void)block,
        (void)key;
    return NULL;
}
