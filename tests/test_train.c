/* test_train.c - training, checkpoints and data readers:
 * bit-identical weights from one seed, --resume reaching the same final weights as an
 * uninterrupted run, checkpoints that round-trip and refuse damaged or mismatched files,
 * data readers that refuse bad files with the file and the problem, divergence detection,
 * and a small real run on Fashion-MNIST that must learn. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define SPEC                                                                                       \
    "input(28,28,1) conv2d(8,3,same) bn relu maxpool dropout(0.2) conv2d(16,3,same) bn relu "      \
    "maxpool flatten dense(10)"

static char dir[64];

static on_model *fresh(uint64_t seed) {
    on_error err;
    on_model *m = on_model_from_spec(SPEC, &err);
    if (m) on_model_init(m, seed);
    return m;
}

static on_train_cfg small_cfg(int epochs) {
    on_train_cfg c = on_train_defaults();
    c.epochs = epochs;
    c.batch = 64;
    c.augment = 1;
    return c;
}

static int same_params(on_model *a, on_model *b) {
    return a->np == b->np && !memcmp(a->params, b->params, sizeof(float) * a->np) &&
           a->ns == b->ns && !memcmp(a->state, b->state, sizeof(float) * a->ns);
}

/* A callback that stops the run after its first epoch, as a kill between epochs would. */
static int stop_after_one(void *u, const on_epoch_report *rep) {
    (void)u;
    return rep->done && rep->epoch == 1;
}

static void test_determinism_and_resume(const on_dataset *tr) {
    on_error err;
    on_train_cfg c3 = small_cfg(3);
    on_model *a = fresh(7), *b = fresh(7), *r = fresh(7);
    CHECK(!on_train(a, tr, NULL, &c3, NULL, NULL, &err), "train a: %s", err.msg);
    CHECK(!on_train(b, tr, NULL, &c3, NULL, NULL, &err), "train b: %s", err.msg);
    CHECK(same_params(a, b), "same seed and threads give bit-identical weights");
    /* interrupted after epoch 1 (a checkpoint), then resumed from the file */
    on_train_cfg c1 = c3;
    char path[128];
    snprintf(path, sizeof path, "%s/run.ckpt", dir);
    CHECK(on_train(r, tr, NULL, &c1, stop_after_one, NULL, &err) != 0, "the run was stopped");
    on_checkpoint_info info = {.cfg = c3, .epoch = 1, .classes = 10};
    CHECK(!on_checkpoint_save(r, path, &info, &err), "save: %s", err.msg);
    on_model_free(r);
    on_checkpoint_info got;
    r = on_checkpoint_load(path, &got, &err);
    CHECK(r != NULL, "load: %s", r ? "" : err.msg);
    if (r) {
        CHECK(got.epoch == 1 && got.cfg.epochs == 3 && got.cfg.seed == c3.seed &&
                  got.cfg.augment == 1 && got.cfg.batch == 64,
              "the checkpoint keeps the recipe");
        got.cfg.start_epoch = got.epoch;
        CHECK(!on_train(r, tr, NULL, &got.cfg, NULL, NULL, &err), "resume: %s", err.msg);
        CHECK(same_params(a, r), "resume reaches the same final weights as an uninterrupted run");
    }
    on_model_free(a);
    on_model_free(b);
    on_model_free(r);
}

static void test_checkpoint_roundtrip(const on_dataset *te) {
    on_error err;
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    on_model *m = fresh(3);
    float mean = 0.3f, sd = 0.35f;
    on_model_set_normalization(m, &mean, &sd);
    CHECK(!on_checkpoint_save(m, path, NULL, &err), "save: %s", err.msg);
    on_model *l = on_checkpoint_load(path, NULL, &err);
    CHECK(l && same_params(m, l), "a checkpoint round-trips every tensor");
    double l1, a1, l2, a2;
    if (l) {
        on_evaluate(m, te, 100, &l1, &a1, NULL, &err);
        on_evaluate(l, te, 100, &l2, &a2, NULL, &err);
        CHECK(l1 == l2 && a1 == a2, "the loaded model evaluates identically");
    }
    on_model_free(l);
    /* damage one byte of tensor data: the checksum must catch it */
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len);
    CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len, "read back");
    fclose(f);
    buf[len - 100] ^= 0x10;
    f = fopen(bad, "wb");
    fwrite(buf, 1, (size_t)len, f);
    fclose(f);
    l = on_checkpoint_load(bad, NULL, &err);
    CHECK(!l && strstr(err.msg, "checksum mismatch") && strstr(err.msg, "bad.ckpt"),
          "a flipped bit is refused: %s", err.msg);
    on_model_free(l);
    /* truncated */
    f = fopen(bad, "wb");
    fwrite(buf, 1, (size_t)len / 2, f);
    fclose(f);
    l = on_checkpoint_load(bad, NULL, &err);
    CHECK(!l && strstr(err.msg, "bad.ckpt"), "a truncated checkpoint is refused: %s", err.msg);
    on_model_free(l);
    free(buf);
    /* a checkpoint for another input shape */
    on_model *other = on_model_from_spec("input(32,32,3) conv2d(8,3) flatten dense(10)", &err);
    on_model_init(other, 1);
    on_checkpoint_save(other, bad, NULL, &err);
    on_model *o2 = on_checkpoint_load(bad, NULL, &err);
    CHECK(o2 && o2->input.c == 3, "another model's checkpoint loads as that model");
    if (o2) {
        double ls, ac;
        CHECK(on_evaluate(o2, te, 100, &ls, &ac, NULL, &err) &&
                  strstr(err.msg, "model's input is (3,32,32)"),
              "and is refused for this data: %s", err.msg);
    }
    on_model_free(o2);
    on_model_free(other);
    /* a failing save leaves the old file intact */
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/missing/dir/m.ckpt", dir);
    CHECK(on_checkpoint_save(m, nodir, NULL, &err) && strstr(err.msg, "missing"),
          "saving into a missing directory fails with a message: %s", err.msg);
    l = on_checkpoint_load(path, NULL, &err);
    CHECK(l != NULL, "the good checkpoint is still there");
    on_model_free(l);
    on_model_free(m);
}

/* Write an IDX file (gzipped) with the given magic, dims and bytes. */
static void write_idx(const char *path, int magic, int nd, const int *dims,
                      const unsigned char *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    unsigned char h[4] = {0, 0, (unsigned char)(magic >> 8), (unsigned char)magic};
    gzwrite(g, h, 4);
    for (int i = 0; i < nd; i++) {
        unsigned char d[4] = {(unsigned char)(dims[i] >> 24), (unsigned char)(dims[i] >> 16),
                              (unsigned char)(dims[i] >> 8), (unsigned char)dims[i]};
        gzwrite(g, d, 4);
    }
    if (n) gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

static int load_fails(const char *what, const char *needle) {
    on_dataset d;
    on_error err = {{0}};
    int rc = on_data_load(dir, 1, 0, &d, &err);
    if (!rc) on_dataset_free(&d);
    int ok = rc != 0 && strstr(err.msg, needle);
    if (!ok) printf("  %s: '%s'\n", what, rc ? err.msg : "(loaded)");
    return ok;
}

static void test_data_errors(void) {
    char img[160], lab[160];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte.gz", dir);
    unsigned char px[4 * 5 * 6], lb[5] = {0, 1, 2, 1, 0};
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)i;
    int di[3] = {5, 4, 6}, dl[1] = {5}, dl4[1] = {4};
    write_idx(img, 0x803, 3, di, px, sizeof px);
    write_idx(lab, 0x801, 1, dl, lb, 5);
    on_dataset d;
    on_error err;
    CHECK(!on_data_load(dir, 1, 0, &d, &err) && d.n == 5 && d.classes == 3 && d.shape.h == 4 &&
              d.shape.w == 6 && fabsf(d.x[7] - 7 / 255.0f) < 1e-7f,
          "a small IDX set loads: %s", err.msg);
    on_dataset_free(&d);
    write_idx(img, 0x803, 3, di, px, sizeof px - 3);
    CHECK(load_fails("truncated", "truncated"), "truncated images");
    write_idx(img, 0x802, 3, di, px, sizeof px);
    CHECK(load_fails("magic", "bad magic"), "wrong magic");
    write_idx(img, 0x803, 3, di, px, sizeof px);
    write_idx(lab, 0x801, 1, dl4, lb, 4);
    CHECK(load_fails("count", "has 5 images but"), "image/label count mismatch");
    /* CSV */
    char csv[160];
    snprintf(csv, sizeof csv, "%s/train.csv", dir);
    remove(img);
    remove(lab);
    FILE *f = fopen(csv, "w");
    fprintf(f, "1,0.5,0.25,1\n2,1,2,3\n1,0,0,x\n");
    fclose(f);
    CHECK(load_fails("csv", "train.csv:3:7: 'x' is not a number"), "CSV error names line:col");
    f = fopen(csv, "w");
    fprintf(f, "1,0.5,0.25,1\n2,1,2\n");
    fclose(f);
    CHECK(load_fails("csv width", "train.csv:2: 2 values, but the first example has 3"),
          "CSV widths");
    f = fopen(csv, "w");
    fprintf(f, "-1\t0.5\t0.25\t1\n1\t1\t2\t3\n-1 0 0 1\n");
    fclose(f);
    char test[160];
    snprintf(test, sizeof test, "%s/test.csv", dir);
    f = fopen(test, "w");
    fprintf(f, "1,1,1,1\n-1,2,2,2\n");
    fclose(f);
    CHECK(!on_data_load(dir, 0, 0, &d, &err) && d.n == 2 && d.y[0] == 1 && d.y[1] == 0 &&
              d.shape.rank == 2 && d.shape.w == 3 && d.classes == 2,
          "UCR-style labels -1/1 map to classes 0/1: %s", err.msg);
    on_dataset_free(&d);
    remove(csv);
    remove(test);
    /* CIFAR-10 binary: two records */
    char cif[160];
    snprintf(cif, sizeof cif, "%s/data_batch_1.bin", dir);
    f = fopen(cif, "wb");
    unsigned char rec[3073] = {3};
    fwrite(rec, 1, sizeof rec, f);
    rec[0] = 7;
    fwrite(rec, 1, sizeof rec, f);
    fclose(f);
    CHECK(!on_data_load(dir, 1, 0, &d, &err) && d.n == 2 && d.y[1] == 7 && d.shape.c == 3 &&
              d.shape.h == 32,
          "CIFAR-10 binary loads: %s", err.msg);
    on_dataset_free(&d);
    f = fopen(cif, "ab");
    fwrite(rec, 1, 10, f);
    fclose(f);
    CHECK(load_fails("cifar", "not a whole number of 3073-byte CIFAR records"), "CIFAR truncated");
    remove(cif);
}

/* Images for predict: PGM (binary and ASCII) and PNG, grey and RGB, right and wrong sizes. */
static void test_images(void) {
    char pgm[160], asc[160], png[160];
    snprintf(pgm, sizeof pgm, "%s/a.pgm", dir);
    snprintf(asc, sizeof asc, "%s/b.pgm", dir);
    snprintf(png, sizeof png, "%s/c.png", dir);
    unsigned char px[4 * 3 * 3];
    for (int i = 0; i < 36; i++) px[i] = (unsigned char)(i * 7);
    FILE *f = fopen(pgm, "wb");
    fprintf(f, "P5\n# a comment\n4 3\n255\n");
    fwrite(px, 1, 12, f);
    fclose(f);
    f = fopen(asc, "w");
    fprintf(f, "P2 4 3 255\n");
    for (int i = 0; i < 12; i++) fprintf(f, "%d ", px[i]);
    fclose(f);
    png_image img = {
        .version = PNG_IMAGE_VERSION, .width = 4, .height = 3, .format = PNG_FORMAT_RGB};
    int wrote = png_image_write_to_file(&img, png, 0, px, 0, NULL);
    float a[12], b[12], c[12], rgb[36];
    on_error err;
    on_shape grey = {3, 1, 3, 4}, color = {3, 3, 3, 4};
    CHECK(!on_image_load(pgm, grey, a, &err) && fabsf(a[5] - 35 / 255.0f) < 1e-6f, "binary PGM: %s",
          err.msg);
    CHECK(!on_image_load(asc, grey, b, &err) && !memcmp(a, b, sizeof a), "ASCII PGM equals binary");
    CHECK(wrote && !on_image_load(png, color, rgb, &err) &&
              fabsf(rgb[12 + 1] - px[4] / 255.0f) < 1e-6f,
          "RGB PNG, channels first: %s", err.msg);
    CHECK(!on_image_load(png, grey, c, &err) && c[0] < 1 && c[11] > 0, "RGB PNG to grey: %s",
          err.msg);
    on_shape big = {3, 1, 28, 28};
    CHECK(on_image_load(pgm, big, a, &err) && strstr(err.msg, "is 4x3 but the model takes 28x28"),
          "wrong size: %s", err.msg);
    f = fopen(pgm, "wb");
    fprintf(f, "P5\n4 3\n255\n");
    fwrite(px, 1, 5, f);
    fclose(f);
    CHECK(on_image_load(pgm, grey, a, &err) && strstr(err.msg, "truncated"), "truncated PGM: %s",
          err.msg);
}

static void test_divergence(const on_dataset *tr) {
    on_error err;
    on_model *m = fresh(1);
    on_train_cfg c = small_cfg(1);
    c.opt = ON_OPT_SGD;
    c.schedule = ON_SCHED_CONST;
    c.lr = 1e6f;
    c.momentum = 0;
    int rc = on_train(m, tr, NULL, &c, NULL, NULL, &err);
    CHECK(rc && strstr(err.msg, "diverged"), "a huge learning rate is caught: %s", err.msg);
    on_model_free(m);
}

/* A short real run must learn: 4000 images, 2 epochs. */
static void test_learns(const on_dataset *tr, const on_dataset *te) {
    on_error err;
    on_model *m = fresh(42);
    on_train_cfg c = small_cfg(2);
    c.augment = 0;
    double loss, acc;
    CHECK(!on_train(m, tr, te, &c, NULL, NULL, &err), "train: %s", err.msg);
    CHECK(!on_evaluate(m, te, 200, &loss, &acc, NULL, &err) && acc > 0.75,
          "2 epochs on 4000 Fashion-MNIST images reach %.1f%% (> 75%%)", 100 * acc);
    on_model_free(m);
}

int main(void) {
    on_set_threads(2);
    snprintf(dir, sizeof dir, "/tmp/ordnet-test-%d", (int)getpid());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd)) return 1;
    on_error err;
    on_dataset tr, te;
    if (on_data_load("fashion-mnist", 1, 4000, &tr, &err) ||
        on_data_load("fashion-mnist", 0, 1000, &te, &err)) {
        printf("FAIL: %s\n", err.msg);
        return 1;
    }
    on_dataset small = tr;
    small.n = 640;
    test_determinism_and_resume(&small);
    test_checkpoint_roundtrip(&te);
    test_data_errors();
    test_images();
    test_divergence(&small);
    test_learns(&tr, &te);
    on_dataset_free(&tr);
    on_dataset_free(&te);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_done();
}
