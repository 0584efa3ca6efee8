/* rng.c - the sequential random stream (the counter-based one is inline in base.h). */
#include "base.h"

uint64_t on_lcg_step(uint64_t *state) {
    return *state = *state * 6364136223846793005ull + 1442695040888963407ull;
}

uint64_t on_lcg_next(uint64_t *state) {
    return on_mix64(on_lcg_step(state));
}

double on_lcg_uniform(uint64_t *state) {
    return (double)(on_lcg_next(state) >> 11) * (1.0 / 9007199254740992.0);
}
