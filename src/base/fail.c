/* fail.c - on_fail: how every failing call fills its on_error. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>

int on_fail(on_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
