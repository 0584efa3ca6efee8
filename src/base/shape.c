/* shape.c - the per-sample shape helpers (on_shape_size and on_shape_str are public). */
#include "base.h"

#include <stdio.h>

size_t on_shape_size(on_shape s) {
    return (size_t)s.c * s.h * s.w;
}

char *on_shape_str(on_shape s, char *buf, size_t len) {
    if (s.rank == 1)
        snprintf(buf, len, "(%d)", s.c);
    else if (s.rank == 2)
        snprintf(buf, len, "(%d,%d)", s.c, s.w);
    else
        snprintf(buf, len, "(%d,%d,%d)", s.c, s.h, s.w);
    return buf;
}

int on_shape_equal(on_shape a, on_shape b) {
    return a.rank == b.rank && a.c == b.c && a.h == b.h && a.w == b.w;
}
