/* defaults.c - the default order study; apart from study.c so that a build without SQLite
 * (src/optional/no_sqlite.c) still has it. */
#include "ordnet_study.h"

/* The default is sized to answer in about two minutes on a quiet 2-core machine (36 runs of
 * 2 epochs over 12000 images); --full is the long version. */
on_study_cfg on_study_defaults(void) {
    on_study_cfg c = {.block = "bn,relu,maxpool,dropout(0.2)",
                      .seeds = 3,
                      .epochs = 2,
                      .limit = 12000,
                      .test_limit = 5000,
                      .jobs = 1,
                      .data = "fashion-mnist",
                      .out = "study-out"};
    c.train = on_train_defaults();
    return c;
}
