/* test_published.c - Keras model definitions collected from public sources (book notebooks,
 * keras.io examples, tutorials, project READMEs), each with the parameter counts Keras printed
 * for it there: tests/keras/published/MANIFEST.tsv lists them. Each is read as `ordnet summary`
 * reads it (no classes: the model as written) and its Total / Trainable / Non-trainable params,
 * taken from the summary's JSON, must be the printed ones. A model listed as an expected failure
 * must be refused with a located error (FILE:LINE:COL: and the reason the manifest gives),
 * never read with other counts. A model marked frozen:N was printed by Keras 1, whose summary
 * counted frozen (trainable=False) parameters as trainable: the total must match and N must
 * have moved to the non-trainable line.
 */
#include "check.h"

#include <ordnet.h>
#include <stdlib.h>
#include <string.h>

#define DIR "keras/published/"

/* The number after the last "key": of a JSON text (the model's own, after the layers'), or -1. */
static double json_num(const char *js, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = NULL;
    for (const char *q = strstr(js, k); q; q = strstr(q + 1, k)) p = q;
    return p ? strtod(p + strlen(k), NULL) : -1;
}

/* "1,234" or "1234" -> 1234; "-" (not printed) -> -1. */
static double count(const char *s) {
    if (!strcmp(s, "-")) return -1;
    double v = 0;
    for (; *s; s++)
        if (*s >= '0' && *s <= '9') v = v * 10 + (*s - '0');
    return v;
}

int main(void) {
    FILE *f = fopen(DIR "MANIFEST.tsv", "r");
    CHECK(f, "the manifest opens");
    if (!f) return check_done();
    char line[1024];
    int matched = 0, moved = 0, refused = 0, rows = 0, k1 = 0, loops = 0, onedim = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\r\n")] = 0;
        char *col[6];
        int n = 0;
        for (char *p = line; n < 6; n++) {
            col[n] = p;
            char *t = strchr(p, '\t');
            if (!t) {
                n++;
                break;
            }
            *t = 0;
            p = t + 1;
        }
        CHECK(n == 6, "manifest row '%s' has 6 columns (got %d)", col[0], n);
        if (n != 6) continue;
        rows++;
        k1 += strstr(col[4], "keras1") != NULL;
        loops += strstr(col[4], "loop") != NULL || strstr(col[4], "function") != NULL;
        onedim += strstr(col[4], "1d") != NULL || strstr(col[4], "text") != NULL;
        char path[512];
        snprintf(path, sizeof path, DIR "%s", col[0]);
        on_error err;
        on_model *m = on_model_from_file(path, NULL, 0, &err);
        if (!strncmp(col[5], "fail:", 5)) {
            /* refused with FILE:LINE:COL: and the reason */
            char where[600];
            int line_no = 0, col_no = 0;
            snprintf(where, sizeof where, "%s:", path);
            int located = !m && !strncmp(err.msg, where, strlen(where)) &&
                          sscanf(err.msg + strlen(where), "%d:%d:", &line_no, &col_no) == 2 &&
                          line_no > 0 && col_no > 0;
            CHECK(located && strstr(err.msg, col[5] + 5),
                  "%s is refused at FILE:LINE:COL with '%s'; got %s", col[0], col[5] + 5,
                  m ? "a model" : err.msg);
            refused += located && strstr(err.msg, col[5] + 5);
            on_model_free(m);
            continue;
        }
        CHECK(m, "%s is read: %s", col[0], m ? "" : err.msg);
        if (!m) continue;
        char *js = on_model_summary(m, 1);
        double total = js ? json_num(js, "total_params") : -2,
               tr = js ? json_num(js, "trainable_params") : -2,
               nt = js ? json_num(js, "non_trainable_params") : -2;
        double want[3] = {count(col[1]), count(col[2]), count(col[3])};
        /* frozen:N - Keras 1's summary counted the N parameters of its trainable=False layers
         * as trainable (its training did not update them); ordnet counts them non-trainable,
         * as Keras 2 and 3 do: the total is the printed one, N moves from one line to the other */
        double frozen = !strncmp(col[5], "frozen:", 7) ? count(col[5] + 7) : 0;
        int ok = total == want[0] && (want[1] < 0 || tr == want[1] - frozen) &&
                 (want[2] < 0 || nt == want[2] + frozen);
        CHECK(ok, "%s: Keras printed %s / %s / %s (%.0f frozen), ordnet counts %.0f / %.0f / %.0f",
              col[0], col[1], col[2], col[3], frozen, total, tr, nt);
        matched += ok;
        moved += ok && frozen > 0;
        free(js);
        on_model_free(m);
    }
    fclose(f);
    printf("published Keras models: %d listed (%d Keras 1, %d with loops or functions, %d 1-D or "
           "text), %d matched Keras's counts (%d of them with Keras 1's frozen parameters counted "
           "non-trainable), %d refused with a located error\n",
           rows, k1, loops, onedim, matched, moved, refused);
    CHECK(rows >= 25, "at least 25 published models are listed (%d)", rows);
    return check_done();
}
