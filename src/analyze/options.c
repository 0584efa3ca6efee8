/* options.c - on_analyze: on_analyze_report with its flags named (on_analyze_opts). */
#include "analyze.h"

on_analyze_opts on_analyze_defaults(void) {
    return (on_analyze_opts){.infer = ON_FOR_INFERENCE,
                             .weights = ON_WEIGHTS_AS_CONDITIONS,
                             .block = NULL,
                             .measure = 0,
                             .format = ON_FORMAT_TEXT};
}

char *on_analyze(const on_model *m, const on_analyze_opts *o, on_error *err) {
    on_analyze_opts d = on_analyze_defaults();
    if (!o) o = &d;
    return on_analyze_report(m, o->infer, o->weights, o->block, o->measure,
                             o->format == ON_FORMAT_JSON, err);
}
