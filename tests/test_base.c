/* test_base.c - the base module (src/base/): on_fail, the shape helpers, the clocks and the
 * random streams. The streams are pinned: dropout masks, initialization, shuffles, the
 * golden tests and the study's seeds depend on every bit of them. */
#include "base/base.h"
#include "check.h"

#include <math.h>
#include <string.h>

/* The sequential stream as optimize.c wrote it before it moved to rng.c. */
static uint64_t reference_lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return on_mix64(*s);
}

int main(void) {
    /* on_fail: fills the message, returns -1, and takes a NULL error */
    on_error err = {{0}};
    CHECK(on_fail(&err, "layer '%s': %d channels", "conv2d", 3) == -1, "on_fail returns -1");
    CHECK(!strcmp(err.msg, "layer 'conv2d': 3 channels"), "on_fail's message: %s", err.msg);
    CHECK(on_fail(NULL, "x") == -1, "on_fail(NULL, ...) returns -1");
    char longer[600];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    on_fail(&err, "%s", longer);
    CHECK(strlen(err.msg) == sizeof err.msg - 1, "a long message is cut to the buffer");

    /* shapes */
    on_shape img = {3, 32, 14, 14}, sig = {2, 16, 1, 128}, flat = {1, 10, 1, 1};
    char buf[48];
    CHECK(on_shape_size(img) == 32 * 14 * 14, "size of (32,14,14)");
    CHECK(!strcmp(on_shape_str(img, buf, sizeof buf), "(32,14,14)"), "%s", buf);
    CHECK(!strcmp(on_shape_str(sig, buf, sizeof buf), "(16,128)"), "%s", buf);
    CHECK(!strcmp(on_shape_str(flat, buf, sizeof buf), "(10)"), "%s", buf);
    CHECK(on_shape_equal(img, img) && !on_shape_equal(img, sig), "on_shape_equal");
    on_shape img2 = img;
    img2.rank = 2;
    CHECK(!on_shape_equal(img, img2), "on_shape_equal compares the rank");

    /* big blocks: a freed one is kept for the next that fits, and given back first when a
     * larger one is asked for */
    {
        size_t MB = (size_t)1 << 20, ga, gb, gc, gd;
        char *a = on_big_alloc(40 * MB + 5, &ga);
        CHECK(a && ga >= 40 * MB + 5 && (uintptr_t)a % 64 == 0, "a 40 MB block: %zu bytes", ga);
        memset(a, 1, 40 * MB + 5);
        on_big_free(a, ga);
        char *b = on_big_alloc(24 * MB, &gb);
        CHECK(b == a && gb == ga, "a smaller block reuses the freed one (%zu bytes)", gb);
        on_big_free(b, gb);
        char *c = on_big_alloc(64 * MB, &gc);
        CHECK(c && gc >= 64 * MB, "a larger block is new: %zu bytes", gc);
        memset(c, 2, 64 * MB);
        char *d = on_big_alloc(20 * MB, &gd); /* nothing kept: the 40 MB went back before c */
        CHECK(d && d != c, "no spare left after a larger request");
        on_big_free(d, gd);
        on_big_free(c, gc); /* the larger is kept */
        char *e = on_big_alloc(60 * MB, &gd);
        CHECK(e == c && gd == gc, "the larger of two freed blocks is the one kept");
        on_big_free(e, gd);
        char *g = on_big_alloc(16 * MB, &gd); /* under half the kept 64 MB: not that one */
        CHECK(g && gd == 16 * MB, "a block under half the kept one is new: %zu bytes", gd);
        on_big_free(g, gd);
        char *f = on_big_alloc(1000, &gd);
        CHECK(f && gd == 1000, "a small block: %zu bytes", gd);
        on_big_free(f, gd);
    }

    /* a model's parameters: 64-byte aligned, on 2 MB boundaries from 8 MB on (Linux) */
    {
        size_t MB = (size_t)1 << 20;
        char *h = on_huge_alloc(9 * MB + 3), *l = on_huge_alloc(100);
        CHECK(h && l && (uintptr_t)h % 64 == 0 && (uintptr_t)l % 64 == 0, "aligned: %p %p",
              (void *)h, (void *)l);
#ifdef __linux__
        CHECK(h && (uintptr_t)h % (2 * MB) == 0, "on a huge page's boundary: %p", (void *)h);
#endif
        if (h) memset(h, 3, 9 * MB + 3);
        CHECK(h && h[9 * MB + 2] == 3, "all of it written");
        on_huge_free(h, 9 * MB + 3);
        on_huge_free(l, 100);
    }

    /* clocks: monotonic never goes back; CPU time advances with work; wall is the epoch's */
    double t0 = on_seconds(), c0 = on_cpu_seconds(), sink = 0;
    for (int i = 1; i < 20000000 && on_cpu_seconds() - c0 < 0.02; i++) sink += 1.0 / i;
    double t1 = on_seconds(), c1 = on_cpu_seconds();
    CHECK(t1 >= t0 && c1 > c0, "clocks advance: %.6f -> %.6f, cpu %.6f -> %.6f (%g)", t0, t1, c0,
          c1, sink);
    CHECK(on_wall_seconds() > 1.6e9, "wall clock is seconds since 1970: %.0f", on_wall_seconds());

    /* counter-based stream: SplitMix64's finalizer (its published first output for seed 0)
     * and on_uniform's pinned values */
    CHECK(on_mix64(0) == 0xe220a8397b1dcdafull, "on_mix64(0) is SplitMix64's first output");
    CHECK(on_uniform(on_mix64(1), 0) == 0.368189514f, "on_uniform pinned: %.9g",
          on_uniform(on_mix64(1), 0));
    CHECK(on_uniform(on_mix64(1), 12345) == 0.183615208f, "on_uniform pinned: %.9g",
          on_uniform(on_mix64(1), 12345));
    double mean = 0;
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        float u = on_uniform(on_mix64(7), (uint64_t)i);
        bad += !(u >= 0 && u < 1);
        mean += u / 100000.0;
    }
    CHECK(!bad && fabs(mean - 0.5) < 0.005, "on_uniform in [0,1), mean %.4f", mean);

    /* sequential stream: the same numbers as before it moved */
    uint64_t a = 42, b = 42;
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= on_lcg_next(&a) == reference_lcg(&b);
    CHECK(same, "on_lcg_next is the LCG mixed by on_mix64");
    uint64_t s = 42;
    CHECK(on_lcg_next(&s) == 0x335695be897f3607ull, "on_lcg_next pinned");
    double u = on_lcg_uniform(&s);
    CHECK(u == 0.39107488225355702, "on_lcg_uniform pinned: %.17g", u);
    uint64_t r = 1, step = on_lcg_step(&r);
    CHECK(step == 6364136223846793005ull + 1442695040888963407ull && r == step,
          "on_lcg_step is the raw LCG, returning its new state");
    return check_done();
}
