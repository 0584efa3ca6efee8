/* test_conv.c - the convolution kernels (im2col, tap by tap, Winograd F(2x2,3x3), direct
 * sums for 1-3 channels) against a
 * direct convolution computed here in double: output, input gradient, weight and bias
 * gradients, for shapes that reach each kernel's edges (odd output sizes, explicit and
 * asymmetric padding, images wider than a Winograd chunk, im2col in row chunks, 1x1, one
 * sample shared by the threads).
 * The gradient check (test_gradcheck) tests the same kernels by finite differences; this
 * test holds them to a tight bound at realistic sizes. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 7;
static float frand(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

typedef struct conv_case {
    const char *spec; /* one conv2d layer */
    int pt, pl;       /* its top and left padding */
    int stride;
} conv_case;

static const conv_case cases[] = {
    {"input(14,14,32) conv2d(64,3,same)", 1, 1, 1},           /* the reference model's conv2d_1 */
    {"input(7,5,4) conv2d(6,3)", 0, 0, 1},                    /* Winograd: odd P and Q */
    {"input(6,7,5) conv2d(4,3,padding=(2,1))", 2, 1, 1},      /* explicit padding, odd pl */
    {"input(9,300,4) conv2d(5,3,same)", 1, 1, 1},             /* rows wider than a chunk */
    {"input(40,12,4) conv2d(3,3,same,bias=0)", 1, 1, 1},      /* several chunks of tile rows */
    {"input(8,9,6) conv2d(7,(2,3),padding=(1,0))", 1, 0, 1},  /* tap by tap */
    {"input(28,28,1) conv2d(32,3,same)", 1, 1, 1},            /* direct: the first layer */
    {"input(9,8,2) conv2d(5,3,same)", 1, 1, 1},               /* direct: F not a multiple of 4 */
    {"input(17,20,3) conv2d(6,7,padding=3)", 3, 3, 1},        /* direct: RGB, 7x7 */
    {"input(6,11,1) conv2d(7,(1,5),padding=(0,4))", 0, 4, 1}, /* direct: wide padding */
    {"input(9,8,2) conv2d(5,3,stride=2)", 0, 0, 2},           /* im2col: strided */
    {"input(30,200,3) conv2d(4,7,stride=2,padding=3)", 3, 3, 2}, /* im2col in row chunks */
    {"input(5,6,8) conv2d(4,1)", 0, 0, 1},                       /* 1x1: the input is the matrix */
};

/* Direct convolution and its gradients in double; x (N,C,H,W), w (F,C,kh,kw). */
static void reference(const float *x, const float *w, const float *b, const float *dy, int N, int C,
                      int H, int W, int F, int kh, int kw, int P, int Q, int pt, int pl, int st,
                      double *y, double *dx, double *dw, double *db) {
    memset(dx, 0, sizeof(double) * N * C * H * W);
    memset(dw, 0, sizeof(double) * F * C * kh * kw);
    memset(db, 0, sizeof(double) * F);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    size_t o = (((size_t)n * F + f) * P + p) * Q + q;
                    double s = b ? b[f] : 0, g = dy[o];
                    db[f] += g;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int iy = p * st + i - pt, ix = q * st + j - pl;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t xi = (((size_t)n * C + c) * H + iy) * W + ix;
                                size_t wi = (((size_t)f * C + c) * kh + i) * kw + j;
                                s += (double)w[wi] * x[xi];
                                dx[xi] += (double)w[wi] * g;
                                dw[wi] += (double)x[xi] * g;
                            }
                    y[o] = s;
                }
}

/* Largest |a - b| over the largest |b|: the error relative to the tensor's scale. */
static double rel_err(const float *a, const double *b, size_t len) {
    double e = 0, s = 1e-30;
    for (size_t i = 0; i < len; i++) {
        e = fmax(e, fabs(a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return e / s;
}

static void check_case(const conv_case *k, int n) {
    on_error err;
    on_model *m = on_model_from_spec(k->spec, &err);
    CHECK(m != NULL, "%s: %s", k->spec, m ? "" : err.msg);
    if (!m) return;
    on_model_want_input_grad(m, 1);
    if (on_model_compile(m, n, &err)) {
        CHECK(0, "%s: compile: %s", k->spec, err.msg);
        on_model_free(m);
        return;
    }
    on_model_init(m, 3);
    on_shape xs = on_model_node_shape(m, 0), ys = on_model_output_shape(m);
    int wi = on_model_tensor_find(m, "conv2d.weight"), bi = on_model_tensor_find(m, "conv2d.bias");
    int dims[4];
    on_model_tensor_dims(m, wi, dims);
    float *w = on_model_tensor_data(m, wi), *b = bi >= 0 ? on_model_tensor_data(m, bi) : NULL;
    if (b) /* PyTorch's init gives small biases; make them matter */
        for (size_t j = 0; j < on_model_tensor_size(m, bi); j++) b[j] = frand();
    size_t xl = (size_t)n * on_shape_size(xs), yl = (size_t)n * on_shape_size(ys);
    size_t wl = on_model_tensor_size(m, wi);
    float *x = malloc(sizeof(float) * xl), *dy = malloc(sizeof(float) * yl);
    double *y = malloc(sizeof(double) * yl), *dx = malloc(sizeof(double) * xl);
    double *dw = malloc(sizeof(double) * wl), *db = malloc(sizeof(double) * ys.c);
    for (size_t i = 0; i < xl; i++) x[i] = frand();
    for (size_t i = 0; i < yl; i++) dy[i] = frand();
    /* twice: the second time with changed weights, which a kernel that keeps transformed
     * weights between calls must notice */
    for (int round = 0; round < 2; round++) {
        if (round) w[wl / 2] += 0.25f, w[0] -= 0.5f;
        reference(x, w, b, dy, n, xs.c, xs.h, xs.w, ys.c, dims[2], dims[3], ys.h, ys.w, k->pt,
                  k->pl, k->stride, y, dx, dw, db);
        for (int train = 0; train < 2; train++) {
            on_model_zero_grad(m);
            on_model_forward(m, x, n, train);
            double e = rel_err(on_model_output(m), y, yl);
            CHECK(e < 2e-6, "%s n=%d round %d train %d: output error %.2g", k->spec, n, round,
                  train, e);
        }
        on_model_set_output_grad(m, dy);
        on_model_backward(m);
        double ex = rel_err(on_model_input_grad(m), dx, xl);
        double ew = rel_err(on_model_tensor_grad(m, wi), dw, wl);
        double eb = b ? rel_err(on_model_tensor_grad(m, bi), db, ys.c) : 0;
        CHECK(ex < 2e-6 && ew < 2e-6 && eb < 2e-6,
              "%s n=%d round %d: gradient errors dx %.2g dW %.2g db %.2g", k->spec, n, round, ex,
              ew, eb);
    }
    free(x);
    free(dy);
    free(y);
    free(dx);
    free(dw);
    free(db);
    on_model_free(m);
}

/* Random 3x3 stride-1 shapes (Winograd where C >= 4, direct below), explicit padding 0-2,
 * batch 1-3, on 1 and 2 threads: sizes the fixed cases do not list. */
static void random_cases(void) {
    for (int r = 0; r < 40; r++) {
        int h = 3 + (int)((frand() + 1) * 9), w = 3 + (int)((frand() + 1) * 9);
        int ch = 1 + (int)((frand() + 1) * 4.5), f = 1 + (int)((frand() + 1) * 4.5);
        int ph = (int)((frand() + 1) * 1.5), pw = (int)((frand() + 1) * 1.5);
        int n = 1 + r % 3;
        char spec[96];
        snprintf(spec, sizeof spec, "input(%d,%d,%d) conv2d(%d,3,padding=(%d,%d))", h, w, ch, f, ph,
                 pw);
        conv_case k = {spec, ph, pw, 1};
        on_set_threads(1 + r % 2);
        check_case(&k, n);
    }
    on_set_threads(2);
}

int main(void) {
    on_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int n = 1; n <= 3; n += 2) check_case(&cases[i], n); /* 1: threads share it */
    random_cases();
    return check_done();
}
