/* test_augment.c - Keras's preprocessing layers: normalization with given statistics and the
 * random augmentation layers (random_flip, random_translation, random_rotation, random_zoom,
 * random_contrast).
 *
 * What is checked, beside the registry-wide gradient check (test_gradcheck.c) and the
 * golden cases (test_golden.c): outputs against direct references computed here (flips and
 * integer shifts bit for bit), the identity at inference, properties of one draw (a flip
 * twice is the identity, shifts and rotations by 0 are exact, contrast 1 is the identity),
 * the backward as the exact adjoint of the forward's transform (<F x, r> = <x, F' r>), the
 * draws' reproducibility and spread, argument parsing and errors, and the bilinear sampler
 * against PyTorch/numpy golden data with fixed transforms (tests/golden/warp/).
 */
#include "check.h"
#include "graph.h"
#include "io/safetensors.h"
#include "ops/warp.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 77;
static float frand(void) { /* uniform in [-1,1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2 - 1;
}

static on_model *build(const char *spec, int batch) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m) on_model_want_input_grad(m, 1);
    if (!m || on_model_compile(m, batch, &err)) {
        printf("build '%s': %s\n", spec, err.msg);
        on_model_free(m);
        return NULL;
    }
    on_model_init(m, 1);
    return m;
}

static float *randoms(size_t n, float scale) {
    float *v = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) v[i] = scale * frand();
    return v;
}

/* The spec's error message contains want. */
static int error_has(const char *spec, const char *want) {
    on_error err = {{0}};
    on_model *m = on_model_from_spec(spec, &err);
    on_model_free(m);
    int ok = !m && strstr(err.msg, want);
    if (!ok) printf("  %s -> '%s'\n", spec, m ? "(no error)" : err.msg);
    return ok;
}

/* on_model_to_spec of spec's model contains want (and not reject, when given), and reads
 * back as the same layers. */
static int round_trips(const char *spec, const char *want, const char *reject) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (!m) {
        printf("  %s: %s\n", spec, err.msg);
        return 0;
    }
    char *text = on_model_to_spec(m);
    on_model *back = text ? on_model_from_spec(text, &err) : NULL;
    int ok = text && strstr(text, want) && (!reject || !strstr(text, reject)) && back &&
             on_model_num_nodes(back) == on_model_num_nodes(m);
    for (int i = 1; ok && i < on_model_num_nodes(m); i++)
        ok = on_attrs_equal(&m->nodes[i].a, &back->nodes[i].a);
    if (!ok) printf("  %s -> '%s'\n", spec, text ? text : "(null)");
    free(text);
    on_model_free(m);
    on_model_free(back);
    return ok;
}

/* --- normalization ----------------------------------------------------------------- */

static float keras_divisor(float var) {
    float s = sqrtf(var);
    return s < 1e-7f ? 1e-7f : s;
}

static void test_normalization(void) {
    int n = 3;
    on_model *m = build("input(4,5,3) normalization", n);
    if (!m) return;
    CHECK(on_model_num_params(m) == 0, "no trainable parameters");
    int tm = on_model_tensor_find(m, "normalization.mean");
    int tv = on_model_tensor_find(m, "normalization.variance");
    int tc = on_model_tensor_find(m, "normalization.count");
    CHECK(tm >= 0 && tv >= 0 && tc >= 0 && on_model_tensor_size(m, tm) == 3 &&
              on_model_tensor_size(m, tv) == 3 && on_model_tensor_size(m, tc) == 1,
          "mean, variance (C each) and count (1): Keras's 2C+1");
    CHECK(tm >= 0 && !on_model_tensor_grad(m, tm), "the statistics are state, not trained");
    if (tm < 0 || tv < 0) return;
    float mean[3] = {0.5f, -2.0f, 0.0f}, var[3] = {4.0f, 0.25f, 0.0f}; /* 0: Keras's epsilon */
    memcpy(on_model_tensor_data(m, tm), mean, sizeof mean);
    memcpy(on_model_tensor_data(m, tv), var, sizeof var);
    size_t S = 20, len = (size_t)n * 3 * S;
    float *x = randoms(len, 3), *dy = randoms(len, 1);
    for (int train = 0; train < 2; train++) {
        on_model_forward(m, x, n, train);
        const float *y = on_model_output(m);
        int exact = 1;
        for (size_t i = 0; i < len; i++) {
            int ch = (int)(i / S % 3);
            exact &= y[i] == (x[i] - mean[ch]) / keras_divisor(var[ch]);
        }
        CHECK(exact, "(x - mean) / max(sqrt(var), 1e-7) bit for bit (train %d)", train);
        on_model_set_output_grad(m, dy);
        on_model_backward(m);
        const float *dx = on_model_input_grad(m);
        exact = 1;
        for (size_t i = 0; i < len; i++) exact &= dx[i] == dy[i] / keras_divisor(var[i / S % 3]);
        CHECK(exact, "dx = dy / max(sqrt(var), eps) (train %d)", train);
    }
    on_model_free(m);

    /* invert: mean + x * max(sqrt(var), eps); on a flat (C) sample */
    m = build("input(3) normalization(invert=1)", n);
    if (!m) return;
    tm = on_model_tensor_find(m, "normalization.mean");
    tv = on_model_tensor_find(m, "normalization.variance");
    memcpy(on_model_tensor_data(m, tm), mean, sizeof mean);
    memcpy(on_model_tensor_data(m, tv), var, sizeof var);
    on_model_forward(m, x, n, ON_EVAL);
    const float *y = on_model_output(m);
    int exact = 1;
    for (int i = 0; i < 3 * n; i++) exact &= y[i] == mean[i % 3] + x[i] * keras_divisor(var[i % 3]);
    CHECK(exact, "invert: mean + x * max(sqrt(var), eps)");
    on_model_free(m);
    free(x);
    free(dy);

    CHECK(round_trips("input(4,5,3) normalization(invert=1)", "normalization(1)", NULL),
          "invert round-trips");
    CHECK(error_has("input(4,5,3) normalization(invert=2)", "bad value 2 for 'invert'"),
          "invert is a boolean");
}

/* --- random flip --------------------------------------------------------------------- */

/* y == x flipped (rows when fv, columns when fh), bit for bit, for one (C,H,W) sample */
static int is_flip(const float *x, const float *y, on_shape s, int fh, int fv) {
    for (int c = 0; c < s.c; c++)
        for (int i = 0; i < s.h; i++)
            for (int j = 0; j < s.w; j++) {
                int si = fv ? s.h - 1 - i : i, sj = fh ? s.w - 1 - j : j;
                if (y[((size_t)c * s.h + i) * s.w + j] != x[((size_t)c * s.h + si) * s.w + sj])
                    return 0;
            }
    return 1;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Runs the model's train forward at step `step` and checks the backward is the adjoint of
 * the map applied: <F x, r> = <x, F' r> (F is linear in x for every draw here, up to a
 * constant fill that shifts both sides equally, so the check uses F x - F 0). */
static double adjoint_error(on_model *m, const float *x, int n, uint64_t step) {
    on_shape s = on_model_node_shape(m, 0);
    size_t len = (size_t)n * on_shape_size(s),
           olen = (size_t)n * on_shape_size(on_model_output_shape(m));
    float *r = randoms(olen, 1), *zero = calloc(len, sizeof(float));
    float *y0 = malloc(sizeof(float) * olen);
    on_model_set_step(m, step);
    on_model_forward(m, zero, n, ON_TRAIN);
    memcpy(y0, on_model_output(m), sizeof(float) * olen);
    on_model_set_step(m, step);
    on_model_forward(m, x, n, ON_TRAIN);
    const float *y = on_model_output(m);
    double lhs = 0, scale = 0;
    for (size_t i = 0; i < olen; i++) {
        lhs += ((double)y[i] - y0[i]) * r[i];
        scale += fabs(((double)y[i] - y0[i]) * r[i]);
    }
    on_model_set_output_grad(m, r);
    on_model_backward(m);
    double rhs = dot(x, on_model_input_grad(m), len);
    free(r);
    free(zero);
    free(y0);
    return fabs(lhs - rhs) / (scale + 1e-30);
}

static void test_flip(void) {
    const int n = 64;
    const char *specs[3] = {"input(5,6,2) random_flip(horizontal)",
                            "input(5,6,2) random_flip(mode=vertical,seed=3)",
                            "input(5,6,2) random_flip"};
    for (int k = 0; k < 3; k++) {
        int mode = k + 1; /* ON_FLIP_HORIZONTAL, _VERTICAL, _BOTH */
        on_model *m = build(specs[k], n);
        if (!m) continue;
        on_shape s = on_model_node_shape(m, 0);
        size_t S = on_shape_size(s), len = (size_t)n * S;
        float *x = randoms(len, 2);
        on_model_forward(m, x, n, ON_EVAL);
        CHECK(!memcmp(on_model_output(m), x, sizeof(float) * len), "%s: eval is the identity",
              specs[k]);
        on_model_set_step(m, 5);
        on_model_forward(m, x, n, ON_TRAIN);
        float *y = malloc(sizeof(float) * len);
        memcpy(y, on_model_output(m), sizeof(float) * len);
        int all = 1, count[4] = {0};
        for (int i = 0; i < n; i++) {
            int found = -1;
            for (int f = 0; f < 4 && found < 0; f++)
                if ((f & ~mode) == 0 && is_flip(x + i * S, y + i * S, s, f & 1, (f & 2) != 0))
                    found = f;
            all &= found >= 0;
            if (found >= 0) count[found]++;
        }
        CHECK(all, "%s: every sample is one of the mode's flips, bit for bit", specs[k]);
        /* each allowed outcome has probability 1/2 or 1/4: 64 samples see every one of them
         * at least 6 times (a bound the binomial misses with probability < 1e-4) */
        for (int f = 0; f < 4; f++)
            if ((f & ~mode) == 0)
                CHECK(count[f] >= 6, "%s: outcome %d drawn %d times of %d", specs[k], f, count[f],
                      n);
        /* the same step draws the same flips; another step other ones */
        on_model_set_step(m, 5);
        on_model_forward(m, x, n, ON_TRAIN);
        CHECK(!memcmp(on_model_output(m), y, sizeof(float) * len), "%s: same step, same flips",
              specs[k]);
        on_model_set_step(m, 6);
        on_model_forward(m, x, n, ON_TRAIN);
        CHECK(memcmp(on_model_output(m), y, sizeof(float) * len), "%s: next step, other flips",
              specs[k]);
        double e = adjoint_error(m, x, n, 9);
        CHECK(e < 1e-12, "%s: backward is the adjoint (error %.1e)", specs[k], e);
        free(x);
        free(y);
        on_model_free(m);
    }
    /* one draw applied twice is the identity: the op called twice with the same stream */
    const on_op *op = on_op_find("random_flip");
    on_attrs a = on_attrs_default(op);
    on_shape s = {3, 2, 4, 5};
    size_t len = 8 * on_shape_size(s);
    float *x = randoms(len, 1), *y = malloc(sizeof(float) * len), *z = malloc(sizeof(float) * len);
    on_call c = {.a = &a, .n = 8, .xs = s, .ys = s, .train = 1, .key = 42, .step = 7, .threads = 1};
    c.x = x;
    c.y = y;
    op->forward(&c);
    c.x = y;
    c.y = z;
    op->forward(&c);
    CHECK(!memcmp(x, z, sizeof(float) * len), "a flip twice with the same draw is the identity");
    free(x);
    free(y);
    free(z);

    CHECK(round_trips("input(5,6,2) random_flip(vertical,seed=4)", "random_flip(vertical,4)", NULL),
          "flip round-trips");
    CHECK(round_trips("input(5,6,2) random_flip(horizontal_and_vertical)", "random_flip",
                      "random_flip("),
          "the default mode prints nothing");
    CHECK(error_has("input(5,6,2) random_flip(sideways)", "bad value 'sideways' for 'mode'"),
          "bad mode");
    CHECK(error_has("input(6,2) random_flip", "needs a 2-D input (C,H,W)"), "1-D input refused");
}

/* --- translation, rotation, zoom ---------------------------------------------------- */

/* TF's fill modes for a whole-number coordinate i of an axis of n (wrap: for |shift| < n-1,
 * where TF's formula is the plain modulo); -1: outside (constant) */
static int fill_index(int i, int n, int fill) {
    if (i >= 0 && i < n) return i;
    if (fill == ON_FILL_REFLECT) return i < 0 ? -i - 1 : 2 * n - i - 1;
    if (fill == ON_FILL_WRAP) return ((i % n) + n) % n;
    if (fill == ON_FILL_NEAREST) return i < 0 ? 0 : n - 1;
    return -1;
}

static const char *const fills[4] = {"reflect", "wrap", "constant", "nearest"};

/* Shifts by whole pixels are exact: 2 rows down and 1 column left (0.4 x 5 and -0.2 x 5 are
 * 2 and -1 in float), each fill mode, both interpolations, against a direct reference. */
static void test_translation_exact(void) {
    const int n = 3;
    for (int fill = 0; fill < 4; fill++)
        for (int interp = 0; interp < 2; interp++) {
            char spec[200];
            snprintf(spec, sizeof spec,
                     "input(5,5,2) random_translation((0.4,0.4),(-0.2,-0.2),fill_mode=%s,"
                     "interpolation=%s,fill_value=0.5)",
                     fills[fill], interp ? "bilinear" : "nearest");
            on_model *m = build(spec, n);
            if (!m) continue;
            on_shape s = on_model_node_shape(m, 0);
            size_t S = on_shape_size(s);
            float *x = randoms(n * S, 3);
            on_model_forward(m, x, n, ON_TRAIN);
            const float *y = on_model_output(m);
            int exact = 1;
            for (int i = 0; i < n; i++)
                for (int c = 0; c < 2; c++)
                    for (int r = 0; r < 5; r++)
                        for (int q = 0; q < 5; q++) {
                            int sr = fill_index(r - 2, 5, fill), sq = fill_index(q + 1, 5, fill);
                            float want =
                                sr < 0 || sq < 0 ? 0.5f : x[i * S + (size_t)(c * 5 + sr) * 5 + sq];
                            exact &= y[i * S + (size_t)(c * 5 + r) * 5 + q] == want;
                        }
            CHECK(exact, "%s: a whole-pixel shift, bit for bit", spec);
            double e = adjoint_error(m, x, n, 3);
            /* float sums where several outputs read one input (the fill modes) */
            CHECK(e < 1e-6, "%s: backward is the adjoint (error %.1e)", spec, e);
            free(x);
            on_model_free(m);
        }
}

/* Factors of 0 give the identity bit for bit (rotation by 0, zoom 1, shift 0), and every
 * layer is the identity in eval mode whatever its factors. */
static void test_affine_identities(void) {
    const char *zero[] = {"input(6,7,3) random_translation(0,0)", "input(6,7,3) random_rotation(0)",
                          "input(6,7,3) random_zoom(0)", "input(6,7,3) random_zoom(0,0,nearest)",
                          "input(6,7,3) random_rotation(0,constant,nearest)"};
    const char *any[] = {"input(6,7,3) random_translation(0.3,(-0.5,0.2),wrap)",
                         "input(6,7,3) random_rotation(0.4)",
                         "input(6,7,3) random_zoom((-0.5,0.3),0.2,constant)"};
    const int n = 4;
    for (size_t k = 0; k < sizeof zero / sizeof *zero; k++) {
        on_model *m = build(zero[k], n);
        if (!m) continue;
        size_t len = n * on_shape_size(on_model_node_shape(m, 0));
        float *x = randoms(len, 2);
        on_model_forward(m, x, n, ON_TRAIN);
        CHECK(!memcmp(on_model_output(m), x, sizeof(float) * len), "%s: the identity in training",
              zero[k]);
        free(x);
        on_model_free(m);
    }
    for (size_t k = 0; k < sizeof any / sizeof *any; k++) {
        on_model *m = build(any[k], n);
        if (!m) continue;
        size_t S = on_shape_size(on_model_node_shape(m, 0));
        float *x = randoms(n * S, 2);
        on_model_forward(m, x, n, ON_EVAL);
        CHECK(!memcmp(on_model_output(m), x, sizeof(float) * n * S), "%s: eval is the identity",
              any[k]);
        /* training: one map per image (the same image twice comes out two ways), the same
         * maps again at the same step, other ones at the next */
        memcpy(x + S, x, sizeof(float) * S);
        on_model_set_step(m, 11);
        on_model_forward(m, x, n, ON_TRAIN);
        float *y = malloc(sizeof(float) * n * S);
        memcpy(y, on_model_output(m), sizeof(float) * n * S);
        CHECK(memcmp(y, y + S, sizeof(float) * S), "%s: a map per image", any[k]);
        on_model_set_step(m, 11);
        on_model_forward(m, x, n, ON_TRAIN);
        CHECK(!memcmp(on_model_output(m), y, sizeof(float) * n * S), "%s: same step, same maps",
              any[k]);
        on_model_set_step(m, 12);
        on_model_forward(m, x, n, ON_TRAIN);
        CHECK(memcmp(on_model_output(m), y, sizeof(float) * n * S), "%s: next step, other maps",
              any[k]);
        double e = adjoint_error(m, x, n, 4);
        CHECK(e < 1e-6, "%s: backward is the adjoint (error %.1e)", any[k], e);
        free(x);
        free(y);
        on_model_free(m);
    }
}

/* Directions as Keras's: a quarter turn (factor 0.25) is counter-clockwise, y[r][q] =
 * x[q][N-1-r] (up to cos(pi/2) != 0 in float); zoom out by 1.5 about the center keeps the
 * center and reads (1.5 (q - 3) + 3) at column q. */
static void test_affine_directions(void) {
    on_model *m = build("input(5,5,1) random_rotation((0.25,0.25),constant)", 1);
    if (m) {
        float x[25], err = 0;
        for (int i = 0; i < 25; i++) x[i] = (float)i;
        on_model_forward(m, x, 1, ON_TRAIN);
        const float *y = on_model_output(m);
        for (int r = 0; r < 5; r++)
            for (int q = 0; q < 5; q++) err = fmaxf(err, fabsf(y[r * 5 + q] - x[q * 5 + 4 - r]));
        CHECK(err < 1e-4f, "a quarter turn is counter-clockwise (error %g)", err);
        on_model_free(m);
    }
    m = build("input(7,7,1) random_zoom((0.5,0.5),(0.5,0.5),constant)", 1);
    if (m) {
        float x[49];
        for (int i = 0; i < 49; i++) x[i] = (float)(i % 7); /* the column index */
        on_model_forward(m, x, 1, ON_TRAIN);
        const float *y = on_model_output(m);
        int ok = 1;
        for (int q = 0; q < 7; q++) { /* row 3 reads row 3; column q reads 1.5 (q-3) + 3 */
            float c = 1.5f * (q - 3) + 3;
            float want = c < 0 || c > 6 ? 0 : c; /* constant 0 beyond; c - floor weights */
            if (c > 5 && c < 6) want = c;        /* between columns 5 and 6: interpolated */
            ok &= fabsf(y[3 * 7 + q] - want) < 1e-5f;
        }
        CHECK(ok, "zoom factor 0.5 zooms out about the center");
        on_model_free(m);
    }
}

/* The sampler against the golden maps (tests/golden/warp/, from golden/gen.py). */
static void test_warp_golden(void) {
    DIR *d = opendir("golden/warp");
    CHECK(d != NULL, "golden/warp exists (run from tests/)");
    if (!d) return;
    int cases = 0;
    double worst = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".safetensors")) continue;
        char path[512];
        snprintf(path, sizeof path, "golden/warp/%s", e->d_name);
        on_error err;
        on_st_file *f = on_st_read(path, &err);
        CHECK(f != NULL, "%s: %s", path, f ? "" : err.msg);
        if (!f) continue;
        int nd;
        int64_t dims[ON_ST_MAX_DIMS];
        const float *x = on_st_find_f32(f, "x", &nd, dims), *t = on_st_find_f32(f, "t", NULL, NULL);
        const float *dy = on_st_find_f32(f, "dy", NULL, NULL),
                    *y = on_st_find_f32(f, "y", NULL, NULL);
        const float *dx = on_st_find_f32(f, "dx", NULL, NULL);
        const char *fill = on_st_meta(f, "fill"), *interp = on_st_meta(f, "interp");
        const char *fv = on_st_meta(f, "fill_value");
        if (!x || !t || !dy || !y || !dx || !fill || !interp || !fv || nd != 3) {
            CHECK(0, "%s: incomplete", path);
            on_st_free(f);
            continue;
        }
        on_warp w = {.interp = strcmp(interp, "nearest") ? ON_RESIZE_LINEAR : ON_RESIZE_NEAREST,
                     .fill_value = strtof(fv, NULL)};
        for (int k = 0; k < 4; k++)
            if (!strcmp(fill, fills[k])) w.fill = k;
        memcpy(w.t, t, sizeof w.t);
        on_shape s = {3, (int)dims[0], (int)dims[1], (int)dims[2]};
        size_t len = on_shape_size(s);
        float *got = malloc(sizeof(float) * len), *gdx = malloc(sizeof(float) * len);
        on_warp_forward(&w, s, x, got);
        on_warp_backward(&w, s, dy, gdx);
        double ey = 0, edx = 0, my = 1e-6, mdx = 1e-6;
        for (size_t i = 0; i < len; i++) {
            my = fmax(my, fabs(y[i]));
            mdx = fmax(mdx, fabs(dx[i]));
        }
        for (size_t i = 0; i < len; i++) {
            ey = fmax(ey, fabs(got[i] - y[i]) / my);
            edx = fmax(edx, fabs(gdx[i] - dx[i]) / mdx);
        }
        CHECK(ey < 1e-5 && edx < 1e-5, "%s: y error %.1e, dx error %.1e", e->d_name, ey, edx);
        worst = fmax(worst, fmax(ey, edx));
        cases++;
        free(got);
        free(gdx);
        on_st_free(f);
    }
    closedir(d);
    CHECK(cases >= 40, "warp golden cases: %d", cases);
    printf("warp golden: %d cases, largest relative error %.2e\n", cases, worst);
}

static void test_affine_args(void) {
    CHECK(round_trips("input(5,6,2) random_translation((-0.2,0.3),0.25,constant,nearest,4,0.5)",
                      "random_translation((-0.2,0.3),0.25,constant,nearest,4,0.5)", NULL),
          "translation round-trips");
    CHECK(round_trips("input(5,6,2) random_zoom(0.2,(-0.1,0.3))", "random_zoom(0.2,(-0.1,0.3))",
                      NULL),
          "zoom with a width factor round-trips");
    CHECK(round_trips("input(5,6,2) random_zoom(0.2,None)", "random_zoom(0.2)", NULL),
          "zoom without a width factor: Keras's None");
    CHECK(round_trips("input(5,6,2) random_rotation(factor=(-0.1,0.3),fill_mode=wrap)",
                      "random_rotation((-0.1,0.3),wrap)", NULL),
          "rotation round-trips");
    CHECK(error_has("input(5,6,2) random_translation(1.5,0.1)", "height_factor must be a range"),
          "translation beyond the image refused");
    CHECK(error_has("input(5,6,2) random_zoom(0.1,fill_mode=mirror)", "bad value 'mirror'"),
          "unknown fill mode");
    CHECK(
        error_has("input(5,6,2) random_rotation(0.1,interpolation=bicubic)", "bad value 'bicubic'"),
        "unknown interpolation");
    CHECK(error_has("input(5,6,2) random_zoom((0.3,-0.2))", "height_factor must be a range"),
          "lo > hi refused");
}

/* --- contrast ---------------------------------------------------------------------------- */

static void test_contrast(void) {
    const int n = 64;
    on_model *m = build("input(4,5,3) random_contrast((0.5,0.3),value_range=None)", n);
    if (!m) return;
    size_t S = 20, len = (size_t)n * 3 * S;
    float *x = randoms(len, 4);
    on_model_forward(m, x, n, ON_EVAL);
    CHECK(!memcmp(on_model_output(m), x, sizeof(float) * len), "contrast: eval is the identity");
    on_model_forward(m, x, n, ON_TRAIN);
    const float *y = on_model_output(m);
    /* each image: one factor c in [0.5, 1.3] for all its channels, y = c x + (1 - c) m */
    int ok = 1;
    float cmin = 2, cmax = 0;
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * 3 * S, *yi = y + (size_t)i * 3 * S;
        float c = (yi[1] - yi[0]) / (xi[1] - xi[0]);
        cmin = fminf(cmin, c);
        cmax = fmaxf(cmax, c);
        ok &= c >= 0.5f - 1e-4f && c <= 1.3f + 1e-4f;
        for (int ch = 0; ch < 3; ch++) {
            double mean = 0;
            for (size_t j = 0; j < S; j++) mean += xi[ch * S + j] / (double)S;
            for (size_t j = 0; j < S; j++)
                ok &= fabs(yi[ch * S + j] - (c * xi[ch * S + j] + (1 - c) * mean)) < 1e-4;
        }
    }
    CHECK(ok, "contrast: one factor per image in [1 - lower, 1 + upper], per-channel means");
    CHECK(cmin < 0.6f && cmax > 1.2f, "contrast: the factors spread over the range (%g..%g)", cmin,
          cmax);
    double e = adjoint_error(m, x, n, 2);
    CHECK(e < 1e-6, "contrast: backward is the adjoint of the affine map (error %.1e)", e);
    free(x);
    on_model_free(m);

    /* factor 0: c = 1, the identity bit for bit; the value range clips (Keras: [0, 255]) */
    m = build("input(4,5,3) random_contrast(0,value_range=None)", 2);
    if (m) {
        x = randoms(2 * 60, 100);
        on_model_forward(m, x, 2, ON_TRAIN);
        CHECK(!memcmp(on_model_output(m), x, sizeof(float) * 120),
              "contrast factor 0 is the identity");
        on_model_free(m);
        free(x);
    }
    m = build("input(4,5,3) random_contrast(0)", 2);
    if (m) {
        x = randoms(2 * 60, 300);
        on_model_forward(m, x, 2, ON_TRAIN);
        y = on_model_output(m);
        ok = 1;
        for (int i = 0; i < 120; i++) ok &= y[i] == fminf(fmaxf(x[i], 0), 255);
        CHECK(ok, "contrast clips to Keras's [0, 255]");
        on_model_free(m);
        free(x);
    }
    CHECK(round_trips("input(5,6,2) random_contrast((0.2,0.5),7,(-1,1))",
                      "random_contrast((0.2,0.5),7,(-1,1))", NULL),
          "contrast round-trips");
    CHECK(round_trips("input(5,6,2) random_contrast(0.3,value_range=None)",
                      "random_contrast(0.3,value_range=None)", NULL),
          "no value range round-trips");
    CHECK(error_has("input(5,6,2) random_contrast(1.5)", "factor must be (lower, upper)"),
          "lower > 1 refused (Keras's check)");
}

int main(void) {
    on_set_threads(2);
    test_normalization();
    test_flip();
    test_translation_exact();
    test_affine_identities();
    test_affine_directions();
    test_warp_golden();
    test_affine_args();
    test_contrast();
    return check_done();
}
