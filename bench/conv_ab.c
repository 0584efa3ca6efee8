/* conv_ab.c - two convolution kernel choices on the convolutions of ResNet-18 and ResNet-50,
 * timed in one process, interleaved (A B B A A B ...), so that a loaded or drifting machine
 * slows both alike. Build and run with bench/conv_ab.sh.
 *
 * usage: conv_ab A B [ROUNDS] [BATCH] [FILTER] [THREADS]
 *   A, B    on_conv_variant values (src/ops/conv_variant.h), e.g. 0 and 1 (Winograd off);
 *           3x3 stride 1: 0 (F(4x4) where the default takes it), 256 (F(2x2) instead), 512
 *           (F(4x4) on every shape), 3 (im2col): `conv_ab 256 0 7 8 "3x3 "` is F(4x4)
 *           against F(2x2) on ResNet's 3x3 stride-1 shapes
 *   ROUNDS  A/B pairs per layer (7); each round times each variant for ~40 ms
 *   BATCH   8 (default) or 1
 *   FILTER  only the layers whose name contains it ("" for all)
 *   THREADS 2 (default)
 * With CONV_AB_CPU=1 in the environment, time by the process's CPU time (all threads) instead
 * of wall time: on a machine shared with other work, a kernel change that does not change
 * how the threads split the work then shows without the time the process waited for a core.
 * Prints per layer the median ms per forward of A and B, B/A with the smallest and largest
 * per-round ratio, the largest difference of B's output from A's (relative to A's largest
 * value), and at the end each network's convolution time as the sum of its layers.
 * Inference: eval mode, each convolution with a bias (BatchNorm folded, as after optimize).
 */
#include "ordnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern int on_conv_variant; /* src/ops/conv.c */

typedef struct layer {
    const char *name;
    int h, c, f, k, s, pad;
    int n18, n50; /* how often ResNet-18 and ResNet-50 run it */
} layer;

static const layer layers[] = {
    {"stem 7x7/2 3->64 @224", 224, 3, 64, 7, 2, 3, 1, 1},
    /* ResNet-18 */
    {"3x3 64->64 @56", 56, 64, 64, 3, 1, 1, 4, 3},
    {"3x3/2 64->128 @56", 56, 64, 128, 3, 2, 1, 1, 0},
    {"1x1/2 64->128 @56", 56, 64, 128, 1, 2, 0, 1, 0},
    {"3x3 128->128 @28", 28, 128, 128, 3, 1, 1, 3, 3},
    {"3x3/2 128->256 @28", 28, 128, 256, 3, 2, 1, 1, 0},
    {"1x1/2 128->256 @28", 28, 128, 256, 1, 2, 0, 1, 0},
    {"3x3 256->256 @14", 14, 256, 256, 3, 1, 1, 3, 5},
    {"3x3/2 256->512 @14", 14, 256, 512, 3, 2, 1, 1, 0},
    {"1x1/2 256->512 @14", 14, 256, 512, 1, 2, 0, 1, 0},
    {"3x3 512->512 @7", 7, 512, 512, 3, 1, 1, 3, 2},
    /* ResNet-50 (torchvision: the stride in the 3x3) */
    {"1x1 64->64 @56", 56, 64, 64, 1, 1, 0, 0, 1},
    {"1x1 64->256 @56", 56, 64, 256, 1, 1, 0, 0, 4},
    {"1x1 256->64 @56", 56, 256, 64, 1, 1, 0, 0, 2},
    {"1x1 256->128 @56", 56, 256, 128, 1, 1, 0, 0, 1},
    {"3x3/2 128->128 @56", 56, 128, 128, 3, 2, 1, 0, 1},
    {"1x1/2 256->512 @56", 56, 256, 512, 1, 2, 0, 0, 1},
    {"1x1 128->512 @28", 28, 128, 512, 1, 1, 0, 0, 4},
    {"1x1 512->128 @28", 28, 512, 128, 1, 1, 0, 0, 3},
    {"1x1 512->256 @28", 28, 512, 256, 1, 1, 0, 0, 1},
    {"3x3/2 256->256 @28", 28, 256, 256, 3, 2, 1, 0, 1},
    {"1x1/2 512->1024 @28", 28, 512, 1024, 1, 2, 0, 0, 1},
    {"1x1 256->1024 @14", 14, 256, 1024, 1, 1, 0, 0, 6},
    {"1x1 1024->256 @14", 14, 1024, 256, 1, 1, 0, 0, 5},
    {"1x1 1024->512 @14", 14, 1024, 512, 1, 1, 0, 0, 1},
    {"3x3/2 512->512 @14", 14, 512, 512, 3, 2, 1, 0, 1},
    {"1x1/2 1024->2048 @14", 14, 1024, 2048, 1, 2, 0, 0, 1},
    {"1x1 512->2048 @7", 7, 512, 2048, 1, 1, 0, 0, 3},
    {"1x1 2048->512 @7", 7, 2048, 512, 1, 1, 0, 0, 2},
};

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

/* ms per forward of m with variant v, over reps forwards */
static double time_forward(on_model *m, const float *x, int batch, int v, int reps) {
    on_conv_variant = v;
    on_model_forward(m, x, batch, 0); /* warm: transformed weights, caches */
    double t0 = now();
    for (int r = 0; r < reps; r++) on_model_forward(m, x, batch, 0);
    return 1e3 * (now() - t0) / reps;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: conv_ab A B [ROUNDS] [BATCH] [FILTER]\n");
        return 2;
    }
    int va = atoi(argv[1]), vb = atoi(argv[2]);
    int rounds = argc > 3 ? atoi(argv[3]) : 7, batch = argc > 4 ? atoi(argv[4]) : 8;
    const char *filter = argc > 5 ? argv[5] : "";
    int threads = argc > 6 ? atoi(argv[6]) : 2;
    if (rounds < 1 || rounds > 99 || batch < 1 || threads < 1) return 2;
    cpu_clock = getenv("CONV_AB_CPU") && atoi(getenv("CONV_AB_CPU"));
    on_set_threads(threads);
    printf("variants A=%d B=%d, batch %d, %d interleaved rounds, %d threads, %s time\n", va, vb,
           batch, rounds, threads, cpu_clock ? "CPU" : "wall");
    printf("%-24s %9s %9s %7s %15s %9s\n", "layer", "A ms", "B ms", "B/A", "(min-max)", "max diff");
    double tot[2][2] = {{0}};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const layer *L = &layers[i];
        if (!strstr(L->name, filter)) continue;
        char spec[160];
        snprintf(spec, sizeof spec, "input(%d,%d,%d) conv2d(%d,%d,%d,%d)", L->h, L->h, L->c, L->f,
                 L->k, L->s, L->pad);
        on_error err;
        on_model *m = on_model_from_spec(spec, &err);
        on_conv_variant = 0x80 | va | vb; /* scratch for either kernel */
        if (!m || on_model_compile(m, batch, &err)) {
            fprintf(stderr, "%s: %s\n", spec, err.msg);
            return 1;
        }
        on_model_init(m, 1);
        float *b = on_model_tensor_data(m, 1);
        for (size_t j = 0; j < on_model_tensor_size(m, 1); j++) b[j] = 0.01f * (j % 7);
        size_t xl = (size_t)batch * L->h * L->h * L->c;
        size_t yl = (size_t)batch * on_shape_size(on_model_output_shape(m));
        float *x = malloc(sizeof(float) * xl), *ya = malloc(sizeof(float) * yl);
        for (size_t j = 0; j < xl; j++) x[j] = (float)((j * 2654435761u) % 2001) / 1000.0f - 1.0f;
        /* the outputs of A and B, compared */
        time_forward(m, x, batch, 0x80 | va, 1);
        memcpy(ya, on_model_output(m), sizeof(float) * yl);
        time_forward(m, x, batch, 0x80 | vb, 1);
        double e = 0, s = 1e-30;
        for (size_t j = 0; j < yl; j++) {
            e = fmax(e, fabs((double)on_model_output(m)[j] - ya[j]));
            s = fmax(s, fabs((double)ya[j]));
        }
        /* reps for ~40 ms a measurement */
        double one = time_forward(m, x, batch, 0x80 | va, 2);
        int reps = one > 40 ? 1 : (int)(40 / one) + 1;
        double ta[99], tb[99], ratio[99];
        for (int r = 0; r < rounds; r++) {
            if (r % 2) { /* A B, then B A: neither always runs first */
                tb[r] = time_forward(m, x, batch, 0x80 | vb, reps);
                ta[r] = time_forward(m, x, batch, 0x80 | va, reps);
            } else {
                ta[r] = time_forward(m, x, batch, 0x80 | va, reps);
                tb[r] = time_forward(m, x, batch, 0x80 | vb, reps);
            }
            ratio[r] = tb[r] / ta[r];
        }
        double ma = median(ta, rounds), mb = median(tb, rounds), mr = median(ratio, rounds);
        printf("%-24s %9.3f %9.3f %7.3f   (%5.3f-%5.3f) %9.2g\n", L->name, ma, mb, mr, ratio[0],
               ratio[rounds - 1], e / s);
        fflush(stdout);
        tot[0][0] += L->n18 * ma;
        tot[0][1] += L->n18 * mb;
        tot[1][0] += L->n50 * ma;
        tot[1][1] += L->n50 * mb;
        free(x);
        free(ya);
        on_model_free(m);
    }
    on_conv_variant = 0;
    if (!*filter)
        for (int k = 0; k < 2; k++)
            printf("ResNet-%s convolutions: A %.2f ms, B %.2f ms per forward, B/A %.3f\n",
                   k ? "50" : "18", tot[k][0], tot[k][1], tot[k][1] / tot[k][0]);
    return 0;
}
