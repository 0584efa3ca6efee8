/* clock.c - the clocks: one definition instead of a `now()` in every file that times. */
#include "base.h"

#include <time.h>

static double read_clock(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double on_seconds(void) {
    return read_clock(CLOCK_MONOTONIC);
}

double on_cpu_seconds(void) {
    return read_clock(CLOCK_PROCESS_CPUTIME_ID);
}

double on_wall_seconds(void) {
    return read_clock(CLOCK_REALTIME);
}
