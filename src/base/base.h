/* base.h - the small helpers every part of libordnet shares: error messages, the clock and
 * the random streams. Nothing here knows about models or ops, so that any file (the graph,
 * the op table, the readers, the data loaders) can use it without depending on the others.
 * The shape helpers (on_shape_size, on_shape_str) are public: ordnet.h, defined in shape.c. */
#ifndef ORDNET_BASE_H
#define ORDNET_BASE_H

#include "ordnet.h"

#include <stdint.h>

/* ----- errors (fail.c) ----- */

/* Fill err (may be NULL) with a printf-style message; returns -1, so that a failing call
 * can end with `return on_fail(err, ...)`. */
int on_fail(on_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ----- shapes (shape.c) ----- */

/* Same rank and dimensions. */
int on_shape_equal(on_shape a, on_shape b);

/* ----- the clock (clock.c) ----- */

double on_seconds(void);      /* monotonic: for durations */
double on_cpu_seconds(void);  /* this process's CPU time: for durations on a busy machine */
double on_wall_seconds(void); /* since the epoch: comparable between hosts (the study's store) */

/* ----- memory (big_alloc.c) ----- */

/* A model's arena of at least bytes, 64-byte aligned: huge pages where the system grants
 * them. *got: its size, which on_big_free takes back with it (a large block is kept for the
 * next on_big_alloc). */
void *on_big_alloc(size_t bytes, size_t *got);
void on_big_free(void *p, size_t bytes);
/* A model's parameters (read whole by every forward): at least bytes, 64-byte aligned, in
 * huge pages where the system grants them from 8 MB on; on_huge_free takes the same bytes. */
void *on_huge_alloc(size_t bytes);
void on_huge_free(void *p, size_t bytes);

/* ----- random numbers (rng.c and here) ----- */

/* Counter-based: the number is a pure function of (key, counter), so the same inputs give
 * the same number whatever the thread count. Dropout masks, initialization, shuffles and
 * augmentation draw from these; the golden tests and the study's seeds depend on every bit,
 * so the constants never change. Inline: the dropout loops call them per element. */
static inline uint64_t on_mix64(uint64_t z) { /* SplitMix64's finalizer */
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [0,1) with 24 bits. key should itself be mixed (on_mix64) so that nearby keys
 * give unrelated streams. */
static inline float on_uniform(uint64_t key, uint64_t counter) {
    return (float)(on_mix64(key ^ (counter * 0xD1B54A32D192ED03ull)) >> 40) * (1.0f / 16777216.0f);
}

/* Sequential: a 64-bit LCG (Knuth's MMIX constants) whose state is mixed by on_mix64 on the
 * way out; for a single-threaded stream of many numbers (on_verify_models' random inputs).
 * A different stream from on_uniform's: both are kept as they are. */
uint64_t on_lcg_next(uint64_t *state);
/* The LCG's new state itself, unmixed (its high bits are usable; `ordnet bench`'s synthetic
 * inputs draw from it). */
uint64_t on_lcg_step(uint64_t *state);
double on_lcg_uniform(uint64_t *state); /* uniform in [0,1) with 53 bits */

#endif
