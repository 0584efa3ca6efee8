/* model_ab.c - a whole model's inference with two kernel choices (on_conv_variant values,
 * src/ops/conv_variant.h), timed in one process, interleaved (A B B A A B ...): the model-level
 * twin of conv_ab.c. Build and run with bench/model_ab.sh.
 *
 * usage: model_ab MODEL.onnx A B [ROUNDS] [BATCH] [THREADS]
 * The model is optimized as `ordnet optimize` would (BatchNorm folded), compiled for BATCH
 * (8) on THREADS (2), and each round times each variant for ~0.3 s of forwards. Prints the
 * median ms per forward of A and B, B/A with its smallest and largest per-round value, and
 * the largest difference of B's output from A's. CONV_AB_CPU=1: process CPU time, as in
 * conv_ab.c.
 */
#include "ordnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern int on_conv_variant; /* src/ops/conv.c */

static int cpu_clock;

static double now(void) {
    struct timespec t;
    clock_gettime(cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double time_forward(on_model *m, const float *x, int batch, int v, int reps) {
    on_conv_variant = v;
    on_model_forward(m, x, batch, 0);
    double t0 = now();
    for (int r = 0; r < reps; r++) on_model_forward(m, x, batch, 0);
    return 1e3 * (now() - t0) / reps;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: model_ab MODEL.onnx A B [ROUNDS] [BATCH] [THREADS]\n");
        return 2;
    }
    int va = 0x80 | atoi(argv[2]), vb = 0x80 | atoi(argv[3]);
    int rounds = argc > 4 ? atoi(argv[4]) : 7, batch = argc > 5 ? atoi(argv[5]) : 8;
    int threads = argc > 6 ? atoi(argv[6]) : 2;
    if (rounds < 1 || rounds > 99 || batch < 1 || threads < 1) return 2;
    cpu_clock = getenv("CONV_AB_CPU") && atoi(getenv("CONV_AB_CPU"));
    on_set_threads(threads);
    on_error err;
    on_rewrite rw[64];
    int nrw;
    on_model *m0 = on_onnx_load(argv[1], &err), *m = m0 ? on_optimize(m0, rw, 64, &nrw, &err) : 0;
    on_conv_variant = va | vb; /* scratch for either */
    if (!m || on_model_compile(m, batch, &err)) {
        fprintf(stderr, "%s: %s\n", argv[1], err.msg);
        return 1;
    }
    on_shape s = on_model_node_shape(m, 0);
    size_t xl = (size_t)batch * on_shape_size(s);
    size_t yl = (size_t)batch * on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * xl), *ya = malloc(sizeof(float) * yl);
    for (size_t j = 0; j < xl; j++) x[j] = (float)((j * 2654435761u) % 2001) / 1000.0f - 1.0f;
    time_forward(m, x, batch, va, 0);
    memcpy(ya, on_model_output(m), sizeof(float) * yl);
    time_forward(m, x, batch, vb, 0);
    double e = 0, sc = 1e-30;
    for (size_t j = 0; j < yl; j++) {
        e = fmax(e, fabs((double)on_model_output(m)[j] - ya[j]));
        sc = fmax(sc, fabs((double)ya[j]));
    }
    double one = time_forward(m, x, batch, va, 1);
    int reps = one > 300 ? 1 : (int)(300 / one) + 1;
    double ta[99], tb[99], ratio[99];
    for (int r = 0; r < rounds; r++) {
        if (r % 2) { /* A B, then B A: neither always runs first */
            tb[r] = time_forward(m, x, batch, vb, reps);
            ta[r] = time_forward(m, x, batch, va, reps);
        } else {
            ta[r] = time_forward(m, x, batch, va, reps);
            tb[r] = time_forward(m, x, batch, vb, reps);
        }
        ratio[r] = tb[r] / ta[r];
    }
    double ma = median(ta, rounds), mb = median(tb, rounds), mr = median(ratio, rounds);
    printf("%s batch %d, %d threads, %s time, A=%d B=%d, %d rounds: A %.2f ms, B %.2f ms, B/A "
           "%.3f (%.3f-%.3f), max diff %.2g\n",
           argv[1], batch, threads, cpu_clock ? "CPU" : "wall", va & ~0x80, vb & ~0x80, rounds, ma,
           mb, mr, ratio[0], ratio[rounds - 1], e / sc);
    free(x);
    free(ya);
    on_model_free(m);
    on_model_free(m0);
    return 0;
}
