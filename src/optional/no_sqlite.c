/* no_sqlite.c - the order study of a build without SQLite (-DORDNET_SQLITE=OFF, or
 * libsqlite3-dev missing): the study keeps its runs in study.sqlite to resume, so it fails
 * with a message saying so; everything else works. */
#include "../ops/op.h"

int on_study_run(const on_study_cfg *c, on_error *err) {
    (void)c;
    return on_fail(err, "ordnet study: ordnet was built without SQLite support, where the study "
                        "keeps its runs (rebuild with libsqlite3-dev installed)");
}
