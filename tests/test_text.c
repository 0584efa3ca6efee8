/* test_text.c - text data for Embedding models: a CSV of label, text read with Keras
 * Tokenizer's rules (lowercase, its filter characters, split on spaces; ids ranked by
 * frequency, ties in first-seen order; unknown test words dropped), fitted to the model as
 * Keras's num_words and pad_sequences do (ids below the Embedding's input_dim; 'pre'
 * padding and truncation), the reader's errors with file:line:col, one file split into
 * training and test parts, and small Embedding + Conv1D models that must learn. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[96];

static void write_file(const char *name, const char *text) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int row_is(const on_dataset *d, int i, const float *want, int L) {
    if (d->shape.c != L) return 0;
    for (int k = 0; k < L; k++)
        if (d->x[(size_t)i * L + k] != want[k]) return 0;
    return 1;
}

static void print_row(const on_dataset *d, int i) {
    printf("  row %d:", i);
    for (int k = 0; k < d->shape.c; k++) printf(" %g", (double)d->x[(size_t)i * d->shape.c + k]);
    printf("\n");
}

static void test_tokenizer(void) {
    on_error err;
    write_file("train.csv", "# a comment line\n"
                            "1,The cat sat on the mat.\n"
                            "7,\"Dogs, cats: and THE dog!\"\n"
                            "1\tthe cat's hat\n"
                            "7,hat hat DOG\n");
    write_file("test.csv", "7,the unknown cat zebra\n1,\"He said \"\"hat\"\"\"\n");
    on_dataset d, t;
    CHECK(!on_data_load(dir, 1, 0, &d, &err), "text CSV loads: %s", err.msg);
    if (err.msg[0] && d.n == 0) return;
    /* counts: the 4, hat 3, dog 2, then in first-seen order cat sat on mat dogs cats and
     * cat's (1 each): ranks the 1, hat 2, dog 3, cat 4, sat 5, on 6, mat 7, dogs 8, cats 9,
     * and 10, cat's 11 */
    CHECK(d.n == 4 && d.words == 11 && d.classes == 2 && d.shape.rank == 1 && d.shape.c == 6,
          "4 texts, 11 words, 2 classes, longest 6 words: n %d words %d classes %d L %d", d.n,
          d.words, d.classes, d.shape.c);
    float r0[6] = {1, 4, 5, 6, 1, 7}, r1[6] = {0, 8, 9, 10, 1, 3}, r2[6] = {0, 0, 0, 1, 11, 2},
          r3[6] = {0, 0, 0, 2, 2, 3};
    int ok = row_is(&d, 0, r0, 6) && row_is(&d, 1, r1, 6) && row_is(&d, 2, r2, 6) &&
             row_is(&d, 3, r3, 6);
    CHECK(ok, "ids ranked by frequency, ties first seen, padded in front, filters and case");
    if (!ok)
        for (int i = 0; i < d.n; i++) print_row(&d, i);
    CHECK(d.y[0] == 0 && d.y[1] == 1 && d.y[2] == 0 && d.y[3] == 1, "labels 1/7 -> classes 0/1");
    CHECK(!on_data_load(dir, 0, 0, &t, &err), "test texts load: %s", err.msg);
    float t0[2] = {1, 4}, t1[2] = {0, 2};
    CHECK(t.n == 2 && t.words == 11 && row_is(&t, 0, t0, 2) && row_is(&t, 1, t1, 2) &&
              t.y[0] == 1 && t.y[1] == 0,
          "test texts use the training index; unknown words dropped; quoted \"\" ok");
    /* fitted to a model: num_words = input_dim 5 keeps ids 1-4; input length 4 */
    on_model *m = on_model_from_spec("input(4) embedding(5,3) conv1d(2,2) gap dense(2)", &err);
    on_dataset f;
    CHECK(m && on_dataset_fit(m, &d, &f, &err) == 1, "fit: %s", err.msg);
    /* the cat sat on the mat: 1 4 5 6 1 7 -> 1 4 1 -> 0 1 4 1 */
    float f0[4] = {0, 1, 4, 1}, f1[4] = {0, 0, 1, 3}, f3[4] = {0, 2, 2, 3};
    ok = f.n == 4 && f.words == 0 && row_is(&f, 0, f0, 4) && row_is(&f, 1, f1, 4) &&
         row_is(&f, 3, f3, 4);
    CHECK(ok, "fitted: ids below input_dim, 'pre' padding to the input length");
    if (!ok)
        for (int i = 0; i < f.n; i++) print_row(&f, i);
    on_dataset_free(&f);
    on_model_free(m);
    m = on_model_from_spec("input(2) embedding(100,3) conv1d(2,2) gap dense(2)", &err);
    CHECK(m && on_dataset_fit(m, &d, &f, &err) == 1, "fit: %s", err.msg);
    float g0[2] = {1, 7}, g1[2] = {1, 3};
    CHECK(row_is(&f, 0, g0, 2) && row_is(&f, 1, g1, 2),
          "'pre' truncation keeps a text's last words");
    on_dataset_free(&f);
    on_model_free(m);
    /* a model that does not read token ids */
    m = on_model_from_spec("input(6) dense(2)", &err);
    CHECK(m && on_dataset_fit(m, &d, &f, &err) < 0 && strstr(err.msg, "texts") &&
              strstr(err.msg, "dense 'dense', not an embedding"),
          "texts for a model without an Embedding: %s", err.msg);
    on_model_free(m);
    on_dataset_free(&d);
    on_dataset_free(&t);
}

static int load_fails(const char *needle) {
    on_dataset d;
    on_error err = {{0}};
    int rc = on_data_load(dir, 1, 0, &d, &err);
    if (!rc) on_dataset_free(&d);
    int ok = rc != 0 && strstr(err.msg, needle);
    if (!ok) printf("  expected '%s', got '%s'\n", needle, rc ? err.msg : "(loaded)");
    return ok;
}

static void test_errors(void) {
    write_file("train.csv", "1,hello there\n0,world\nabc def\n");
    CHECK(load_fails("train.csv:3:1: 'abc' is not a number: each line of a text file is a label"),
          "a text line without a label: file:line:col");
    write_file("train.csv", "1,hello there\n0, \"world\n");
    CHECK(load_fails("train.csv:2:4: the quoted text is not closed on its line"),
          "an unclosed quote");
    write_file("train.csv", "1,hello there\n0,\"world\" and more\n");
    CHECK(load_fails("train.csv:2:11: text after the closing quote"), "text after a quote");
    write_file("train.csv", "1,hello there\n2x,world\n");
    CHECK(load_fails("train.csv:2:2: a label must be followed by a comma"), "a glued label");
    write_file("train.csv", "1,0.5,0.25\n1,2,x\n"); /* numbers stay numbers */
    CHECK(load_fails("train.csv:2:5: 'x' is not a number"), "a numeric CSV keeps its errors");
    write_file("train.csv", "1,good day\n0,bad day\n");
    write_file("test.csv", "1,good\n5,day\n");
    on_dataset d;
    on_error err;
    CHECK(on_data_load(dir, 0, 0, &d, &err) && strstr(err.msg, "label 5 of example 2") &&
              strstr(err.msg, "test.csv"),
          "a test label the training texts lack: %s", err.msg);
}

/* One file: each fifth example is the test part. */
static void test_single_file(void) {
    char path[160], line[64], buf[1024] = "";
    for (int i = 1; i <= 10; i++) {
        snprintf(line, sizeof line, "%d,word%d common\n", i % 2, i);
        strcat(buf, line);
    }
    write_file("one.csv", buf);
    snprintf(path, sizeof path, "%s/one.csv", dir);
    on_dataset tr, te;
    on_error err;
    CHECK(!on_data_load(path, 1, 0, &tr, &err) && !on_data_load(path, 0, 0, &te, &err),
          "one file: %s", err.msg);
    /* train: examples 1-4, 6-9 (common 8, then word1..4, word6..9); test: 5 and 10, with
     * word5 / word10 unknown */
    CHECK(tr.n == 8 && te.n == 2 && tr.words == 9 && te.shape.c == 1 && te.x[0] == 1 &&
              te.x[1] == 1,
          "8 training texts, 2 test texts mapped with the training index (n %d/%d words %d)", tr.n,
          te.n, tr.words);
    on_dataset_free(&tr);
    on_dataset_free(&te);
}

/* Texts tokenized elsewhere: a numeric CSV of L ids per line trains an Embedding model;
 * an id beyond its input_dim is refused naming the layer and the id. */
static void test_numeric_ids(void) {
    on_error err;
    write_file("train.csv", "1,3,4,0\n0,1,2,2\n1,4,4,3\n0,0,1,2\n");
    write_file("test.csv", "1,3,4,1\n0,2,1,9\n");
    on_dataset tr, te;
    if (on_data_load(dir, 1, 0, &tr, &err) || on_data_load(dir, 0, 0, &te, &err)) {
        CHECK(0, "id CSV: %s", err.msg);
        return;
    }
    on_model *m = on_model_from_spec("input(3) embedding(5,2) flatten dense(2)", &err);
    on_model_init(m, 1);
    on_train_cfg c = on_train_defaults();
    c.epochs = 1;
    c.batch = 2;
    CHECK(!on_train(m, &tr, NULL, &c, NULL, NULL, &err), "a CSV of token ids trains: %s", err.msg);
    double loss, acc;
    CHECK(on_evaluate(m, &te, 2, &loss, &acc, NULL, &err) && strstr(err.msg, "token id 9") &&
              strstr(err.msg, "embedding"),
          "an id beyond input_dim: %s", err.msg);
    on_model_free(m);
    on_dataset_free(&tr);
    on_dataset_free(&te);
}

/* A synthetic corpus whose class is carried by some words among noise words. */
static void corpus(const char *name, int n, int classes, unsigned seed) {
    static const char *cue[3][4] = {{"excellent", "great", "superb", "wonderful"},
                                    {"awful", "terrible", "boring", "dull"},
                                    {"strange", "odd", "weird", "curious"}};
    static const char *noise[10] = {"the",  "movie", "film",  "was",  "a",
                                    "plot", "actor", "scene", "very", "and"};
    char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return;
    unsigned s = seed;
    for (int i = 0; i < n; i++) {
        int y = i % classes, len = 5 + (int)((s = s * 1103515245u + 12345u) >> 16) % 12;
        fprintf(f, "%d,", y);
        for (int k = 0; k < len; k++) {
            s = s * 1103515245u + 12345u;
            int r = (int)(s >> 16);
            if (r % 5 == 0)
                fprintf(f, "%s%s ", cue[y][(r >> 4) % 4], (r >> 8) % 3 ? "" : "!");
            else
                fprintf(f, "%s ", noise[(r >> 4) % 10]);
        }
        fprintf(f, "%s\n", cue[y][i % 4]);
    }
    fclose(f);
}

static void test_learns(int classes) {
    on_error err;
    corpus("train.csv", 300, classes, 1u + (unsigned)classes);
    corpus("test.csv", 150, classes, 99u + (unsigned)classes);
    on_dataset tr, te;
    if (on_data_load(dir, 1, 0, &tr, &err) || on_data_load(dir, 0, 0, &te, &err)) {
        CHECK(0, "corpus: %s", err.msg);
        return;
    }
    const char *spec = classes == 2 ? "input(12) embedding(20,8) conv1d(8,3) relu maxpool1d(2) "
                                      "dropout(0.2) global_maxpool dense(1) sigmoid"
                                    : "input(12) embedding(20,8) conv1d(8,3) relu maxpool1d(2) "
                                      "dropout(0.2) global_maxpool dense(3)";
    on_model *m = on_model_from_spec(spec, &err);
    CHECK(m != NULL, "text model: %s", err.msg);
    if (!m) return;
    on_model_init(m, 5);
    on_train_cfg c = on_train_defaults();
    c.epochs = 12;
    c.batch = 32;
    c.lr = 1e-2f;
    c.augment = 1; /* must be ignored for token ids */
    double loss, acc;
    CHECK(!on_train(m, &tr, &te, &c, NULL, NULL, &err), "trains on texts: %s", err.msg);
    CHECK(!on_evaluate(m, &te, 64, &loss, &acc, NULL, &err), "evaluates texts: %s", err.msg);
    printf("text, %d classes: test accuracy %.3f, loss %.4f\n", classes, acc, loss);
    CHECK(acc > (classes == 2 ? 0.85 : 0.75),
          "an Embedding + Conv1D model learns words that carry the class (%d classes): "
          "accuracy %.3f",
          classes, acc);
    const float *mean, *std;
    CHECK(!on_model_normalization(m, &mean, &std), "token ids are not normalized");
    on_model_free(m);
    on_dataset_free(&tr);
    on_dataset_free(&te);
}

int main(void) {
    on_set_threads(1);
    snprintf(dir, sizeof dir, "/tmp/ordnet-text-%d", (int)getpid());
    char cmd[160];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd)) return 1;
    test_tokenizer();
    test_errors();
    test_single_file();
    test_numeric_ids();
    test_learns(2);
    test_learns(3);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return check_done();
}
