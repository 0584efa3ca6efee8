/* defaults.c - the default order study; apart from study.c so that a build without SQLite
 * (src/optional/no_sqlite.c) still has it. */
#include "ordnet_study.h"

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
