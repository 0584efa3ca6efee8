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
#include "../src/ops/conv_variant.h"
#include "../src/ops/gemm.h"

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
    int groups, dil; /* 0: 1 */
    int tr;          /* a transposed convolution: pt, pl are its (PyTorch) padding */
} conv_case;

static const conv_case cases[] = {
    {"input(14,14,32) conv2d(64,3,same)", 1, 1, 1, 0, 0, 0}, /* the reference model's conv2d_1 */
    {"input(7,5,4) conv2d(6,3)", 0, 0, 1, 0, 0, 0},          /* Winograd: odd P and Q */
    {"input(6,7,5) conv2d(4,3,padding=(2,1))", 2, 1, 1, 0, 0, 0}, /* explicit padding, odd pl */
    {"input(9,300,4) conv2d(5,3,same)", 1, 1, 1, 0, 0, 0},        /* rows wider than a chunk */
    {"input(40,12,4) conv2d(3,3,same,bias=0)", 1, 1, 1, 0, 0, 0}, /* several chunks of tile rows */
    {"input(8,9,6) conv2d(7,(2,3),padding=(1,0))", 1, 0, 1, 0, 0, 0}, /* tap by tap */
    {"input(28,28,1) conv2d(32,3,same)", 1, 1, 1, 0, 0, 0},           /* direct: the first layer */
    {"input(9,8,2) conv2d(5,3,same)", 1, 1, 1, 0, 0, 0},        /* direct: F not a multiple of 4 */
    {"input(17,20,3) conv2d(6,7,padding=3)", 3, 3, 1, 0, 0, 0}, /* direct: RGB, 7x7 */
    {"input(6,11,1) conv2d(7,(1,5),padding=(0,4))", 0, 4, 1, 0, 0, 0},    /* direct: wide padding */
    {"input(9,8,2) conv2d(5,3,stride=2)", 0, 0, 2, 0, 0, 0},              /* im2col: strided */
    {"input(30,200,3) conv2d(4,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0}, /* stride-2 direct sums;
                                                                             im2col in row chunks
                                                                             (ON_CONV_NO_DIRECT2) */
    {"input(5,6,8) conv2d(4,1)", 0, 0, 1, 0, 0, 0},             /* 1x1: the input is the matrix */
    {"input(40,30,16) conv2d(8,1,stride=2)", 0, 0, 2, 0, 0, 0}, /* 1x1 strided: whole image */
    /* grouped: one im2col + sgemm per group */
    {"input(7,6,6) conv2d(4,3,padding=1,groups=2)", 1, 1, 1, 2, 0, 0},
    {"input(9,8,8) conv2d(12,3,stride=2,groups=4,bias=0)", 0, 0, 2, 4, 0, 0},
    {"input(5,6,6) conv2d(9,1,groups=3)", 0, 0, 1, 3, 0, 0}, /* grouped 1x1 */
    {"input(9,9,4) conv2d(6,(2,3),padding=(1,2),dilation=2,groups=2)", 1, 2, 1, 2, 2, 0},
    /* depthwise (conv_depthwise.c): multipliers 1-3, strides 1-2, padding, dilation */
    {"input(14,14,32) conv2d(32,3,padding=1,groups=32)", 1, 1, 1, 32, 0, 0},
    {"input(15,17,8) conv2d(8,3,stride=2,padding=1,groups=8)", 1, 1, 2, 8, 0, 0},
    {"input(16,16,5) conv2d(10,3,stride=2,groups=5)", 0, 0, 2, 5, 0, 0},
    {"input(11,40,4) conv2d(12,5,padding=2,groups=4)", 2, 2, 1, 4, 0, 0},
    {"input(9,21,3) conv2d(3,3,padding=2,dilation=2,groups=3)", 2, 2, 1, 3, 2, 0},
    {"input(10,13,6) conv2d(6,(3,5),padding=(1,3),stride=2,dilation=2,groups=6,bias=0)", 1, 3, 2, 6,
     2, 0},
    {"input(7,9,2) conv2d(2,3,same,groups=2)", 1, 1, 1, 2, 0, 0},
    {"input(6,5,4) conv2d(4,1,groups=4)", 0, 0, 1, 4, 0, 0},
    {"input(12,12,3) conv2d(6,7,stride=3,padding=3,groups=3)", 3, 3, 3, 3, 0, 0},
    {"input(16,15,2) conv2d(2,13,padding=6,groups=2)", 6, 6, 1, 2, 0, 0}, /* > 121 taps: im2col */
    /* transposed (conv_transpose.c): stride, padding, output_padding, dilation, groups */
    {"input(5,6,4) conv2d_transpose(3,3)", 0, 0, 1, 0, 0, 1},
    {"input(5,6,4) conv2d_transpose(6,3,stride=2,padding=1,output_padding=1)", 1, 1, 2, 0, 0, 1},
    {"input(7,5,6) conv2d_transpose(4,(3,2),stride=3,padding=(2,1),groups=2,bias=0)", 2, 1, 3, 2, 0,
     1},
    {"input(6,6,3) conv2d_transpose(5,3,stride=2,padding=2,dilation=2,output_padding=1)", 2, 2, 2,
     0, 2, 1},
    {"input(8,8,4) conv2d_transpose(4,4,stride=2,padding=1,groups=4)", 1, 1, 2, 4, 0, 1},
    {"input(30,40,8) conv2d_transpose(16,3,stride=2,padding=1,output_padding=1)", 1, 1, 2, 0, 0,
     1}, /* several row chunks */
    {"input(4,4,2) conv2d_transpose(3,2,stride=2,padding=same)", 0, 0, 2, 0, 0, 1},
    {"input(4,4,2) conv2d_transpose(3,3,stride=2,padding=same)", 0, 0, 2, 0, 0, 1},
    {"input(4,4,2) conv2d_transpose(3,1,stride=3,padding=same)", 0, 0, 3, 0, 0, 1},
    {"input(9,4) conv1d_transpose(5,3,stride=2,padding=1,output_padding=1)", 0, 1, 2, 0, 0, 1},
    {"input(9,4) conv1d_transpose(6,5,dilation=2,groups=2)", 0, 0, 1, 2, 2, 1},
};

/* Direct convolution and its gradients in double; x (N,C,H,W), w (F,C/G,kh,kw), G groups,
 * dilation dl. */
static void reference(const float *x, const float *w, const float *b, const float *dy, int N, int C,
                      int H, int W, int F, int kh, int kw, int P, int Q, int pt, int pl, int st,
                      int G, int dl, double *y, double *dx, double *dw, double *db) {
    int Cg = C / G, Fg = F / G;
    memset(dx, 0, sizeof(double) * N * C * H * W);
    memset(dw, 0, sizeof(double) * F * Cg * kh * kw);
    memset(db, 0, sizeof(double) * F);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    size_t o = (((size_t)n * F + f) * P + p) * Q + q;
                    double s = b ? b[f] : 0, g = dy[o];
                    db[f] += g;
                    for (int cg = 0; cg < Cg; cg++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int iy = p * st + i * dl - pt, ix = q * st + j * dl - pl;
                                int c = f / Fg * Cg + cg; /* the group's channel cg */
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t xi = (((size_t)n * C + c) * H + iy) * W + ix;
                                size_t wi = (((size_t)f * Cg + cg) * kh + i) * kw + j;
                                s += (double)w[wi] * x[xi];
                                dx[xi] += (double)w[wi] * g;
                                dw[wi] += (double)x[xi] * g;
                            }
                    y[o] = s;
                }
}

/* Transposed convolution and its gradients in double: x (N,C,H,W), w (C,F/G,kh,kw), y
 * (N,F,P,Q); input (h, w) reaches output (h st - pt + i dl, w st - pl + j dl). */
static void reference_t(const float *x, const float *w, const float *b, const float *dy, int N,
                        int C, int H, int W, int F, int kh, int kw, int P, int Q, int pt, int pl,
                        int st, int G, int dl, double *y, double *dx, double *dw, double *db) {
    int Cg = C / G, Fg = F / G;
    memset(y, 0, sizeof(double) * N * F * P * Q);
    memset(dx, 0, sizeof(double) * N * C * H * W);
    memset(dw, 0, sizeof(double) * C * Fg * kh * kw);
    memset(db, 0, sizeof(double) * F);
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    size_t o = (((size_t)n * F + f) * P + p) * Q + q;
                    y[o] += b ? b[f] : 0;
                    db[f] += dy[o];
                }
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int v = 0; v < W; v++) {
                    size_t xi = (((size_t)n * C + c) * H + h) * W + v;
                    for (int fo = 0; fo < Fg; fo++)
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int p = h * st - pt + i * dl, q = v * st - pl + j * dl;
                                int f = c / Cg * Fg + fo;
                                if (p < 0 || p >= P || q < 0 || q >= Q) continue;
                                size_t o = (((size_t)n * F + f) * P + p) * Q + q;
                                size_t wi = (((size_t)c * Fg + fo) * kh + i) * kw + j;
                                y[o] += (double)w[wi] * x[xi];
                                dx[xi] += (double)w[wi] * dy[o];
                                dw[wi] += (double)x[xi] * dy[o];
                            }
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
    /* the one layer's tensors: weight, then bias if it has one */
    int wi = 0, bi = on_model_num_tensors(m) > 1 ? 1 : -1;
    int dims[4], nd = on_model_tensor_dims(m, wi, dims);
    if (nd == 3) dims[3] = dims[2], dims[2] = 1; /* conv1d: kh = 1 */
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
        (k->tr ? reference_t : reference)(
            x, w, b, dy, n, xs.c, xs.h, xs.w, ys.c, dims[2], dims[3], ys.h, ys.w, k->pt, k->pl,
            k->stride, k->groups ? k->groups : 1, k->dil ? k->dil : 1, y, dx, dw, db);
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
        conv_case k = {spec, ph, pw, 1, 1, 1, 0};
        on_set_threads(1 + r % 2);
        check_case(&k, n);
    }
    on_set_threads(2);
}

/* Random depthwise convolutions: kernels 1-5, strides 1-2, multipliers 1-3, padding 0-2,
 * dilation 1-2, batch 1-3, on 1 and 2 threads; and a 1-D one. */
static void random_depthwise(void) {
    for (int r = 0; r < 40; r++) {
        int k = 1 + (int)((frand() + 1) * 2.5), st = 1 + r % 2, dl = 1 + (r / 4) % 2;
        int ch = 2 + (int)((frand() + 1) * 4), mult = 1 + (r / 2) % 3;
        int pd = (int)((frand() + 1) * 1.5), ext = dl * (k - 1) + 1;
        int h = ext + (int)((frand() + 1) * 9), w = ext + (int)((frand() + 1) * 12);
        int n = 1 + r % 3;
        char spec[128];
        snprintf(spec, sizeof spec,
                 "input(%d,%d,%d) conv2d(%d,%d,stride=%d,padding=%d,dilation=%d,groups=%d)", h, w,
                 ch, ch * mult, k, st, pd, dl, ch);
        conv_case c = {spec, pd, pd, st, ch, dl, 0};
        on_set_threads(1 + (r / 3) % 2);
        check_case(&c, n);
    }
    conv_case c1 = {"input(30,6) conv1d(12,3,stride=2,padding=1,groups=6)", 0, 1, 2, 6, 1, 0};
    check_case(&c1, 3);
    on_set_threads(2);
}

/* Does spec's inference of n random samples give the same bits with on_conv_variant
 * `variant` as with the default kernels? (0 where the model does not build, which the CHECK
 * then reports) */
static int same_bits_with(const char *spec, int n, int variant) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (!m || on_model_compile(m, n, &err)) {
        printf("%s: %s\n", spec, err.msg);
        on_model_free(m);
        return 0;
    }
    on_model_init(m, 3);
    size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
    size_t yl = (size_t)n * on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * xl), *y = malloc(sizeof(float) * yl);
    for (size_t i = 0; i < xl; i++) x[i] = frand();
    on_model_forward(m, x, n, 0);
    memcpy(y, on_model_output(m), sizeof(float) * yl);
    on_conv_variant = variant;
    on_model_forward(m, x, n, 0);
    on_conv_variant = 0;
    int same = !memcmp(y, on_model_output(m), sizeof(float) * yl);
    free(x);
    free(y);
    on_model_free(m);
    return same;
}

/* conv_direct.c's AVX-512 forward (Q >= 16: straight into the output, two vectors a row)
 * against its AVX2 one (the padded grid, then the valid columns): the same bits, at batch 1
 * (the threads split the filters) and 3; and against the double reference. 12 filters: a
 * block of 8 and one of 4; 6: one block of 8 with 2 of padding. */
static void direct_wide_bits(void) {
    static const conv_case wide[] = {
        {"input(28,28,1) conv2d(32,3,same)", 1, 1, 1, 0, 0, 0},
        {"input(17,20,3) conv2d(6,7,padding=3)", 3, 3, 1, 0, 0, 0},
        {"input(5,37,2) conv2d(12,3,same)", 1, 1, 1, 0, 0, 0},
        {"input(6,16,1) conv2d(4,3,padding=(1,1))", 1, 1, 1, 0, 0, 0},
        /* stride 2, 25 taps or more (conv_direct2.c): two vectors overlapping at a row's
         * end, one vector and one filter block short, fewer than 16 columns (8-float vectors
         * only), an even kernel width with a wide left pad, no padding; rows of 28 and 48
         * columns (AVX2: chunks of three 8-float vectors, then one overlapping; or none) */
        {"input(40,38,3) conv2d(8,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0},
        {"input(9,56,3) conv2d(8,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0},
        {"input(7,96,3) conv2d(5,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0},
        {"input(23,70,3) conv2d(13,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0},
        {"input(21,19,1) conv2d(6,5,stride=2,padding=2)", 2, 2, 2, 0, 0, 0},
        {"input(17,33,2) conv2d(5,(5,6),stride=2,padding=(1,2))", 1, 2, 2, 0, 0, 0},
        {"input(30,41,3) conv2d(4,5,stride=2)", 0, 0, 2, 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof wide / sizeof *wide; k++) {
        check_case(&wide[k], 1);
        check_case(&wide[k], 3);
        for (int n = 1; n <= 3; n += 2)
            CHECK(same_bits_with(wide[k].spec, n, ON_CONV_NO_AVX512),
                  "%s n=%d: the AVX-512 and AVX2 forwards differ", wide[k].spec, n);
    }
}

/* conv_dw_lanes.c's depthwise forward (8 filters in a vector's lanes) against
 * conv_depthwise.c's (ON_CONV_NO_DW_LANES): the same bits, on 1 and 2 threads, at batch 1
 * (2 threads split the filter groups) and 3. Rows of 8 or more (overlapping transposes at a
 * row's end), fewer (along the plane), fewer than 8 pixels in all; a last group short of
 * filters; multipliers 2 and 3; the 3x3 kernels at strides 1 and 2 and the others (5x5,
 * 3x5, dilation, stride 3); bands of rows; a residual add and a clamp in the stores. */
static void dw_lanes_bits(void) {
    static const char *specs[] = {
        "input(14,14,32) conv2d(32,3,padding=1,groups=32) relu6",
        "input(7,7,24) conv2d(24,3,padding=1,groups=24)",
        "input(2,3,16) conv2d(16,3,padding=1,groups=16) relu",
        "input(15,17,12) conv2d(12,3,stride=2,padding=1,groups=12)",
        "input(9,11,4) conv2d(12,3,padding=1,groups=4)",
        "input(12,13,10) conv2d(20,5,stride=2,padding=2,groups=10)",
        "input(10,21,16) conv2d(16,3,padding=2,dilation=2,groups=16,bias=0)",
        "input(20,19,8) conv2d(8,(3,5),padding=(1,2),groups=8)",
        "input(12,12,8) conv2d(8,3,stride=3,padding=1,groups=8)",
        "input(30,112,8) conv2d(8,3,padding=1,groups=8) relu6",
        "input(37,9,8) conv2d(8,3,stride=2,padding=1,groups=8) hardtanh(-0.5,0.5)",
        "input(14,14,16) conv2d(16,1,name=e) conv2d(16,3,padding=1,groups=16) add(e) relu6",
        "input(7,7,40) conv2d(40,1,name=e) conv2d(40,3,padding=1,groups=40) add(e)",
    };
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++)
        for (int t = 1; t <= 2; t++)
            for (int n = 1; n <= 3; n += 2) {
                on_set_threads(t);
                CHECK(same_bits_with(specs[k], n, ON_CONV_NO_DW_LANES),
                      "%s n=%d, %d threads: the depthwise forwards differ", specs[k], n, t);
            }
    on_set_threads(2);
}

/* Small images with 64 KB of weights or more, batch 5: samples side by side in the products
 * (groups of up to 3, the last one short), for Winograd, im2col and 1x1; and the output the same
 * bits at 1 and 2 threads. */
static const conv_case grouped[] = {
    {"input(7,7,128) conv2d(128,3,padding=1)", 1, 1, 1, 0, 0, 0},
    {"input(6,6,64) conv2d(32,3,stride=2,padding=1)", 1, 1, 2, 0, 0, 0},
    {"input(5,5,128) conv2d(128,1)", 0, 0, 1, 0, 0, 0},
    {"input(9,9,128) conv2d(160,1,stride=2,bias=0)", 0, 0, 2, 0, 0, 0},
    {"input(14,40,3) conv2d(8,7,stride=2,padding=3)", 3, 3, 2, 0, 0, 0}, /* chunks, grown */
};

/* spec's forward of n samples at 1 thread with on_conv_variant v1 and at 2 threads with 0:
 * the same bits, for the same input (its own draws: the caller's are left as they were) */
static void thread_variant_bits(const char *spec, int n, int v1) {
    uint64_t draws = rng;
    on_error err;
    float *y[2] = {NULL, NULL};
    size_t yl = 0;
    for (int t = 1; t <= 2; t++) {
        on_set_threads(t);
        on_model *m = on_model_from_spec(spec, &err);
        if (!m || on_model_compile(m, n, &err)) {
            CHECK(0, "%s: %s", spec, err.msg);
            on_model_free(m);
            break;
        }
        on_model_init(m, 5);
        rng = 7 + (uint64_t)n;
        size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
        yl = (size_t)n * on_shape_size(on_model_output_shape(m));
        float *x = malloc(sizeof(float) * xl);
        for (size_t i = 0; i < xl; i++) x[i] = frand();
        on_conv_variant = t == 1 ? v1 : 0;
        on_model_forward(m, x, n, 0);
        on_conv_variant = 0;
        y[t - 1] = malloc(sizeof(float) * yl);
        memcpy(y[t - 1], on_model_output(m), sizeof(float) * yl);
        free(x);
        on_model_free(m);
    }
    rng = draws;
    if (y[0] && y[1])
        CHECK(!memcmp(y[0], y[1], sizeof(float) * yl), "%s n=%d: 1 and 2 threads differ", spec, n);
    free(y[0]);
    free(y[1]);
    on_set_threads(2);
}

/* spec's forward of n samples at 1 and 2 threads: the same bits */
static void thread_count_bits(const char *spec, int n) {
    thread_variant_bits(spec, n, 0);
}

/* In inference a thread done with its own share of the samples takes samples from the others'
 * shares (op.h's on_queue): the same bits as each thread its static share
 * (ON_CONV_STATIC_SPLIT) and as one thread, for each kernel that loops over the samples so,
 * with the layers of a per-sample chain after it (in a thread's slot). Batch 7: an odd
 * count, and more samples than one thread's share. */
static void queue_bits(void) {
    static const char *specs[] = {
        "input(28,28,1) conv2d(8,3,same) relu maxpool2d dropout(0.2) flatten dense(3)", /* direct */
        "input(32,30,3) conv2d(8,7,stride=2,padding=3) relu", /* direct2 */
        "input(14,14,32) conv2d(64,3,same) relu maxpool2d",   /* F(4x4), channels in lanes */
        "input(28,28,16) conv2d(16,3,same) bn relu",          /* F(4x4) by tiles */
        "input(20,20,8) conv2d(8,3,same,name=a) conv2d(8,3,same) add(a) relu", /* F(2x2) */
        "input(7,7,128) conv2d(128,3,padding=1)",                              /* F(2x2), groups */
        "input(12,12,8) conv2d(8,5,same) relu",                                /* taps */
        "input(14,14,32) conv2d(32,3,padding=1,groups=32) relu6",     /* depthwise in lanes */
        "input(9,9,128) conv2d(160,1,stride=2,bias=0)",               /* im2col, groups */
        "input(20,20,8) conv2d(12,3,stride=2) relu flatten dense(4)", /* im2col */
        "input(7,5,6) conv2d_transpose(4,(3,2),stride=3,padding=(2,1),groups=2,bias=0)",
    };
    on_set_threads(2);
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        CHECK(same_bits_with(specs[k], 7, ON_CONV_STATIC_SPLIT),
              "%s: samples taken from other shares and static shares differ", specs[k]);
        thread_count_bits(specs[k], 7);
    }
    on_conv_variant = ON_CONV_NO_DW_LANES; /* conv_depthwise.c's own loop */
    CHECK(same_bits_with(specs[7], 7, ON_CONV_NO_DW_LANES | ON_CONV_STATIC_SPLIT),
          "%s (no lanes): samples taken from other shares and static shares differ", specs[7]);
    on_conv_variant = 0;
}

/* At batch 1 on two threads, the kernels that split a sample's filters hand them out in
 * units (op.h's on_filter_unit(): a share each, then the other's where one thread is done
 * first): the same bits as each thread its static share of the units (ON_CONV_STATIC_SPLIT)
 * and as one thread, which takes every filter in one product (F(2x2) from the saved U). Filter
 * counts that are not whole units (200: six of 32 and one of 8; 264: four of 64 and one of
 * 8), 1x1 with fewer pixels than filters (the second: each thread's share in one product,
 * conv.c's whole_shares), im2col (the second: whole shares), and Winograd F(2x2) with U made
 * on the fly
 * (filters x channels >= 65536), with a residual add and a ReLU in the stores; layers large
 * enough that the model gives them two threads. */
static void unit_queue_bits(void) {
    static const char *specs[] = {
        "input(7,7,512) conv2d(200,1) relu",   /* 1x1 */
        "input(14,14,704) conv2d(200,1) relu", /* 1x1, each thread's share whole */
        "input(14,14,64) conv2d(512,1,name=a) conv2d(512,1) add(a) relu", /* 1x1, add */
        "input(14,14,48) conv2d(200,3,stride=2,padding=1) relu",          /* im2col */
        "input(28,28,128) conv2d(200,3,stride=2,padding=1) relu",         /* im2col, whole shares */
        "input(7,7,256) conv2d(264,3,padding=1) relu",                    /* F(2x2) */
        "input(7,7,256) conv2d(256,3,padding=1,name=a) conv2d(256,3,padding=1) add(a) relu",
    };
    const int first_wino = 5; /* from here only Winograd (gemm.c's products wherever) */
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        on_set_threads(2);
        CHECK(same_bits_with(specs[k], 1, ON_CONV_STATIC_SPLIT),
              "%s: units taken from the other share and static shares differ", specs[k]);
        /* one thread takes F(2x2) with U made on the fly at batch 1 too, in units: against
         * the saved U, one product for all the filters. im2col's and 1x1's products are
         * gemm.c's where on_gemm_wide() (the same bits for any rows), else OpenBLAS's, whose
         * bits may change with a product's rows: their units are the same at any thread
         * count but one thread's single product is not (the sanitizer build) */
        if (on_gemm_wide() || (int)k >= first_wino)
            thread_variant_bits(specs[k], 1, ON_CONV_SAVED_U);
        on_set_threads(3);
        CHECK(same_bits_with(specs[k], 1, ON_CONV_STATIC_SPLIT),
              "%s, 3 threads: units taken from the other shares and static shares differ",
              specs[k]);
    }
    on_set_threads(2);
}

/* ResNet's residual add (and the ReLU after it) run in the convolution's per-sample chain in
 * inference: the same bits as the add as a pass of its own, whichever input is the conv's. */
static void merge_chain(void) {
    const char *specs[] = {
        "input(9,9,4) conv2d(6,3,padding=1,name=a) relu(name=r) conv2d(6,3,padding=1) add(r) relu "
        "flatten dense(5)",
        "input(9,9,4) conv2d(6,3,padding=1,name=a) relu(name=r) conv2d(6,3,padding=1,name=b) "
        "conv2d(6,1,from=r,name=d) add(b,name=s) relu conv2d(3,3,stride=2) flatten dense(5)",
    };
    for (int k = 0; k < 2; k++)
        for (int n = 1; n <= 4; n += 3) {
            on_error err;
            on_model *m = on_model_from_spec(specs[k], &err);
            on_conv_variant = ON_CONV_AB;
            if (!m || on_model_compile(m, n, &err)) {
                CHECK(0, "%s: %s", specs[k], err.msg);
                on_model_free(m);
                continue;
            }
            on_model_init(m, 9);
            size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0)), yl = (size_t)n * 5;
            float *x = malloc(sizeof(float) * xl), y[20];
            for (size_t i = 0; i < xl; i++) x[i] = frand();
            on_conv_variant = ON_CONV_AB | ON_CONV_NO_MERGE_CHAIN;
            on_model_forward(m, x, n, 0);
            memcpy(y, on_model_output(m), sizeof(float) * yl);
            on_conv_variant = ON_CONV_AB;
            on_model_forward(m, x, n, 0);
            CHECK(!memcmp(y, on_model_output(m), sizeof(float) * yl),
                  "model %d n=%d: the add in the conv's chain changes the output", k, n);
            free(x);
            on_model_free(m);
        }
    on_conv_variant = 0;
}

/* BatchNorms with running statistics and an affine of their own, negative scales among them
 * (a max-pool after one then picks another window's value): the same for the same model */
static void bn_state(on_model *m) {
    for (int t = 0; t < on_model_num_tensors(m); t++) {
        const char *nm = on_model_tensor_name(m, t);
        float *d = on_model_tensor_data(m, t);
        if (!strstr(nm, "batchnorm")) continue;
        for (size_t j = 0; j < on_model_tensor_size(m, t); j++) {
            unsigned h = (unsigned)(j * 7 + (size_t)t * 13);
            d[j] = strstr(nm, "running_var")    ? 0.5f + (float)(h % 17) / 16
                   : strstr(nm, "running_mean") ? (float)(h % 13) / 10 - 0.6f
                   : strstr(nm, "weight")       ? (float)(h % 11) / 4 - 1.25f
                                                : (float)(h % 7) / 5 - 0.6f;
        }
    }
}

/* In inference a residual add and a ReLU, ReLU6 or hardtanh after a convolution run in the
 * convolution's stores (graph.c's fuse_into), and such a clamp after a pooling layer in the
 * pool's, and a 2x2 max-pool after Winograd F(2x2) or the direct kernel in their stores: the
 * same bits as those as layers of their own, for every kernel (1x1 and im2col by gemm.c or
 * OpenBLAS, samples side by side, depthwise, Winograd F(2x2) and F(4x4), the taps, direct), at
 * batch 1 (threads share a sample) and 4, NaN inputs too; before such a pool also a clamp and
 * a BatchNorm. */
static void clamp_chain(void) {
    const char *specs[] = {
        "input(12,10,8) conv2d(16,1) relu6 conv2d(16,3,padding=1,groups=16) relu6 conv2d(8,1) "
        "add(input) conv2d(12,3,stride=2) relu flatten dense(5)",
        "input(14,14,8) conv2d(16,3,same) relu conv2d(7,(2,3),padding=(1,0)) hardtanh(-0.5,0.5) "
        "conv2d(8,1,stride=2) relu flatten dense(5)",
        "input(28,28,1) conv2d(8,3,same) relu maxpool2d conv2d(64,1) relu conv2d(64,3,same) relu "
        "flatten dense(5)",
        "input(7,7,128) conv2d(128,1) relu6 conv2d(64,3,padding=1) relu6 "
        "conv2d(16,3,stride=2,groups=2) "
        "relu flatten dense(5)",
        "input(9,9,16) conv2d(16,3,padding=1,name=a) relu(name=r) conv2d(16,3,padding=1) add(r) "
        "relu conv2d(32,1,name=b) conv2d(32,1,from=r) add(b) relu6 conv2d(16,1,name=e) "
        "conv2d(16,3,padding=1,groups=16) add(e) relu flatten dense(5)",
        "input(7,7,128) conv2d(128,1,name=a) conv2d(128,1) add(a) relu "
        "conv2d(8,5,padding=2) "
        "conv2d(8,1,from=a) add(conv2d_2) flatten dense(5)",
        /* a clamp after a pooling layer, in the pool's stores (2x2 max: by vectors, and one
         * by one in a row of fewer than 4) or a pass of its own */
        "input(18,18,3) conv2d(8,3,same) maxpool2d hardtanh(-0.5,0.5) conv2d(8,3,same) "
        "maxpool2d(3,2,1) relu6 conv2d(8,1) avgpool2d relu conv2d(8,1) maxpool2d relu "
        "flatten dense(5)",
        /* F(4x4) by default, at batch 1 on two threads (tile rows split; or channels and
         * filters: ON_CONV_SHARE_FILTERS) */
        "input(48,48,24) conv2d(24,3,padding=1,name=a) relu(name=r) conv2d(24,3,padding=1) "
        "add(r) relu6 flatten dense(5)",
        /* stride 2 on 1-3 channels (conv_direct2.c): a clamp in its stores (16 and 8 floats a
         * vector), a residual add after it */
        "input(20,40,3) conv2d(12,7,stride=2,padding=3) relu maxpool2d(3,2,1) "
        "conv2d(8,3,stride=2,padding=1) hardtanh(-0.5,0.5) flatten dense(5)",
        "input(21,21,2) conv2d(8,5,stride=2,padding=2,name=a) relu6 "
        "conv2d(8,5,stride=2,padding=2,from=input) add(a) relu flatten dense(5)",
        /* a 2x2 max-pool after Winograd F(2x2), in its stores (then a clamp, or none): pooled
         * rows of 3, 6, 7 and 17 windows (part of a vector, several), odd sizes (the last
         * tile row and column dropped), samples side by side, one sample a chunk (30x34) */
        "input(14,14,8) conv2d(16,3,same) maxpool2d relu conv2d(16,3,same) maxpool2d relu6 "
        "conv2d(8,3,same) relu flatten dense(5)",
        "input(16,12,8) conv2d(16,3,same) maxpool2d conv2d(8,3,same) maxpool2d "
        "hardtanh(-0.5,0.5) flatten dense(5)",
        "input(15,13,4) conv2d(8,3,same) maxpool2d relu conv2d(8,3,padding=1) maxpool2d "
        "flatten dense(5)",
        "input(30,34,4) conv2d(8,3,same) maxpool2d relu flatten dense(5)",
        "input(6,6,4) conv2d(4,3,same) maxpool2d flatten dense(5)", /* a NaN through 3 windows */
        /* the same after conv_direct.c's AVX-512 kernel (1-3 channels): overlapping vectors,
         * one vector, a vector and a last one; an odd height, a short filter block */
        "input(15,28,1) conv2d(6,3,same) maxpool2d relu6 conv2d(4,3,same) maxpool2d flatten "
        "dense(5)",
        "input(16,34,2) conv2d(9,3,same) maxpool2d flatten dense(5)",
        "input(20,16,3) conv2d(8,5,same) maxpool2d hardtanh(-0.5,0.5) flatten dense(5)",
        /* no padding (the split input's columns from the image's first), and a 4x4 kernel
         * padded 1 left and 2 right */
        "input(19,38,1) conv2d(5,3) maxpool2d relu flatten dense(5)",
        "input(12,20,2) conv2d(6,4,same) maxpool2d flatten dense(5)",
        /* layers that are the identity at inference between the convolution and the pool */
        "input(14,14,8) conv2d(16,3,same) dropout(0.3) maxpool2d relu conv2d(8,3,same) relu "
        "flatten dense(5)",
        "input(16,34,2) conv2d(9,3,same) gaussian_noise(0.1) dropout(0.2) maxpool2d relu6 "
        "flatten dense(5)",
        /* the direct kernel's clamp without a pool: rows under 16 (no AVX-512 vectors), and
         * of 16 and more */
        "input(9,12,3) conv2d(5,3,same) relu conv2d(4,3) flatten dense(5)",
        "input(7,37,1) conv2d(6,3,same) hardtanh(-0.5,0.5) conv2d(4,3) flatten dense(5)",
        /* a clamp and a BatchNorm (its running statistics set by bn_state) before the pool,
         * in the stores too, identities around them: Winograd, then the direct kernel, then
         * the reference model's orders of the study's block */
        "input(14,14,8) conv2d(16,3,same) bn maxpool2d relu conv2d(16,3,same) relu bn "
        "dropout(0.2) maxpool2d flatten dense(5)",
        "input(15,13,4) conv2d(8,3,same) dropout(0.3) relu6 gaussian_noise(0.1) bn dropout(0.2) "
        "maxpool2d flatten dense(5)",
        "input(14,14,8) conv2d(16,3,same) relu maxpool2d conv2d(8,3,same) relu6 maxpool2d "
        "flatten dense(5)",
        "input(15,28,1) conv2d(6,3,same) relu bn maxpool2d conv2d(4,3,same) bn maxpool2d relu "
        "flatten dense(5)",
        "input(16,34,2) conv2d(9,3,same) hardtanh(-0.5,0.5) dropout(0.2) bn maxpool2d flatten "
        "dense(5)",
        "input(28,28,1) conv2d(32,3,same) relu bn dropout(0.2) maxpool2d conv2d(64,3,same) relu "
        "bn dropout(0.2) maxpool2d flatten dense(10)",
        "input(28,28,1) conv2d(32,3,same) dropout(0.2) bn maxpool2d relu conv2d(64,3,same) "
        "dropout(0.2) bn maxpool2d relu flatten dense(10)",
        /* the direct kernel's pool from its sums on the grid (pool_grid: no AVX-512, or an
         * odd width): an odd height and width, the last eight windows of a row again */
        "input(17,33,1) conv2d(5,3,same) relu maxpool2d flatten dense(5)",
        "input(18,37,3) conv2d(6,3,same) bn maxpool2d relu6 flatten dense(5)",
    };
    /* ON_CONV_NO_AVX512: the AVX2 kernels where the CPU has AVX-512 too */
    const int all[] = {0, ON_CONV_BLAS_PRODUCTS, ON_CONV_NO_WINO | ON_CONV_NO_LANES,
                       ON_CONV_WINO4_ALL, ON_CONV_NO_AVX512},
              wino4[] = {0, ON_CONV_SHARE_FILTERS}; /* the 48x48 one: its default kernels */
    for (int k = 0; k < (int)(sizeof specs / sizeof *specs); k++)
        for (int v = 0; v < (k == 7 ? 2 : 5); v++)
            for (int n = 1; n <= 4; n += 3) {
                const int *variants = k == 7 ? wino4 : all;
                on_error err;
                /* two models, the same weights: the clamp's own buffer is not written by
                 * the run without it first */
                on_model *m[2] = {on_model_from_spec(specs[k], &err), NULL};
                if (m[0]) m[1] = on_model_from_spec(specs[k], &err);
                on_conv_variant = ON_CONV_AB | variants[v];
                if (!m[1] || on_model_compile(m[0], n, &err) || on_model_compile(m[1], n, &err)) {
                    CHECK(0, "%s: %s", specs[k], err.msg);
                    on_model_free(m[0]);
                    on_model_free(m[1]);
                    continue;
                }
                size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m[0], 0));
                size_t yl = (size_t)n * on_shape_size(on_model_output_shape(m[0]));
                float *x = malloc(sizeof(float) * xl);
                for (size_t i = 0; i < xl; i++) x[i] = 2 * frand();
                x[xl / 3] = NAN;
                for (int j = 0; j < 2; j++) {
                    on_model_init(m[j], 9);
                    bn_state(m[j]);
                    on_conv_variant = ON_CONV_AB | variants[v] | (j ? 0 : ON_CONV_NO_CLAMP);
                    on_model_forward(m[j], x, n, 0);
                }
                CHECK(!memcmp(on_model_output(m[0]), on_model_output(m[1]), sizeof(float) * yl),
                      "model %d variant %d n=%d: what runs in the conv's stores changes the output",
                      k, variants[v], n);
                free(x);
                on_model_free(m[0]);
                on_model_free(m[1]);
            }
    on_conv_variant = 0;
}

/* A backward after an inference forward (input gradients of a model in inference mode):
 * where a 2x2 max-pool ran in the convolution's stores, the convolution's own output was not
 * written, and the pool's backward finds its winners there: the backward computes it first.
 * The input gradient must be the one of the forward without the pool in the stores, after
 * Winograd and the direct kernel, at batch 1 (threads share the sample) and 3, and with a
 * dropout (and noise), a clamp and a BatchNorm between them, over the conv's buffer or in
 * their own. */
static void pool_backward_after_inference(void) {
    const char *specs[] = {
        "input(14,12,8) conv2d(16,3,same) maxpool2d relu flatten dense(5)",
        "input(14,16,2) conv2d(8,3,same) maxpool2d relu flatten dense(5)",
        /* the pool after a dropout: the dropout's output (its own buffer, or the conv's) is
         * computed too */
        "input(14,12,8) conv2d(16,3,same) dropout(0.4) maxpool2d relu flatten dense(5)",
        "input(14,16,2) conv2d(8,3,same) gaussian_noise(0.2) dropout(0.4) maxpool2d flatten "
        "dense(5)",
        /* after a clamp and a BatchNorm: their outputs too */
        "input(14,12,8) conv2d(16,3,same) relu bn dropout(0.4) maxpool2d flatten dense(5)",
        "input(14,16,2) conv2d(8,3,same) relu6 bn maxpool2d relu flatten dense(5)"};
    for (int k = 0; k < 18; k++) {
        const char *spec = specs[k / 3];
        int n = k % 3 ? 3 : 1, own = k % 3 == 2; /* own: every layer its own buffer */
        float *dx[2] = {NULL, NULL};
        size_t xl = 0;
        for (int j = 0; j < 2; j++) {
            on_error err;
            on_model *m = on_model_from_spec(spec, &err);
            if (m) on_model_want_input_grad(m, 1);
            on_conv_variant = own ? ON_CONV_NO_IN_PLACE : 0;
            int bad = !m || on_model_compile(m, n, &err) || !on_model_input_grad(m);
            on_conv_variant = 0;
            if (bad) {
                CHECK(0, "%s: %s", spec, m ? err.msg : "no input gradient");
                on_model_free(m);
                break;
            }
            on_model_init(m, 3);
            bn_state(m);
            xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
            float *x = malloc(sizeof(float) * xl), dy[15];
            for (size_t i = 0; i < xl; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
            for (int i = 0; i < 5 * n; i++) dy[i] = (float)(i % 7) - 3.0f;
            on_conv_variant = j ? ON_CONV_NO_POOL_FUSE : 0;
            on_model_forward(m, x, n, 0);
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            dx[j] = malloc(sizeof(float) * xl);
            memcpy(dx[j], on_model_input_grad(m), sizeof(float) * xl);
            on_conv_variant = 0;
            free(x);
            on_model_free(m);
        }
        if (dx[0] && dx[1]) {
            int nonzero = 0;
            for (size_t i = 0; i < xl; i++) nonzero += dx[1][i] != 0;
            CHECK(nonzero > 0 && !memcmp(dx[0], dx[1], sizeof(float) * xl),
                  "%s n=%d: the input gradient after an inference forward with the pool in the "
                  "conv's stores differs (%d nonzero)",
                  spec, n, nonzero);
        }
        free(dx[0]);
        free(dx[1]);
    }
}

/* A malloc'd copy of n floats at p */
static float *copy_of(const float *p, size_t n) {
    float *c = malloc(sizeof(float) * n);
    memcpy(c, p, sizeof(float) * n);
    return c;
}

/* A dropout between a convolution and the 2x2 max-pool in its stores, declared as an output
 * of its own: the pool must not run in the stores then, and the dropout's output (the
 * identity at inference: the convolution's) must be there after an inference forward, as
 * without the fusion. */
static void pool_through_declared_output(void) {
    const char *specs[] = {
        "input(12,16,2) conv2d(4,3,same) dropout(0.3) maxpool2d flatten dense(5)",
        "input(12,12,8) conv2d(8,3,same) dropout(0.3) maxpool2d flatten dense(5)"};
    for (int k = 0; k < 2; k++) {
        float *out[2] = {NULL, NULL};
        size_t len = 0;
        for (int j = 0; j < 2; j++) {
            on_error err;
            on_model *m = on_model_from_spec(specs[k], &err);
            int drop = 2; /* input, conv2d, dropout */
            if (!m || strcmp(on_model_node_name(m, drop), "dropout") ||
                on_model_set_output(m, 1, drop, NULL, 0, NULL, &err) ||
                on_model_compile(m, 3, &err)) {
                CHECK(0, "%s: %s", specs[k], m ? err.msg : "no model");
                on_model_free(m);
                break;
            }
            on_model_init(m, 5);
            size_t xl = 3 * on_shape_size(on_model_node_shape(m, 0));
            len = 3 * on_shape_size(on_model_node_shape(m, drop));
            float *x = malloc(sizeof(float) * xl);
            for (size_t i = 0; i < xl; i++) x[i] = (float)((i * 53) % 97) / 40.0f - 1.0f;
            on_conv_variant = j ? ON_CONV_NO_POOL_FUSE : 0;
            on_model_forward(m, x, 3, 0);
            on_conv_variant = 0;
            out[j] = copy_of(on_model_output_at(m, 1), len);
            free(x);
            on_model_free(m);
        }
        if (out[0] && out[1])
            CHECK(!memcmp(out[0], out[1], sizeof(float) * len),
                  "%s: the dropout declared as an output differs after an inference", specs[k]);
        free(out[0]);
        free(out[1]);
    }
}

/* A malloc'd copy of all of m's tensors one after another (*n floats) */
static float *weights_of(on_model *m, size_t *n) {
    *n = 0;
    for (int t = 0; t < on_model_num_tensors(m); t++) *n += on_model_tensor_size(m, t);
    float *w = malloc(sizeof(float) * *n);
    for (int t = 0, off = 0; t < on_model_num_tensors(m); t++) {
        memcpy(w + off, on_model_tensor_data(m, t), sizeof(float) * on_model_tensor_size(m, t));
        off += (int)on_model_tensor_size(m, t);
    }
    return w;
}

/* got[0][q] and got[1][q] (len[q] floats each: what[q] with and without something) must be
 * the same bits, and not all zero (a comparison that could not fail); frees them */
static void same_bits(float *got[2][4], const size_t len[4], const char *const what[4],
                      const char *spec, int n, int threads, const char *with) {
    for (int q = 0; q < 4; q++) {
        if (got[0][q] && got[1][q]) {
            int nonzero = 0;
            for (size_t i = 0; i < len[q]; i++) nonzero += got[1][q][i] != 0;
            CHECK(nonzero > 0 && !memcmp(got[0][q], got[1][q], sizeof(float) * len[q]),
                  "%s n=%d threads=%d: %s differs with %s (%d nonzero)", spec, n, threads, what[q],
                  with, nonzero);
        }
        free(got[0][q]);
        free(got[1][q]);
    }
}

/* spec with its input gradient, output `out` declared (0: none), compiled for n samples
 * under on_conv_variant = variant, initialized; *x (malloc'd, *xl floats) an input of n
 * samples drawn from seed and dy an output gradient (5 n values). NULL, a failed check,
 * where it cannot. */
static on_model *grad_case(const char *spec, int n, int out, int variant, unsigned seed, float **x,
                           size_t *xl, float dy[15]) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m) on_model_want_input_grad(m, 1);
    on_conv_variant = variant;
    int rc = !m || (out && on_model_set_output(m, 1, out, NULL, 0, NULL, &err)) ||
             on_model_compile(m, n, &err);
    on_conv_variant = 0;
    if (rc) {
        CHECK(0, "%s: %s", spec, err.msg);
        on_model_free(m);
        return NULL;
    }
    on_model_init(m, 5);
    *xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
    *x = malloc(sizeof(float) * *xl);
    rng = seed;
    for (size_t i = 0; i < *xl; i++) (*x)[i] = frand();
    for (int i = 0; i < 5 * n; i++) dy[i] = (float)(i % 7) - 3.0f;
    return m;
}

/* In inference the layers of a per-sample chain before its last write a thread's sample to
 * a slot of their buffer, not at its place (graph.c's run_chain): the same outputs bit for
 * bit as with every sample at its place (ON_CONV_NO_SLOTS); a layer of a chain that is a
 * declared output still at its place; the input gradient of a backward after such a forward
 * (which computes the skipped layers first), and the gradients of a training step after
 * one, the same. At batch 1 and 3, on 1 and 2 threads: the BatchNorm chain, a max-pool with
 * its ReLU in its stores inside a chain, a residual add in the chain. */
static void chain_slots(void) {
    const char *specs[] = {
        "input(12,12,3) conv2d(8,3,same) bn relu maxpool dropout(0.3) conv2d(6,3,same) bn relu "
        "flatten dense(5)",
        "input(12,12,3) conv2d(8,3,same) relu bn dropout(0.3) maxpool relu conv2d(6,3,same) bn "
        "maxpool relu flatten dense(5)",
        "input(9,9,4) conv2d(6,3,padding=1) relu(name=r) conv2d(6,3,padding=1) bn add(r) relu "
        "flatten dense(5)",
    };
    const int bn[3] = {2, 3, 4}; /* each model's first BatchNorm */
    for (int k = 0; k < 4 * 3; k++) {
        const char *spec = specs[k / 4];
        int n = k % 2 ? 3 : 1, threads = 1 + k / 2 % 2;
        on_set_threads(threads);
        float *got[2][4] = {{NULL}};
        size_t len[4] = {0};
        for (int j = 0; j < 2; j++) {
            float *x, dy[15];
            size_t xl;
            /* a BatchNorm's output declared an output: written at its place; the same input
             * for both */
            on_model *m = grad_case(spec, n, bn[k / 4], 0, 11 + (unsigned)k, &x, &xl, dy);
            if (!m) break;
            on_model_forward(m, x, n, 1); /* a training step: running statistics not 0 and 1 */
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            on_sgd_step(m, 0.1f, 0, 0, 0);
            on_conv_variant = j ? ON_CONV_NO_SLOTS : 0;
            on_model_forward(m, x, n, 0);
            size_t ol[2] = {(size_t)n * 5,
                            (size_t)n * on_shape_size(on_model_node_shape(m, bn[k / 4]))};
            float *o[2] = {(float *)on_model_output_at(m, 0), (float *)on_model_output_at(m, 1)};
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            for (int q = 0; q < 2; q++) got[j][q] = copy_of(o[q], len[q] = ol[q]);
            got[j][2] = copy_of(on_model_input_grad(m), len[2] = xl);
            on_conv_variant = 0;
            on_model_forward(m, x, n, 1); /* a training step after the inference */
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            got[j][3] = copy_of(on_model_input_grad(m), len[3] = xl);
            free(x);
            on_model_free(m);
        }
        const char *const what[4] = {"the output", "the BatchNorm's output (declared an output)",
                                     "the input gradient after the inference",
                                     "the input gradient of a training step after it"};
        same_bits(got, len, what, spec, n, threads, "the chain's slots");
    }
    on_set_threads(2);
}

/* The Winograd backward in groups of samples (each sample one chunk: their tiles side by
 * side, one product per position for the group) gives the same weights after two steps and
 * the same input gradient bit for bit as sample by sample (ON_CONV_NO_GROUP, which also
 * turns off the forward's groups): 4x4 tiles, odd sizes (dY grown to even), and an image of
 * several chunks (no groups), at batch 3 on 1 and 2 threads. */
static void wino_group_bits(void) {
    const char *specs[] = {"input(8,8,16) conv2d(8,3,same) relu conv2d(6,3,same) flatten dense(5)",
                           "input(7,7,16) conv2d(8,3,same) flatten dense(5)",
                           "input(30,30,8) conv2d(8,3,same) flatten dense(5)"};
    for (int k = 0; k < 3 * 2; k++) {
        const char *spec = specs[k / 2];
        int n = 3, threads = 1 + k % 2;
        on_set_threads(threads);
        float *got[2][4] = {{NULL}};
        size_t len[4] = {0};
        for (int j = 0; j < 2; j++) {
            float *x, dy[15];
            size_t xl; /* the same input for both */
            on_model *m = grad_case(spec, n, 0, 0, 31 + (unsigned)k, &x, &xl, dy);
            if (!m) break;
            on_conv_variant = j ? ON_CONV_NO_GROUP : 0;
            for (int step = 0; step < 2; step++) {
                on_model_forward(m, x, n, 1);
                on_model_set_output_grad(m, dy);
                on_model_backward(m);
                on_sgd_step(m, 0.02f, 0.9f, 0, 0);
            }
            on_conv_variant = 0;
            got[j][0] = weights_of(m, &len[0]);
            got[j][1] = copy_of(on_model_input_grad(m), len[1] = xl);
            free(x);
            on_model_free(m);
        }
        const char *const what[4] = {"the weights after two steps", "the input gradient", "", ""};
        same_bits(got, len, what, spec, n, threads, "groups of samples");
    }
    on_set_threads(2);
}

/* A ReLU or dropout over the buffer of the convolution, dense layer, BatchNorm, pool or
 * dropout before it (graph.c's in_place), and a BatchNorm's input gradient over its output's
 * (grad_over): three training steps give the same weights, outputs and input gradients bit
 * for bit as with every layer in a buffer of its own (ON_CONV_NO_IN_PLACE, read when
 * compiling), and so do an inference after them (its per-sample chains writing to slots,
 * over one buffer all or none) and a backward after that. Batch 1 and 3, 1 and 2 threads;
 * the expected layers share their input's buffer (and gradient). */
static void in_place_bits(void) {
    static const struct {
        const char *spec;
        int over[3]; /* nodes that must share their input's buffer */
        int grad;    /* a BatchNorm whose input's gradient must share its output's, or 0 */
        int view[2]; /* flatten and reshape nodes: their input's buffer (ON_IN_PLACE_VIEW) */
    } cases[] = {
        {"input(12,12,3) conv2d(8,3,same) relu bn dropout(0.3) maxpool conv2d(6,3,same) relu "
         "bn dropout(0.3) maxpool flatten dense(5)",
         {2, 7, 7},
         3,
         {11, 11}},
        {"input(12,12,3) conv2d(8,3,same) bn relu maxpool dropout(0.3) conv2d(6,3,same) "
         "dropout(0.2) relu maxpool flatten dense(7) relu dense(5)",
         {3, 8, 8},
         2,
         {10, 10}},
        {"input(12,12,3) conv2d(8,3,same) dropout(0.3) bn maxpool relu conv2d(6,3,stride=2) bn "
         "relu6 flatten dense(5)",
         {2, 5, 8},
         3,
         {9, 9}},
        {"input(48) dense(48) relu reshape((3,4,4)) conv2d(4,3,same) relu flatten dense(5)",
         {2, 5, 5},
         0,
         {3, 6}},
        /* the input's gradient larger than the BatchNorm's: their shared buffer, freed too
         * early, would be grown for it, and the convolution would write it there while
         * still reading its own gradient from there (a mutation that frees it fails here) */
        {"input(10,10,16) conv2d(8,3,same) bn maxpool relu flatten dense(5)", {4, 4, 4}, 2, {5, 5}},
    };
    for (int k = 0; k < 5 * 4; k++) {
        const char *spec = cases[k / 4].spec;
        int n = k % 2 ? 3 : 1, threads = 1 + k / 2 % 2;
        on_set_threads(threads);
        float *got[2][4] = {{NULL}};
        size_t len[4] = {0};
        for (int j = 0; j < 2; j++) {
            float *x, dy[15];
            size_t xl; /* the same input for both */
            on_model *m =
                grad_case(spec, n, 0, j ? ON_CONV_NO_IN_PLACE : 0, 23 + (unsigned)k, &x, &xl, dy);
            if (!m) break;
            for (int q = 0; q < 3; q++) {
                int o = cases[k / 4].over[q];
                CHECK((m->nodes[o].y == m->nodes[o - 1].y) == !j,
                      "%s: node %d over its input's buffer: %d", spec, o,
                      m->nodes[o].y == m->nodes[o - 1].y);
            }
            for (int q = 0; q < 2; q++) {
                int v = cases[k / 4].view[q];
                CHECK((m->nodes[v].y == m->nodes[v - 1].y) == !j &&
                          (m->nodes[v].dy == m->nodes[v - 1].dy) == !j,
                      "%s: node %d (%s) a view of its input: %d, its gradient: %d", spec, v,
                      m->nodes[v].op->name, m->nodes[v].y == m->nodes[v - 1].y,
                      m->nodes[v].dy == m->nodes[v - 1].dy);
            }
            int g = cases[k / 4].grad;
            CHECK(!g || (m->nodes[g].dy == m->nodes[g - 1].dy) == !j,
                  "%s: node %d's input gradient over its own: %d", spec, g,
                  g && m->nodes[g].dy == m->nodes[g - 1].dy);
            for (int step = 0; step < 3; step++) {
                on_model_forward(m, x, n, 1);
                on_model_set_output_grad(m, dy);
                on_model_backward(m);
                on_sgd_step(m, 0.02f, 0.9f, 0, 0);
            }
            got[j][0] = weights_of(m, &len[0]);
            got[j][1] = copy_of(on_model_input_grad(m), len[1] = xl); /* the last step's */
            on_model_forward(m, x, n, 0);
            got[j][2] = copy_of(on_model_output(m), len[2] = (size_t)5 * n);
            on_model_set_output_grad(m, dy);
            on_model_backward(m);
            got[j][3] = copy_of(on_model_input_grad(m), len[3] = xl);
            free(x);
            on_model_free(m);
        }
        const char *const what[4] = {"the weights after three steps",
                                     "the last step's input gradient", "the inference's output",
                                     "the input gradient after it"};
        same_bits(got, len, what, spec, n, threads, "layers in place");
    }
    on_set_threads(2);
}

/* Winograd F(4x4, 3x3) (conv_wino4.c, inference only) against the double direct sum. Its
 * bound is per output and relative to S = sum |w||x| + |b|, the scale a float sum's rounding
 * error is proportional to (and one an output that cancels to near zero is not small
 * against): |y - y_ref| <= WINO4_TOL S. The error comes from rounding U (G's 1/3, 1/15),
 * V = B^T d B (coefficients up to 5/2), the C-long sums of the products and A^T M A (coefficients
 * up to 8). Measured: up to 1.7e-6 S on these shapes, mostly 0.5-1e-6 S, uniform inputs in [-1, 1]
 * (with the points 0, +-1, +-2 instead: up to 2.5e-6 S; F(2x2) or im2col: 1.6e-7 S), so 5e-6 S (84
 * float epsilons) leaves a margin of 3; an error in a transform coefficient gives errors of order
 * S, and a wrong tile or edge 1/9 S or more. */
#define WINO4_TOL 5e-6
/* the largest |y - y_ref| / S seen with F(4x4) forced and turned off, printed at the end */
static double wino4_worst = 0, wino2_worst = 0;

static const char *wino4_specs[] = {
    "input(28,28,16) conv2d(16,3,same)",       /* the default rule picks it */
    "input(13,11,5) conv2d(7,3)",              /* odd P and Q, partial tiles */
    "input(10,9,6) conv2d(4,3,padding=(2,1))", /* explicit padding, 2 past the edge */
    "input(9,130,4) conv2d(5,3,same)",         /* rows wider than a chunk */
    "input(45,14,9) conv2d(3,3,same,bias=0)",  /* several chunks of tile rows */
    "input(56,56,8) conv2d(24,3,padding=1)",   /* ResNet's first stage, fewer channels */
    "input(7,7,64) conv2d(32,3,padding=1)",    /* a ResNet 7x7: 2x2 tiles, mostly edge */
    "input(3,5,3) conv2d(2,3,padding=(1,2))",  /* one tile */
};

static void wino4_case(const char *spec, int n, int variant) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    CHECK(m != NULL, "%s: %s", spec, m ? "" : err.msg);
    if (!m) return;
    on_conv_variant = ON_CONV_AB;
    if (on_model_compile(m, n, &err)) {
        CHECK(0, "%s: compile: %s", spec, err.msg);
        on_model_free(m);
        on_conv_variant = 0;
        return;
    }
    on_model_init(m, 4);
    on_shape xs = on_model_node_shape(m, 0), ys = on_model_output_shape(m);
    int bi = on_model_num_tensors(m) > 1 ? 1 : -1, dims[4];
    on_model_tensor_dims(m, 0, dims);
    float *w = on_model_tensor_data(m, 0), *b = bi >= 0 ? on_model_tensor_data(m, bi) : NULL;
    if (b)
        for (size_t j = 0; j < on_model_tensor_size(m, bi); j++) b[j] = frand();
    size_t xl = (size_t)n * on_shape_size(xs), yl = (size_t)n * on_shape_size(ys);
    size_t wl = on_model_tensor_size(m, 0);
    int pt = (ys.h - xs.h + 2) / 2, pl = (ys.w - xs.w + 2) / 2; /* same/valid: symmetric */
    if (strstr(spec, "padding=(")) sscanf(strstr(spec, "padding=("), "padding=(%d,%d)", &pt, &pl);
    float *x = malloc(sizeof(float) * xl), *dy = calloc(yl, sizeof(float));
    float *wa = malloc(sizeof(float) * wl), *xa = malloc(sizeof(float) * xl);
    float *y0 = malloc(sizeof(float) * yl);
    double *y = malloc(sizeof(double) * yl), *S = malloc(sizeof(double) * yl);
    double *dx = malloc(sizeof(double) * xl), *dw = malloc(sizeof(double) * wl), db[64];
    for (size_t i = 0; i < xl; i++) x[i] = frand(), xa[i] = fabsf(x[i]);
    for (int round = 0; round < 2; round++) {
        if (round) w[wl / 2] += 0.25f, w[0] -= 0.5f; /* the kept U must follow */
        for (size_t i = 0; i < wl; i++) wa[i] = fabsf(w[i]);
        reference(x, w, b, dy, n, xs.c, xs.h, xs.w, ys.c, 3, 3, ys.h, ys.w, pt, pl, 1, 1, 1, y, dx,
                  dw, db);
        float *ba = NULL, babs[64];
        if (b) {
            for (int f = 0; f < ys.c; f++) babs[f] = fabsf(b[f]);
            ba = babs;
        }
        reference(xa, wa, ba, dy, n, xs.c, xs.h, xs.w, ys.c, 3, 3, ys.h, ys.w, pt, pl, 1, 1, 1, S,
                  dx, dw, db);
        on_conv_variant = ON_CONV_AB | variant;
        on_model_forward(m, x, n, 0);
        const float *out = on_model_output(m);
        double e = 0;
        for (size_t i = 0; i < yl; i++) e = fmax(e, fabs(out[i] - y[i]) / fmax(S[i], 1e-30));
        CHECK(e <= WINO4_TOL, "%s n=%d variant %d round %d: F(4x4) error %.2g S", spec, n, variant,
              round, e);
        if (variant & ON_CONV_WINO4_ALL)
            wino4_worst = fmax(wino4_worst, e);
        else
            wino2_worst = fmax(wino2_worst, e);
        memcpy(y0, out, sizeof(float) * yl);
        on_model_forward(m, x, n, 0); /* run to run: the same bits */
        CHECK(!memcmp(y0, on_model_output(m), sizeof(float) * yl), "%s n=%d: two runs differ", spec,
              n);
    }
    on_conv_variant = 0;
    free(x), free(dy), free(wa), free(xa), free(y0), free(y), free(S), free(dx), free(dw);
    on_model_free(m);
}

/* The inference outputs of spec (initialized with seed 4) on two samples drawn from rng =
 * seed, run with on_conv_variant = ON_CONV_AB | variant (*yl floats; NULL and a failed check
 * if it does not build) */
static float *eval_with(const char *spec, int variant, uint64_t seed, size_t *yl) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    on_conv_variant = ON_CONV_AB;
    if (!m || on_model_compile(m, 2, &err)) {
        CHECK(0, "%s: %s", spec, err.msg);
        on_model_free(m);
        return NULL;
    }
    on_model_init(m, 4);
    size_t xl = 2 * on_shape_size(on_model_node_shape(m, 0));
    *yl = 2 * on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * xl), *y = malloc(sizeof(float) * *yl);
    rng = seed;
    for (size_t i = 0; i < xl; i++) x[i] = frand();
    on_conv_variant = ON_CONV_AB | variant;
    on_model_forward(m, x, 2, 0);
    memcpy(y, on_model_output(m), sizeof(float) * *yl);
    free(x);
    on_model_free(m);
    return y;
}

/* F(4x4) where forced, on 1 and 2 threads, batch 1 (the threads share the sample) and 3;
 * the default rule takes it for the first shape (the same bits as forcing it, and the same
 * bits at 1 and 2 threads for a batch of 5) and not for the 7x7 one (the bits of the choice
 * without it); F(2x2) held to the same per-output bound for comparison. */
static void variant_bits(const char *spec, int v, const char *what);

static void wino4_cases(void) {
    for (int t = 1; t <= 2; t++) {
        on_set_threads(t);
        for (size_t i = 0; i < sizeof wino4_specs / sizeof wino4_specs[0]; i++)
            for (int n = 1; n <= 3; n += 2) {
                wino4_case(wino4_specs[i], n, ON_CONV_WINO4_ALL);
                wino4_case(wino4_specs[i], n, ON_CONV_NO_WINO4);
            }
    }
    on_set_threads(2);
    /* batch 1 on two threads takes work of at least SERIAL_WORK (graph.c): this one's 11
     * tile rows do not split evenly, so each thread transforms the whole sample and takes
     * half the filters (conv_wino4.c's own_v); with ON_CONV_WINO4_ROWS they split 6 + 5, in
     * chunks of 5; with ON_CONV_SHARE_FILTERS channels, then filters */
    wino4_case("input(44,44,32) conv2d(32,3,same)", 1, ON_CONV_WINO4_ALL);
    wino4_case("input(44,44,32) conv2d(32,3,same)", 1, ON_CONV_WINO4_ALL | ON_CONV_WINO4_ROWS);
    wino4_case("input(44,44,32) conv2d(32,3,same)", 1, ON_CONV_WINO4_ALL | ON_CONV_SHARE_FILTERS);
    variant_bits("input(44,44,32) conv2d(32,3,same)", ON_CONV_WINO4_ROWS,
                 "F(4x4) by uneven tile rows, not by filters,");
    const int pick[2] = {1, 0}; /* wino4_specs[0]: F(4x4) by default; [6]: not */
    const char *which[2] = {wino4_specs[0], wino4_specs[6]};
    for (int k = 0; k < 2; k++) {
        size_t yl = 0;
        float *y0 = eval_with(which[k], 0, 11, &yl);
        float *y1 =
            y0 ? eval_with(which[k], pick[k] ? ON_CONV_WINO4_ALL : ON_CONV_NO_WINO4, 11, &yl)
               : NULL;
        if (y0 && y1)
            CHECK(!memcmp(y0, y1, sizeof(float) * yl), "%s: the default is not %s", which[k],
                  pick[k] ? "F(4x4)" : "its choice without F(4x4)");
        free(y0);
        free(y1);
    }
    on_conv_variant = 0;
    /* with at least as many samples as threads, the same bits at 1 and 2 threads */
    thread_count_bits(wino4_specs[0], 5);
    printf("F(4x4): largest error %.3g S (bound %.3g S); without it %.3g S\n", wino4_worst,
           WINO4_TOL, wino2_worst);
}

/* F(4x4) with channels in the lanes (conv_wino4c.c, inference, small images): the same bits
 * as F(4x4) by tiles (conv_wino4.c, the same sums in the same order) and, with a max-pool
 * (a ReLU, a BatchNorm with negative scales, a NaN in the input) in its stores, as that pool
 * run as a pass of its own; at batch 1 (on two threads the filters split) and 5, on 1 and 2
 * threads; the default takes it (it differs from F(2x2)), and its error stays within
 * F(4x4)'s bound. Channels and filters not multiples of 8, odd sizes, valid padding. */
static void wino4c_cases(void) {
    static const char *specs[] = {
        "input(14,14,32) conv2d(64,3,same)", /* the reference model's conv2d_1 */
        "input(13,11,36) conv2d(20,3,same) relu",
        "input(7,7,40) conv2d(24,3,padding=1)",
        "input(16,16,32) conv2d(16,3)",
        "input(14,14,32) conv2d(64,3,same) relu maxpool2d",
        "input(13,13,33) conv2d(17,3,same) relu bn maxpool2d",
        "input(6,6,32) conv2d(24,3,same) bn maxpool2d relu",
        "input(15,9,40) conv2d(16,3,same) maxpool2d dropout(0.2) bn relu flatten dense(3)",
    };
    const int vs[5] = {0, ON_CONV_WINO4_ALL | ON_CONV_NO_WINO4C, ON_CONV_NO_POOL_FUSE,
                       ON_CONV_NO_WINO4C, ON_CONV_NO_AVX512};
    for (int t = 1; t <= 2; t++) {
        on_set_threads(t);
        for (size_t k = 0; k < sizeof specs / sizeof *specs; k++)
            for (int n = 1; n <= 5; n += 4) {
                float *y[5] = {NULL, NULL, NULL, NULL, NULL};
                size_t yl = 0;
                for (int v = 0; v < 5; v++) {
                    on_error err;
                    on_model *m = on_model_from_spec(specs[k], &err);
                    on_conv_variant = ON_CONV_AB | vs[v];
                    if (!m || on_model_compile(m, n, &err)) {
                        CHECK(0, "%s: %s", specs[k], err.msg);
                        on_model_free(m);
                        break;
                    }
                    on_model_init(m, 6);
                    bn_state(m);
                    size_t xl = (size_t)n * on_shape_size(on_model_node_shape(m, 0));
                    yl = (size_t)n * on_shape_size(on_model_output_shape(m));
                    float *x = malloc(sizeof(float) * xl);
                    rng = 21;
                    for (size_t i = 0; i < xl; i++) x[i] = 2 * frand();
                    if (strstr(specs[k], "maxpool")) x[xl / 3] = NAN;
                    on_model_forward(m, x, n, 0);
                    y[v] = malloc(sizeof(float) * yl);
                    memcpy(y[v], on_model_output(m), sizeof(float) * yl);
                    on_model_forward(m, x, n, 0); /* run to run: the same bits */
                    CHECK(!memcmp(y[v], on_model_output(m), sizeof(float) * yl),
                          "%s n=%d: two runs differ", specs[k], n);
                    free(x);
                    on_model_free(m);
                }
                if (y[4]) {
                    CHECK(!memcmp(y[0], y[1], sizeof(float) * yl),
                          "%s n=%d %d threads: not the bits of F(4x4) by tiles", specs[k], n, t);
                    /* the output transform in vectors of eight (tile_block8), as without
                     * AVX-512, against the default (vectors of sixteen where it has it) */
                    CHECK(!memcmp(y[0], y[4], sizeof(float) * yl),
                          "%s n=%d %d threads: not the bits of the AVX2 output transform", specs[k],
                          n, t);
                    CHECK(!memcmp(y[0], y[2], sizeof(float) * yl),
                          "%s n=%d %d threads: not the bits of the layers as passes", specs[k], n,
                          t);
                    CHECK(memcmp(y[0], y[3], sizeof(float) * yl),
                          "%s n=%d: the default did not take F(4x4)", specs[k], n);
                }
                for (int v = 0; v < 5; v++) free(y[v]);
            }
    }
    on_conv_variant = 0;
    for (int n = 1; n <= 3; n += 2) {
        wino4_case("input(14,14,32) conv2d(64,3,same)", n, ON_CONV_WINO4_ALL);
        wino4_case("input(13,11,36) conv2d(20,3,same)", n, ON_CONV_WINO4_ALL);
    }
    thread_count_bits("input(14,14,32) conv2d(64,3,same) relu maxpool2d", 5);
    /* outside the rule (16 channels in, where it was slower; 8 in and 1024 filters, more
     * than its buffers take): the default is the kernel without it */
    static const char *outside[] = {"input(13,13,16) conv2d(48,3,same)",
                                    "input(6,6,8) conv2d(1024,3,same)"};
    for (int k = 0; k < 2; k++) {
        size_t yl = 0;
        float *y0 = eval_with(outside[k], 0, 13, &yl);
        float *y1 = y0 ? eval_with(outside[k], ON_CONV_NO_WINO4C, 13, &yl) : NULL;
        if (y0 && y1)
            CHECK(!memcmp(y0, y1, sizeof(float) * yl),
                  "%s: the default takes F(4x4) with channels in the lanes", outside[k]);
        free(y0);
        free(y1);
    }
    on_conv_variant = 0;
}

/* gemm.c's product against a sum in double, at the sizes around its blocks (6 or 8 rows; 8,
 * 16 or 32 columns; 512 rows of B at a time in the last columns; B in panels of columns:
 * n = 230 with k = 300 and 515; 49 to 52 columns with the rows in the lanes, 32 at a time,
 * the rest by block_mixed: m = 40 and 64, n = 49 and 51, k = 300 and 515), A as written and
 * transposed, C set and added to; C's columns past n untouched; and its promise that each
 * element is one sum in order: the same bits computed a row or a few columns at a time, with
 * k cut in two calls (the second adding to the first), and by the AVX2 kernel where the
 * AVX-512 one ran. */
static void gemm_cases(void) {
    const int ms[] = {1, 5, 6, 7, 8, 9, 13, 40, 64},
              ns[] = {1, 7, 8, 9, 16, 17, 31, 32, 33, 49, 51, 56, 230}, ks[] = {1, 3, 32, 300, 515};
    int wide = on_gemm_wide(), compared = 0;
    for (int mi = 0; mi < 9; mi++)
        for (int ni = 0; ni < 13; ni++)
            for (int ki = 0; ki < 5; ki++)
                for (int v = 0; v < 4; v++) { /* bit 0: A transposed, bit 1: acc */
                    int m = ms[mi], n = ns[ni], k = ks[ki], tr = v & 1, acc = v >> 1;
                    if (m == 40 && !wide) continue; /* lanes() and the rows it leaves: AVX-512 */
                    int ldb = n + 3, ldc = n + 5;
                    ptrdiff_t ars = tr ? 1 : k, acs = tr ? m : 1;
                    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * ldb);
                    float *c = malloc(sizeof(float) * m * ldc),
                          *c0 = malloc(sizeof(float) * m * ldc);
                    float *e = malloc(sizeof(float) * m * ldc);
                    for (int i = 0; i < m * k; i++) a[i] = frand();
                    for (int i = 0; i < k * ldb; i++) b[i] = frand();
                    for (int i = 0; i < m * ldc; i++) c0[i] = frand();
                    memcpy(c, c0, sizeof(float) * m * ldc);
                    on_gemm(m, n, k, a, ars, acs, b, ldb, c, ldc, acc);
                    double worst = 0;
                    int kept = 1;
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double r = acc ? c0[i * ldc + j] : 0, sa = fabs(r);
                            for (int p = 0; p < k; p++) {
                                double t = (double)a[i * ars + p * acs] * b[p * ldb + j];
                                r += t;
                                sa += fabs(t);
                            }
                            double err = fabs(c[i * ldc + j] - r) / (sa * (k + 1));
                            if (err > worst) worst = err;
                        }
                        for (int j = n; j < ldc; j++) kept &= c[i * ldc + j] == c0[i * ldc + j];
                    }
                    CHECK(worst < 1.2e-7, "gemm %dx%dx%d tr %d acc %d: error %.3g (x k |a||b|)", m,
                          n, k, tr, acc, worst);
                    CHECK(kept, "gemm %dx%dx%d tr %d acc %d: wrote past column n", m, n, k, tr,
                          acc);
                    /* a row at a time, then columns [0, 5) and [5, n) */
                    memcpy(e, c0, sizeof(float) * m * ldc);
                    for (int i = 0; i < m; i++)
                        on_gemm(1, n, k, a + i * ars, ars, acs, b, ldb, e + i * ldc, ldc, acc);
                    int same = !memcmp(e, c, sizeof(float) * m * ldc);
                    memcpy(e, c0, sizeof(float) * m * ldc);
                    int j5 = n < 5 ? n : 5;
                    on_gemm(m, j5, k, a, ars, acs, b, ldb, e, ldc, acc);
                    on_gemm(m, n - j5, k, a, ars, acs, b + j5, ldb, e + j5, ldc, acc);
                    same &= !memcmp(e, c, sizeof(float) * m * ldc);
                    memcpy(e, c0, sizeof(float) * m * ldc); /* k in two calls */
                    int k1 = k / 2;
                    on_gemm(m, n, k1, a, ars, acs, b, ldb, e, ldc, acc);
                    on_gemm(m, n, k - k1, a + k1 * acs, ars, acs, b + (size_t)k1 * ldb, ldb, e, ldc,
                            acc || k1 > 0);
                    same &= !memcmp(e, c, sizeof(float) * m * ldc);
                    CHECK(same, "gemm %dx%dx%d tr %d acc %d: other bits when cut in blocks", m, n,
                          k, tr, acc);
                    if (acc) { /* on_product_bias: C = bias + A B, the bits of C set to the
                                * bias, then added to (c0's first column as the bias) */
                        float *bias = malloc(sizeof(float) * m);
                        for (int i = 0; i < m; i++) bias[i] = c0[i * ldc];
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < ldc; j++)
                                e[i * ldc + j] = j < n ? bias[i] : c0[i * ldc + j];
                        /* eb: C, then (roff = m ldc further) the residual */
                        float *eb = malloc(sizeof(float) * 2 * m * ldc), *res = eb + m * ldc;
                        memcpy(eb, c0, sizeof(float) * m * ldc);
                        on_product(m, n, k, a, ars, acs, b, ldb, e, ldc, 1);
                        on_product_bias(m, n, k, a, ars, acs, b, ldb, bias, 0, NULL, eb, ldc);
                        CHECK(!memcmp(e, eb, sizeof(float) * m * ldc),
                              "product_bias %dx%dx%d tr %d: not the bits of the bias, then += A B",
                              m, n, k, tr);
                        /* plus a residual, then clamped to [lo, hi] as ReLU6 and hardtanh
                         * are: v > lo ? (v > hi ? hi : v) : lo, NaN giving lo */
                        const float cl[2] = {-0.25f, 0.5f};
                        bias[0] = NAN; /* row 0: NaN sums */
                        for (int i = 0; i < m * ldc; i++) res[i] = frand();
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < ldc; j++)
                                e[i * ldc + j] = j < n ? bias[i] : c0[i * ldc + j];
                        on_product(m, n, k, a, ars, acs, b, ldb, e, ldc, 1);
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++) {
                                float v = e[i * ldc + j] + res[i * ldc + j];
                                e[i * ldc + j] = v > cl[0] ? (v > cl[1] ? cl[1] : v) : cl[0];
                            }
                        memcpy(eb, c0, sizeof(float) * m * ldc);
                        on_product_bias(m, n, k, a, ars, acs, b, ldb, bias, m * ldc, cl, eb, ldc);
                        CHECK(!memcmp(e, eb, sizeof(float) * m * ldc),
                              "product_bias %dx%dx%d tr %d: not the bits of the residual and clamp",
                              m, n, k, tr);
                        free(eb);
                        free(bias);
                    }
                    if (wide) { /* the AVX2 kernel: the same bits */
                        memcpy(e, c0, sizeof(float) * m * ldc);
                        on_conv_variant = ON_CONV_NO_AVX512;
                        on_gemm(m, n, k, a, ars, acs, b, ldb, e, ldc, acc);
                        on_conv_variant = 0;
                        CHECK(!memcmp(e, c, sizeof(float) * m * ldc),
                              "gemm %dx%dx%d tr %d acc %d: AVX-512 and AVX2 kernels differ", m, n,
                              k, tr, acc);
                        compared++;
                    }
                    free(a);
                    free(b);
                    free(c);
                    free(c0);
                    free(e);
                }
    if (wide)
        printf("gemm: the AVX-512 kernel, the same bits as the AVX2 one in %d products\n",
               compared);
    else
        printf("gemm: the AVX2 kernel only (no AVX-512 on this CPU or in this build)\n");
}

/* Winograd F(2x2) at batch 1 on two threads, with U made block by block from the weights
 * where filters x channels >= 65536 (conv_winograd.c's products_fly): against the double
 * reference (check_case, also after the weights change), and the same bits as with the U
 * the node saves and as with U made eight filters a vector (ON_CONV_NO_AVX512; else
 * sixteen with AVX-512). Blocks of fewer filters than 32 (whole vectors of 16 and 8, single
 * ones), of channels short of 128; small images, to keep valgrind's run short. */
static const conv_case fly_cases[] = {
    {"input(3,2,512) conv2d(512,3,same)", 1, 1, 1, 0, 0, 0},
    {"input(4,4,256) conv2d(256,3,same)", 1, 1, 1, 0, 0, 0},
    {"input(4,5,520) conv2d(510,3,same)", 1, 1, 1, 0, 0, 0},
    {"input(5,3,600) conv2d(445,3,padding=(2,0))", 2, 0, 1, 0, 0, 0},
};

/* The output of spec's layer at batch 1 with on_conv_variant v against the default's (with
 * ON_CONV_AB, compiled for both): the same bits */
static void variant_bits(const char *spec, int v, const char *what) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    on_conv_variant = ON_CONV_AB;
    if (!m || on_model_compile(m, 1, &err)) {
        CHECK(0, "%s: %s", spec, err.msg);
        on_model_free(m);
        on_conv_variant = 0;
        return;
    }
    on_model_init(m, 5);
    size_t xl = on_shape_size(on_model_node_shape(m, 0)),
           yl = on_shape_size(on_model_output_shape(m));
    float *x = malloc(sizeof(float) * xl), *y = malloc(sizeof(float) * yl);
    for (size_t i = 0; i < xl; i++) x[i] = frand();
    on_conv_variant = ON_CONV_AB | v;
    on_model_forward(m, x, 1, 0);
    memcpy(y, on_model_output(m), sizeof(float) * yl);
    on_conv_variant = ON_CONV_AB;
    on_model_forward(m, x, 1, 0);
    CHECK(!memcmp(y, on_model_output(m), sizeof(float) * yl), "%s: %s changes the output", spec,
          what);
    free(x);
    free(y);
    on_model_free(m);
    on_conv_variant = 0;
}

/* 1x1 convolutions at batch 1 on two threads, split by output rows where the input is larger
 * than the weights (conv.c's pw_by_rows: an odd number of rows here), else by filters (in
 * units, or each thread's share whole where the matrix has more than 131072 floats: conv.c's
 * whole_shares, 704 x 196 here, and im2col's 1152 x 196 of the 3x3 stride-2 case): against
 * the double reference, and the same bits either way */
static const conv_case pw_cases[] = {
    {"input(9,7,16) conv2d(8,1)", 0, 0, 1, 0, 0, 0},
    {"input(3,2,8) conv2d(12,1)", 0, 0, 1, 0, 0, 0},
    {"input(14,14,704) conv2d(200,1)", 0, 0, 1, 0, 0, 0},
    {"input(28,28,128) conv2d(200,3,stride=2,padding=1)", 1, 1, 2, 0, 0, 0},
};

int main(void) {
    on_set_threads(2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int n = 1; n <= 3; n += 2) check_case(&cases[i], n); /* 1: threads share it */
    for (size_t i = 0; i < sizeof grouped / sizeof grouped[0]; i++) {
        check_case(&grouped[i], 5);
        thread_count_bits(grouped[i].spec, 5);
    }
    /* the kernels the default choice no longer takes for these shapes, held to the same
     * reference: one sample per product, thin products' columns in the lanes, each thread
     * its static share of the samples; no Winograd (tap by tap); neither (im2col, and at stride 2
     * with 1-3 channels); every product by OpenBLAS (Winograd's, and im2col's where gemm.c's
     * AVX-512 kernel takes them by default), with and without groups of samples */
    const int variants[] = {ON_CONV_NO_GROUP | ON_CONV_NO_LANES | ON_CONV_STATIC_SPLIT |
                                ON_CONV_BLAS_PRODUCTS | ON_CONV_NO_DIRECT2,
                            ON_CONV_NO_WINO, ON_CONV_NO_WINO | ON_CONV_NO_TAPS | ON_CONV_NO_DIRECT2,
                            ON_CONV_BLAS_PRODUCTS};
    for (int v = 0; v < 4; v++) {
        on_conv_variant = ON_CONV_AB | variants[v];
        for (size_t i = 0; i < 14; i++) check_case(&cases[i], 3); /* the G = 1 cases */
        for (size_t i = 0; i < sizeof grouped / sizeof grouped[0]; i++) check_case(&grouped[i], 5);
    }
    /* one input channel, 1x1: the input gradient's product has K = 1, where A as written
     * and A^T both have strides of 1 (OpenBLAS refused the lda on_product first gave it) */
    static const conv_case one = {"input(5,5,1) conv2d(2,1)", 0, 0, 1, 0, 0, 0};
    on_conv_variant = ON_CONV_AB | ON_CONV_BLAS_PRODUCTS;
    check_case(&one, 3);
    on_conv_variant = 0;
    check_case(&one, 3);
    direct_wide_bits();
    queue_bits();
    unit_queue_bits();
    merge_chain();
    clamp_chain();
    rng = 11; /* the draws of random_cases, whatever the tests before it took */
    random_cases();
    /* the same shapes by im2col, which the small Winograd ones took before gemm.c */
    on_conv_variant = ON_CONV_AB | ON_CONV_NO_WINO | ON_CONV_NO_TAPS;
    rng = 7;
    random_cases();
    on_conv_variant = 0;
    uint64_t dw_draws = rng;
    random_depthwise();
    /* the same shapes by conv_depthwise.c's own forward, which conv_dw_lanes.c's takes the
     * place of */
    on_conv_variant = ON_CONV_NO_DW_LANES;
    rng = dw_draws;
    random_depthwise();
    on_conv_variant = 0;
    dw_lanes_bits();
    wino4_cases();
    wino4c_cases();
    gemm_cases();
    for (size_t i = 0; i < sizeof fly_cases / sizeof fly_cases[0]; i++) {
        check_case(&fly_cases[i], 1);
        variant_bits(fly_cases[i].spec, ON_CONV_SAVED_U, "U saved, not made on the fly,");
        variant_bits(fly_cases[i].spec, ON_CONV_NO_AVX512, "U made eight filters a vector");
        /* one thread makes U on the fly too: the same bits as two (held to the reference
         * above) and as the saved U */
        thread_count_bits(fly_cases[i].spec, 1);
        on_set_threads(1);
        variant_bits(fly_cases[i].spec, ON_CONV_SAVED_U,
                     "one thread, U saved, not made on the fly,");
        on_set_threads(2);
    }
    for (size_t i = 0; i < sizeof pw_cases / sizeof pw_cases[0]; i++) {
        check_case(&pw_cases[i], 1);
        variant_bits(pw_cases[i].spec, ON_CONV_PW_BY_FILTERS, "the split by filters");
    }
    pool_backward_after_inference();
    pool_through_declared_output();
    chain_slots();
    in_place_bits();
    wino_group_bits();
    return check_done();
}
