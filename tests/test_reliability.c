/* test_reliability.c - the fast half of docs/RELIABILITY.md: absurd model sizes refused
 * before anything is allocated, with a message saying what is too large; a full disk
 * (RLIMIT_FSIZE, so writes fail with EFBIG as they fail with ENOSPC) while saving leaves
 * the previous checkpoint intact and no temporary file; a missing data set says which
 * path or package is needed; a checkpoint cut or bit-flipped at 400 places is refused or,
 * when only header padding changed, loads the same tensors; damaged gzip IDX files are
 * refused; and `ordnet train -o` killed with SIGKILL at three moments leaves a checkpoint
 * that loads and resumes to the same bytes. scripts/reliability/ has the long versions. */
#include "check.h"
#include "ordnet.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static char dir[96];

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) b[n] = 0;
    *len = (size_t)n;
    return b;
}

static int spit(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(d, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Two models' tensors are equal, bit for bit. */
static int same_tensors(on_model *a, on_model *b) {
    if (on_model_num_tensors(a) != on_model_num_tensors(b)) return 0;
    for (int i = 0; i < on_model_num_tensors(a); i++)
        if (on_model_tensor_size(a, i) != on_model_tensor_size(b, i) ||
            memcmp(on_model_tensor_data(a, i), on_model_tensor_data(b, i),
                   on_model_tensor_size(a, i) * sizeof(float)))
            return 0;
    return 1;
}

/* Absurd sizes: refused while reading, with a size message (not an allocation failure). */
static void test_limits(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"input(28,28,1) flatten dense(1000000000000)", "out of range"},
        {"from keras import layers, models\n"
         "model = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Flatten(),\n"
         "                           layers.Dense(10**12)])\n",
         "units must be an integer from 1 to"},
        {"input(28,28,1) conv2d(1000000,3)", "(1000000,26,26)"},
        {"from keras import layers, models\n"
         "model = models.Sequential([layers.Input(shape=(28, 28, 1)), layers.Conv2D(10**6, 3)])\n",
         "(1000000,26,26)"},
        {"input(100000,100000,3) conv2d(8,3) global_avgpool dense(10)", "input shape too large"},
        {"input(1000000,1000000,1000000) relu", "input shape too large"},
        {"input(28,28,1) flatten dense(1000000) dense(1000000)", "parameters"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        on_error err = {{0}};
        on_model *m = on_model_from_text(cases[i].text, "big.py", NULL, 0, &err);
        CHECK(!m && strstr(err.msg, cases[i].want) && strstr(err.msg, "big.py:") &&
                  !strstr(err.msg, "out of memory"),
              "absurd model %zu refused with a size message: %s", i, err.msg);
        on_model_free(m);
    }
}

static on_model *small_model(const char *spec, uint64_t seed) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m) on_model_init(m, seed);
    return m;
}

/* A full disk while saving: the old checkpoint stays, no temporary file is left. Runs in
 * a child whose file size limit is below the new checkpoint's size. */
static void test_full_disk(void) {
    char path[160];
    snprintf(path, sizeof path, "%s/full.ckpt", dir);
    on_model *a = small_model("input(8,8,1) flatten dense(4)", 1);
    on_model *b = small_model("input(8,8,1) flatten dense(64) relu dense(4)", 2);
    on_error err;
    CHECK(a && b && on_checkpoint_save(a, path, NULL, &err) == 0, "first checkpoint saved");
    size_t before_len;
    char *before = slurp(path, &before_len);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead of killing us */
        struct rlimit rl = {(rlim_t)before_len + 4096, (rlim_t)before_len + 4096};
        if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(3);
        on_error e2;
        int rc = on_checkpoint_save(b, path, NULL, &e2);
        on_model_free(a);
        on_model_free(b);
        free(before);
        /* the failure names the file and the reason */
        _exit(rc != 0 && strstr(e2.msg, path) && strstr(e2.msg, strerror(EFBIG)) ? 0 : 4);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "a save past the file size limit fails with a message (status %d)", status);
    size_t after_len;
    char *after = slurp(path, &after_len);
    CHECK(before && after && before_len == after_len && !memcmp(before, after, before_len),
          "the previous checkpoint is byte-for-byte intact");
    on_model *back = on_checkpoint_load(path, NULL, &err);
    CHECK(back && same_tensors(a, back), "and loads with its weights");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp >/dev/null", dir);
    CHECK(system(cmd) != 0, "no temporary file is left behind");
    on_model_free(back);
    on_model_free(a);
    on_model_free(b);
    free(before);
    free(after);
}

static void test_missing_data(void) {
    on_dataset d;
    on_error err;
    char where[160];
    snprintf(where, sizeof where, "%s/no-such-data", dir);
    CHECK(on_data_load(where, 1, 0, &d, &err) && strstr(err.msg, where) &&
              strstr(err.msg, "train-images-idx3-ubyte"),
          "a missing directory names itself and the files expected: %s", err.msg);
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &st)) {
        CHECK(on_data_load("fashion-mnist", 1, 10, &d, &err) &&
                  strstr(err.msg, "apt-get install dataset-fashion-mnist"),
              "missing Fashion-MNIST names the Debian package: %s", err.msg);
    } else {
        CHECK(on_data_load("fashion-mnist", 1, 10, &d, &err) == 0 && d.n == 10,
              "Fashion-MNIST is installed and loads");
        on_dataset_free(&d);
    }
}

/* A small pseudo-random generator, so the damaged positions are the same on every run. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 200 cuts and 200 bit flips of a checkpoint: refused, or the same tensors. */
static void test_damaged_checkpoint(void) {
    char path[160], bad[160];
    snprintf(path, sizeof path, "%s/good.ckpt", dir);
    snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
    on_model *m = small_model("input(8,8,1) conv2d(4,3) bn relu flatten dense(3)", 3);
    on_checkpoint_info info = {.cfg = on_train_defaults(), .epoch = 2, .classes = 3};
    snprintf(info.data, sizeof info.data, "somewhere");
    on_error err;
    CHECK(m && on_checkpoint_save(m, path, &info, &err) == 0, "checkpoint saved");
    size_t len;
    unsigned char *good = (unsigned char *)slurp(path, &len);
    if (!good) return;
    int refused = 0, same = 0, wrong = 0;
    for (int k = 0; k < 400; k++) {
        unsigned char *b = malloc(len);
        memcpy(b, good, len);
        size_t n = len;
        /* half the damage in the header (the first 8 + N bytes), half anywhere */
        size_t hdr = 8 + (size_t)good[0] + ((size_t)good[1] << 8);
        size_t at = (size_t)(next() % (k & 1 ? len : hdr));
        if (k < 200)
            n = at;
        else
            b[at] ^= (unsigned char)(1u << (next() % 8));
        spit(bad, b, n);
        free(b);
        on_checkpoint_info got;
        on_model *r = on_checkpoint_load(bad, &got, &err);
        if (!r) {
            refused += strstr(err.msg, bad) != NULL;
            continue;
        }
        if (same_tensors(m, r) && got.epoch == 2 && got.classes == 3 &&
            !strcmp(got.data, "somewhere"))
            same++;
        else
            wrong++;
        on_model_free(r);
    }
    CHECK(wrong == 0 && refused + same == 400,
          "400 damaged checkpoints: %d refused naming the file, %d the same tensors, %d wrong",
          refused, same, wrong);
    CHECK(refused >= 390, "nearly all refused (%d): only padding changes may load", refused);
    free(good);
    on_model_free(m);
}

/* A gzip IDX file with a damaged stream, a cut trailer or a wrong CRC is refused. */
static void test_damaged_gzip(void) {
    unsigned char raw[16 + 2 * 28 * 28];
    memset(raw, 0, sizeof raw);
    raw[2] = 8, raw[3] = 3, raw[7] = 2, raw[11] = 28, raw[15] = 28;
    for (size_t i = 16; i < sizeof raw; i++) raw[i] = (unsigned char)(i * 7);
    char path[160];
    snprintf(path, sizeof path, "%s/images.gz", dir);
    gzFile g = gzopen(path, "wb");
    gzwrite(g, raw, sizeof raw);
    gzclose(g);
    size_t len;
    unsigned char *gz = (unsigned char *)slurp(path, &len);
    on_dataset d;
    on_error err;
    CHECK(gz && on_idx_load(path, NULL, 0, &d, &err) == 0 && d.n == 2, "the intact file loads");
    on_dataset_free(&d);
    if (!gz) return;
    int accepted = 0;
    for (size_t cut = 1; cut <= 8; cut++) { /* the trailer, partly or wholly missing */
        spit(path, gz, len - cut);
        if (on_idx_load(path, NULL, 0, &d, &err) == 0) accepted++, on_dataset_free(&d);
    }
    CHECK(accepted == 0, "streams cut in their trailer are refused (%d accepted)", accepted);
    gz[len - 6] ^= 0x10; /* the CRC-32 */
    spit(path, gz, len);
    CHECK(on_idx_load(path, NULL, 0, &d, &err) && strstr(err.msg, "damaged"),
          "a wrong CRC-32 is refused as damaged: %s", err.msg);
    free(gz);
}

/* ordnet train -o killed at three moments: the checkpoint loads, --resume ends identical.
 * kill_after > 0: kill that many seconds after the start; < 0: kill as soon as the first
 * checkpoint exists (a moment chosen by the clock alone fell before the first checkpoint in
 * every kill when the machine was loaded, and the --resume path then went untested). */
static int run_cli(const char *ckpt, int resume, double kill_after) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execl(ORDNET_BIN, ORDNET_BIN, "train",
              "input(28,28,1) conv2d(8,3) bn relu maxpool(2) flatten dense(10)", "--limit", "1000",
              "--test-limit", "50", "--epochs", "4", "--batch", "50", "--threads", "1", "-o", ckpt,
              resume ? "--resume" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    if (kill_after > 0) {
        struct timespec t = {(time_t)kill_after, (long)((kill_after - (long)kill_after) * 1e9)};
        nanosleep(&t, NULL);
        kill(pid, SIGKILL);
    }
    int status, done = 0;
    if (kill_after < 0) {
        struct timespec t = {0, 2000000}; /* 2 ms */
        struct stat st;
        while (stat(ckpt, &st) && !(done = waitpid(pid, &status, WNOHANG) == pid))
            nanosleep(&t, NULL);
        if (!done) kill(pid, SIGKILL);
    }
    if (!done) waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_kill_train(void) {
    struct stat st;
    if (stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &st)) {
        printf("skipped: the kill test needs dataset-fashion-mnist\n");
        return;
    }
    char ref[160], ck[160];
    snprintf(ref, sizeof ref, "%s/ref.ckpt", dir);
    snprintf(ck, sizeof ck, "%s/run.ckpt", dir);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(run_cli(ref, 0, 0) == 0, "the uninterrupted run");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double T = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t rlen, clen;
    char *want = slurp(ref, &rlen);
    int resumed = 0;
    for (int k = 1; k <= 3; k++) {
        remove(ck);
        /* the data are read first: kill while it trains; kill 1 right after a checkpoint */
        double at = k == 1 ? -1 : T * (0.4 + 0.2 * k);
        run_cli(ck, 0, at);
        int had = stat(ck, &st) == 0;
        resumed += had;
        if (had) {
            on_error err;
            on_model *m = on_checkpoint_load(ck, NULL, &err);
            CHECK(m != NULL, "kill %d at %.2f s: the checkpoint loads (%s)", k, at,
                  m ? "" : err.msg);
            on_model_free(m);
        }
        CHECK(run_cli(ck, had, 0) == 0, "kill %d: %s exits 0", k, had ? "--resume" : "a new run");
        char *got = slurp(ck, &clen);
        CHECK(want && got && rlen == clen && !memcmp(want, got, rlen),
              "kill %d: the final checkpoint equals the uninterrupted run's", k);
        free(got);
    }
    CHECK(resumed >= 1, "%d of the kills came after a checkpoint (so --resume ran)", resumed);
    free(want);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ordnet-reliability-%d", (int)getpid());
    if (mkdir(dir, 0700)) return 1;
    test_limits();
    test_full_disk();
    test_missing_data();
    test_damaged_checkpoint();
    test_damaged_gzip();
    test_kill_train();
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_done();
}
