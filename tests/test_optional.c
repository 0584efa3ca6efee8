/* test_optional.c - the optional parts (ONNX, the study's SQLite store, PNG): a build with a
 * part says so in on_build_features(), and a build without it fails that part's calls with
 * "ordnet was built without ... support" instead of failing to link. Run in every build
 * configuration (.ci/run also builds with every part off). */
#include "check.h"
#include "ordnet_study.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int has(const char *part) {
    char list[128];
    snprintf(list, sizeof list, " %s ", on_build_features());
    char want[32];
    snprintf(want, sizeof want, " %s ", part);
    return strstr(list, want) != NULL;
}

/* the study's log: did a line name the missing data? */
static void study_log(void *user, const char *line) {
    if (strstr(line, "/nonexistent/ordnet-data")) *(int *)user = 1;
}

static int says_missing(const on_error *e, const char *what) {
    char want[64];
    snprintf(want, sizeof want, "built without %s support", what);
    return strstr(e->msg, want) != NULL;
}

int main(void) {
    CHECK(!strcmp(on_version(), ORDNET_VERSION), "on_version %s, header %s", on_version(),
          ORDNET_VERSION);

    /* ONNX: a missing file is an error either way; only a build without ONNX blames that */
    on_error e = {{0}};
    on_model *m = on_onnx_load("no-such-file.onnx", &e);
    CHECK(!m && strstr(e.msg, "no-such-file.onnx"), "onnx load: %s", e.msg);
    CHECK(says_missing(&e, "ONNX") == !has("onnx"), "onnx (%s): %s", on_build_features(), e.msg);
    on_model *s = on_model_from_spec("input(4) dense(2)", &e);
    CHECK(s != NULL, "from_spec: %s", e.msg);
    void *buf = NULL;
    size_t len = 0;
    int rc = on_onnx_encode(s, &buf, &len, &e);
    CHECK(has("onnx") ? rc == 0 && len > 0 : rc == -1 && says_missing(&e, "ONNX"),
          "onnx encode rc %d: %s", rc, e.msg);
    free(buf);
    on_model_free(s);

    /* the study: with SQLite it opens its store, every run fails on the missing data and the
     * study ends (a failed run once was claimed again forever); without SQLite, opening
     * the store fails and says why */
    on_study_cfg c = on_study_defaults();
    CHECK(c.seeds == 3 && !strcmp(c.data, "fashion-mnist"), "study defaults");
    char dir[] = "/tmp/ordnet-optional-study-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    c.data = "/nonexistent/ordnet-data";
    c.out = dir;
    c.seeds = c.epochs = 1;
    int named = 0;
    c.log = study_log;
    c.user = &named;
    rc = on_study_run(&c, &e);
    CHECK(rc == -1 && says_missing(&e, "SQLite") == !has("sqlite"), "study (%s): %s",
          on_build_features(), e.msg);
    CHECK(!has("sqlite") || named, "study: no line names the missing data (%s)", e.msg);
    char rm[96];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    CHECK(system(rm) == 0, "%s", rm);

    /* PNG: a file with PNG's signature and nothing else */
    char path[] = "/tmp/ordnet-optional-XXXXXX";
    int fd = mkstemp(path);
    static const unsigned char sig[16] = {137, 80, 78, 71, 13, 10, 26, 10};
    CHECK(fd >= 0 && write(fd, sig, sizeof sig) == (ssize_t)sizeof sig, "temp file");
    if (fd >= 0) close(fd);
    float px[4];
    rc = on_image_load(path, (on_shape){3, 1, 2, 2}, px, &e);
    CHECK(rc == -1 && strstr(e.msg, path), "png: %s", e.msg);
    CHECK(says_missing(&e, "PNG") == !has("png"), "png (%s): %s", on_build_features(), e.msg);
    unlink(path);
    return check_done();
}
