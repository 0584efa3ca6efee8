/* test_noise.c - the training-only noise layers in train mode, where no golden data can
 * reach (their draws are ordnet's own): spatial dropout drops whole (sample, channel)
 * planes at its rate and scales the rest by 1/(1-rate); Gaussian noise adds N(0, stddev^2);
 * Gaussian dropout multiplies by N(1, rate/(1-rate)). Each is the identity at eval time,
 * draws the same numbers for the same step whatever the thread count or batch size, and
 * its backward uses the forward's draws. Bad arguments of the round-2 layers are refused. */
#include "check.h"
#include "ordnet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 4242;
static float frand(void) { /* uniform in [-1,1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

typedef struct run {
    on_model *m;
    int n;
    size_t len; /* floats in n samples */
    float *x, *y, *dx;
} run;

/* Build spec for batch n, inputs in [1,3), forward (train) and backward with dy = 1. */
static int start(run *r, const char *spec, int n) {
    on_error err;
    memset(r, 0, sizeof *r);
    r->m = on_model_from_spec(spec, &err);
    if (r->m) on_model_want_input_grad(r->m, 1);
    if (!r->m || on_model_compile(r->m, n, &err)) {
        CHECK(0, "%s: %s", spec, err.msg);
        on_model_free(r->m);
        return -1;
    }
    r->n = n;
    r->len = (size_t)n * on_shape_size(on_model_node_shape(r->m, 0));
    r->x = malloc(sizeof(float) * r->len);
    r->y = malloc(sizeof(float) * r->len);
    r->dx = malloc(sizeof(float) * r->len);
    for (size_t i = 0; i < r->len; i++) r->x[i] = frand() + 2;
    return 0;
}

/* forward in mode train at step, keeping y; then the input gradient for dy = 1 in dx */
static void pass(run *r, int n, int train, uint64_t step) {
    float *ones = malloc(sizeof(float) * r->len);
    for (size_t i = 0; i < r->len; i++) ones[i] = 1;
    on_model_set_step(r->m, step);
    on_model_forward(r->m, r->x, n, train);
    size_t len = r->len / (size_t)r->n * (size_t)n;
    memcpy(r->y, on_model_output(r->m), sizeof(float) * len);
    on_model_set_output_grad(r->m, ones);
    on_model_zero_grad(r->m);
    on_model_backward(r->m);
    memcpy(r->dx, on_model_input_grad(r->m), sizeof(float) * len);
    free(ones);
}

static void finish(run *r) {
    on_model_free(r->m);
    free(r->x);
    free(r->y);
    free(r->dx);
}

/* The same output again for: the same step with 1 thread, and the first 3 samples alone. */
static void check_repeatable(run *r, const char *what) {
    float *y = malloc(sizeof(float) * r->len), *dx = malloc(sizeof(float) * r->len);
    memcpy(y, r->y, sizeof(float) * r->len);
    memcpy(dx, r->dx, sizeof(float) * r->len);
    on_set_threads(1);
    pass(r, r->n, 1, 7);
    CHECK(!memcmp(y, r->y, sizeof(float) * r->len) && !memcmp(dx, r->dx, sizeof(float) * r->len),
          "%s: the same draws with 1 thread as with 2", what);
    on_set_threads(2);
    pass(r, 3, 1, 7);
    size_t part = r->len / (size_t)r->n * 3;
    CHECK(!memcmp(y, r->y, sizeof(float) * part), "%s: a batch of 3 draws what the batch did",
          what);
    pass(r, r->n, 1, 8);
    CHECK(memcmp(y, r->y, sizeof(float) * r->len), "%s: the next step draws again", what);
    pass(r, r->n, 0, 7);
    CHECK(!memcmp(r->x, r->y, sizeof(float) * r->len), "%s: the identity at eval time", what);
    int ones = 1;
    for (size_t i = 0; i < r->len; i++) ones &= r->dx[i] == 1;
    CHECK(ones, "%s: eval backward passes the gradient", what);
    free(y);
    free(dx);
}

/* planes of `plane` floats: each all zero or all x * 1/(1-rate), dx the same factor */
static void check_spatial(const char *spec, int n, size_t plane, float rate) {
    run r;
    if (start(&r, spec, n)) return;
    pass(&r, n, 1, 7);
    float scale = 1.0f / (1.0f - rate);
    size_t planes = r.len / plane;
    int dropped = 0, whole = 1;
    for (size_t p = 0; p < planes; p++) {
        int drop = r.y[p * plane] == 0;
        dropped += drop;
        for (size_t j = p * plane; j < (p + 1) * plane; j++)
            whole &=
                drop ? r.y[j] == 0 && r.dx[j] == 0 : r.y[j] == r.x[j] * scale && r.dx[j] == scale;
    }
    double want = rate * (double)planes, sd = sqrt(planes * rate * (1 - rate));
    CHECK(whole,
          "%s: every plane dropped whole or kept and scaled by 1/(1-rate), and its "
          "gradient with it",
          spec);
    CHECK(fabs(dropped - want) < 4 * sd, "%s: %d of %zu planes dropped, expected %.0f +- %.0f",
          spec, dropped, planes, want, sd);
    check_repeatable(&r, spec);
    finish(&r);
}

/* moments of the noise: mean, standard deviation, fraction within one sd, fraction < 0 */
static void moments(const double *v, size_t n, double mean0, double sd0, double *mean, double *sd,
                    double *in1, double *neg) {
    double s = 0, s2 = 0;
    size_t inside = 0, below = 0;
    for (size_t i = 0; i < n; i++) {
        s += v[i];
        inside += fabs(v[i] - mean0) < sd0;
        below += v[i] < 0;
    }
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) s2 += (v[i] - *mean) * (v[i] - *mean);
    *sd = sqrt(s2 / (double)(n - 1));
    *in1 = (double)inside / (double)n;
    *neg = (double)below / (double)n;
}

static void check_gaussian_noise(void) {
    const char *spec = "input(20,25,2) gaussian_noise(0.5)"; /* 1000 per sample */
    run r;
    if (start(&r, spec, 8)) return;
    pass(&r, 8, 1, 7);
    double *e = calloc(r.len, sizeof(double)), mean, sd, in1, neg;
    int ones = 1;
    for (size_t i = 0; i < r.len; i++) {
        e[i] = (double)r.y[i] - r.x[i];
        ones &= r.dx[i] == 1;
    }
    moments(e, r.len, 0, 0.5, &mean, &sd, &in1, &neg);
    /* 8000 draws: the mean's sd is 0.0056, the sd's 0.004, a fraction's 0.005 */
    CHECK(fabs(mean) < 0.025 && fabs(sd - 0.5) < 0.02, "%s: noise mean %.4f sd %.4f", spec, mean,
          sd);
    CHECK(fabs(in1 - 0.6827) < 0.025, "%s: %.3f of the noise within one sd (normal: 0.683)", spec,
          in1);
    CHECK(ones, "%s: dy/dx = 1 in training", spec);
    check_repeatable(&r, spec);
    free(e);
    finish(&r);
}

static void check_gaussian_dropout(void) {
    const char *spec = "input(1000) gaussian_dropout(0.2)"; /* factor sd sqrt(0.2/0.8) = 0.5 */
    run r;
    if (start(&r, spec, 8)) return;
    pass(&r, 8, 1, 7);
    double *m = calloc(r.len, sizeof(double)), mean, sd, in1, neg;
    int same = 1;
    for (size_t i = 0; i < r.len; i++) {
        m[i] = (double)r.dx[i]; /* dy = 1: the factor itself */
        same &= r.x[i] * r.dx[i] == r.y[i];
    }
    moments(m, r.len, 1, 0.5, &mean, &sd, &in1, &neg);
    CHECK(same, "%s: the backward multiplies by the forward's factors", spec);
    CHECK(fabs(mean - 1) < 0.025 && fabs(sd - 0.5) < 0.02, "%s: factor mean %.4f sd %.4f", spec,
          mean, sd);
    /* P(m < 0) = P(z < -2) = 0.0228 */
    CHECK(fabs(in1 - 0.6827) < 0.025 && fabs(neg - 0.0228) < 0.008,
          "%s: %.3f of the factors within one sd, %.4f below 0 (normal: 0.683, 0.0228)", spec, in1,
          neg);
    check_repeatable(&r, spec);
    free(m);
    finish(&r);
}

static void check_errors(void) {
    const char *bad[][2] = {
        {"input(5,5,2) gaussian_dropout(1)", "rate must be in [0,1)"},
        {"input(5,5,2) gaussian_noise(-1)", "stddev must be finite and >= 0"},
        {"input(5,5,2) spatial_dropout2d(1.5)", "rate must be in [0,1]"},
        {"input(5,2) spatial_dropout2d", "needs"},
        {"input(10) spatial_dropout1d", "needs"},
        {"input(10) rescaling(inf)", "scale and offset must be finite"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        on_error err = {{0}};
        on_model *m = on_model_from_spec(bad[i][0], &err);
        CHECK(!m && strstr(err.msg, bad[i][1]), "%s: refused with '%s' (got '%s')", bad[i][0],
              bad[i][1], m ? "no error" : err.msg);
        on_model_free(m);
    }
}

/* After a convolution, training runs a noise layer sample by sample while the convolution's
 * output is in cache (a per-sample chain): it must draw what it draws on the whole batch. */
static void check_chain(const char *noise) {
    char sa[160], sb[160];
    snprintf(sa, sizeof sa, "input(6,6,2) conv2d(4,3,same,name=c) %s", noise);
    snprintf(sb, sizeof sb, "input(6,6,4) %s", noise);
    on_error err;
    on_model *a = on_model_from_spec(sa, &err), *b = on_model_from_spec(sb, &err),
             *c = on_model_from_spec("input(6,6,2) conv2d(4,3,same,name=c)", &err);
    int ok = a && b && c && !on_model_compile(a, 8, &err) && !on_model_compile(b, 8, &err) &&
             !on_model_compile(c, 8, &err);
    CHECK(ok, "%s: build: %s", sa, err.msg);
    if (ok) {
        on_model_init(a, 3), on_model_init(b, 3), on_model_init(c, 3); /* same names, same draws */
        float x[8 * 72], yc[8 * 144];
        for (int i = 0; i < 8 * 72; i++) x[i] = frand();
        on_model_forward(c, x, 8, 1);
        memcpy(yc, on_model_output(c), sizeof yc);
        on_model_set_step(a, 5), on_model_set_step(b, 5);
        on_model_forward(a, x, 8, 1);
        on_model_forward(b, yc, 8, 1);
        CHECK(!memcmp(on_model_output(a), on_model_output(b), sizeof yc) &&
                  memcmp(on_model_output(b), yc, sizeof yc),
              "%s: after a convolution (sample by sample) the same draws as on the batch", noise);
    }
    on_model_free(a);
    on_model_free(b);
    on_model_free(c);
}

int main(void) {
    on_set_threads(2);
    /* 2-D: 40 samples x 10 channels of 6x5; 1-D: 50 samples x 8 channels of length 12 */
    check_spatial("input(6,5,10) spatial_dropout2d(0.3)", 40, 30, 0.3f);
    check_spatial("input(12,8) spatial_dropout(0.6)", 50, 12, 0.6f);
    check_gaussian_noise();
    check_gaussian_dropout();
    check_errors();
    check_chain("spatial_dropout2d(0.5,name=d)");
    check_chain("gaussian_noise(0.5,name=d)");
    check_chain("gaussian_dropout(0.3,name=d)");
    return check_done();
}
