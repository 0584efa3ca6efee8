/* lib_ab.c - two builds of libordnet.so (before and after a change) running one ONNX model in
 * one process, timed in interleaved rounds (A B, B A, A B, ...): model_ab.c compares kernel
 * choices within one build, this compares builds. On a virtual machine whose two CPUs share
 * a cache at some times and not at others, rounds a few seconds apart can differ by a
 * quarter; within a round both builds run in the same state. Build and run with
 * bench/lib_ab.sh.
 *
 * usage: lib_ab A.so B.so MODEL.onnx [ROUNDS] [BATCH] [THREADS] [SECONDS]
 * The model is optimized as `ordnet optimize` would, compiled for BATCH (1) on THREADS (2);
 * each round times each build for SECONDS (0.5) of forwards. Prints each round's ms per
 * forward and B/A, then the mean of each and the ratio of the means.
 */
#include "ordnet.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct build {
    void (*set_threads)(int);
    on_model *(*load)(const char *, on_error *);
    on_model *(*optimize)(on_model *, on_rewrite *, int, int *, on_error *);
    int (*compile)(on_model *, int, on_error *);
    int (*forward)(on_model *, const float *, int, on_mode);
    on_shape (*shape)(const on_model *, int);
    on_model *m;
} build;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Each build's functions, from its own copy of the library (RTLD_LOCAL: the two do not
 * share symbols, nor on_conv_variant or any other state) */
static int bind(build *b, const char *path) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "lib_ab: %s\n", dlerror());
        return -1;
    }
    *(void **)&b->set_threads = dlsym(h, "on_set_threads");
    *(void **)&b->load = dlsym(h, "on_onnx_load");
    *(void **)&b->optimize = dlsym(h, "on_optimize");
    *(void **)&b->compile = dlsym(h, "on_model_compile");
    *(void **)&b->forward = dlsym(h, "on_model_forward");
    *(void **)&b->shape = dlsym(h, "on_model_node_shape");
    if (!b->set_threads || !b->load || !b->optimize || !b->compile || !b->forward || !b->shape) {
        fprintf(stderr, "lib_ab: %s lacks an ordnet function\n", path);
        return -1;
    }
    return 0;
}

/* ms per forward over about `secs` */
static double time_build(const build *b, const float *x, int batch, double secs) {
    int n = 0;
    double t0 = now(), t;
    do {
        b->forward(b->m, x, batch, ON_EVAL);
        n++;
    } while ((t = now() - t0) < secs);
    return 1e3 * t / n;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr,
                "usage: lib_ab A.so B.so MODEL.onnx [ROUNDS] [BATCH] [THREADS] [SECONDS]\n");
        return 2;
    }
    int rounds = argc > 4 ? atoi(argv[4]) : 8, batch = argc > 5 ? atoi(argv[5]) : 1;
    int threads = argc > 6 ? atoi(argv[6]) : 2;
    double secs = argc > 7 ? atof(argv[7]) : 0.5;
    build b[2];
    float *x = NULL;
    for (int k = 0; k < 2; k++) {
        on_error err;
        on_rewrite rw[64];
        int nrw;
        if (bind(&b[k], argv[1 + k])) return 1;
        b[k].set_threads(threads);
        on_model *m0 = b[k].load(argv[3], &err);
        b[k].m = m0 ? b[k].optimize(m0, rw, 64, &nrw, &err) : NULL;
        if (!b[k].m || b[k].compile(b[k].m, batch, &err)) {
            fprintf(stderr, "lib_ab: %s: %s\n", argv[1 + k], err.msg);
            return 1;
        }
        if (!x) {
            on_shape s = b[k].shape(b[k].m, 0);
            size_t n = (size_t)batch * s.c * s.h * s.w;
            if (!(x = malloc(sizeof(float) * n))) return 1;
            for (size_t j = 0; j < n; j++) x[j] = (float)((j * 2654435761u) % 2001) / 1000.0f - 1;
        }
        for (int r = 0; r < 3; r++) b[k].forward(b[k].m, x, batch, ON_EVAL); /* warm up */
    }
    double sum[2] = {0, 0};
    for (int r = 0; r < rounds; r++) {
        double t[2];
        for (int i = 0; i < 2; i++) {
            int k = r % 2 ? 1 - i : i;
            t[k] = time_build(&b[k], x, batch, secs);
            sum[k] += t[k];
        }
        printf("round %d: A %.3f ms, B %.3f ms, B/A %.3f\n", r + 1, t[0], t[1], t[1] / t[0]);
    }
    printf("%s batch %d, %d threads: A %.3f ms, B %.3f ms, B/A %.3f\n", argv[3], batch, threads,
           sum[0] / rounds, sum[1] / rounds, sum[1] / sum[0]);
    free(x);
    return 0;
}
