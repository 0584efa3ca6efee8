/* ordnet.c - the command-line tool: subcommands over libordnet, nothing more.
 * Each command is one table entry: name, function, one-line summary, --help text. */
#include "ordnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REFERENCE_MODEL                                                                            \
    "input(28,28,1) conv2d(32,3,same) bn relu maxpool dropout(0.2) "                               \
    "conv2d(64,3,same) bn relu maxpool dropout(0.2) flatten dense(10)"

/* ----- option parsing: --name VALUE, --flag ----- */

typedef struct args {
    int argc, i;
    char **argv;
    int bad;
} args;

static int is_opt(args *a, const char *name) {
    return !strcmp(a->argv[a->i], name);
}

static const char *opt_value(args *a) {
    if (a->i + 1 >= a->argc) {
        fprintf(stderr, "ordnet: %s needs a value\n", a->argv[a->i]);
        a->bad = 1;
        return "0";
    }
    return a->argv[++a->i];
}

static double opt_num(args *a, double lo, double hi) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    char *end;
    double d = strtod(v, &end);
    if (*end || end == v || d < lo || d > hi) {
        fprintf(stderr, "ordnet: %s: '%s' is not a number in [%g, %g]\n", name, v, lo, hi);
        a->bad = 1;
    }
    return d;
}

static int pick(args *a, const char *const *names, int n) {
    const char *name = a->argv[a->i], *v = opt_value(a);
    for (int k = 0; k < n; k++)
        if (!strcmp(v, names[k])) return k;
    fprintf(stderr, "ordnet: %s: unknown value '%s' (one of:", name, v);
    for (int k = 0; k < n; k++) fprintf(stderr, " %s", names[k]);
    fprintf(stderr, ")\n");
    a->bad = 1;
    return 0;
}

/* A model from the command line: a file (Keras code or the compact form) or the compact
 * form itself. classes > 0 appends a classifier head when the model lacks one. */
static on_model *load_model(const char *what, const on_shape *input, int classes, on_error *err) {
    if (access(what, R_OK) == 0) return on_model_from_file(what, input, classes, err);
    if (!strchr(what, '(') && !strchr(what, ' ') && !strchr(what, '\n')) {
        snprintf(err->msg, sizeof err->msg,
                 "%s: no such file, and not a model in the compact form (e.g. \"input(28,28,1) "
                 "conv2d(32,3,same) relu flatten dense(10)\")",
                 what);
        return NULL;
    }
    return on_model_from_text(what, "model", input, classes, err);
}

/* A safetensors file: 8-byte header length, then '{'. */
static int is_checkpoint(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char h[9];
    int yes = f && fread(h, 1, 9, f) == 9 && h[8] == '{' && !h[6] && !h[7];
    if (f) fclose(f);
    return yes;
}

/* "28,28,1" (Keras order, channels last) -> a shape */
static int parse_shape(const char *s, on_shape *out) {
    int d[3], n = sscanf(s, "%d,%d,%d", &d[0], &d[1], &d[2]);
    for (int i = 0; i < n; i++)
        if (d[i] < 1) return -1;
    if (n == 1)
        *out = (on_shape){1, d[0], 1, 1};
    else if (n == 2)
        *out = (on_shape){2, d[1], 1, d[0]};
    else if (n == 3)
        *out = (on_shape){3, d[2], d[0], d[1]};
    else
        return -1;
    return 0;
}

/* ----- train ----- */

typedef struct progress {
    int tty, json, val; /* val: the per-epoch evaluation is on a validation split */
    on_model *m;
    const char *out;         /* checkpoint path, or NULL */
    on_checkpoint_info info; /* what each checkpoint records */
    int saved_epoch;
} progress;

static int on_progress(void *user, const on_epoch_report *r) {
    progress *p = user;
    if (r->done) {
        if (p->tty) printf("\r\033[K");
        if (p->json)
            printf("{\"epoch\": %d, \"loss\": %.5f, \"train_accuracy\": %.5f, \"%s_loss\": %.5f, "
                   "\"%s_accuracy\": %.5f, \"seconds\": %.3f, \"images_per_s\": %.1f}\n",
                   r->epoch, r->loss, r->train_acc, p->val ? "val" : "test", r->test_loss,
                   p->val ? "val" : "test", r->test_acc, r->seconds, r->images_per_s);
        else
            printf("epoch %d/%d  loss %.4f  train acc %.2f%%  %s acc %.2f%%  %.1fs  %.0f img/s\n",
                   r->epoch, r->epochs, r->loss, 100 * r->train_acc, p->val ? "val" : "test",
                   100 * r->test_acc, r->seconds, r->images_per_s);
        fflush(stdout);
        if (p->out) {
            on_error err;
            p->info.epoch = r->epoch;
            if (on_checkpoint_save(p->m, p->out, &p->info, &err)) {
                fprintf(stderr, "ordnet train: cannot save the checkpoint: %s\n", err.msg);
                return 1;
            }
            p->saved_epoch = r->epoch;
        }
    } else if (p->tty && !p->json && (r->batch % 5 == 0 || r->batch == r->batches)) {
        int w = 30, fill = w * r->batch / r->batches;
        double eta = (r->batches - r->batch) * r->seconds / r->batch;
        printf("\repoch %d/%d [%.*s%*s] %d/%d  loss %.4f  %.0f img/s  ETA %.0fs ", r->epoch,
               r->epochs, fill, "##############################", w - fill, "", r->batch,
               r->batches, r->loss, r->images_per_s, eta);
        fflush(stdout);
    }
    return 0;
}

static int cmd_train(args *a) {
    on_train_cfg cfg = on_train_defaults();
    const char *model = REFERENCE_MODEL, *data = "fashion-mnist", *out = NULL;
    static const char *const opts[] = {"sgd", "adamw"};
    static const char *const scheds[] = {"const", "step", "cosine", "onecycle"};
    int limit = 0, test_limit = 0, json = 0, threads = 0, resume = 0, val = 0, keep = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--epochs"))
            cfg.epochs = (int)opt_num(a, 1, 1e6);
        else if (is_opt(a, "--batch"))
            cfg.batch = (int)opt_num(a, 1, 1 << 16);
        else if (is_opt(a, "--lr"))
            cfg.lr = (float)opt_num(a, 1e-9, 100);
        else if (is_opt(a, "--wd"))
            cfg.wd = (float)opt_num(a, 0, 10);
        else if (is_opt(a, "--momentum"))
            cfg.momentum = (float)opt_num(a, 0, 1);
        else if (is_opt(a, "--nesterov"))
            cfg.nesterov = 1;
        else if (is_opt(a, "--label-smoothing"))
            cfg.smoothing = (float)opt_num(a, 0, 1);
        else if (is_opt(a, "--clip"))
            cfg.clip = (float)opt_num(a, 0, 1e9);
        else if (is_opt(a, "--augment"))
            cfg.augment = 1;
        else if (is_opt(a, "--seed"))
            cfg.seed = (uint64_t)opt_num(a, 0, 1e18);
        else if (is_opt(a, "--opt"))
            cfg.opt = pick(a, opts, 2);
        else if (is_opt(a, "--schedule"))
            cfg.schedule = pick(a, scheds, 4);
        else if (is_opt(a, "--data"))
            data = opt_value(a);
        else if (is_opt(a, "--limit"))
            limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--test-limit"))
            test_limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--threads"))
            threads = (int)opt_num(a, 1, 1024);
        else if (is_opt(a, "--json"))
            json = 1;
        else if (is_opt(a, "-o") || is_opt(a, "--out"))
            out = opt_value(a);
        else if (is_opt(a, "--keep-order"))
            keep = 1;
        else if (is_opt(a, "--resume"))
            resume = 1;
        else if (is_opt(a, "--val"))
            val = (int)opt_num(a, 1, 1e9);
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet train: unknown option '%s' (see ordnet train --help)\n",
                    a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (resume && !out) {
        fprintf(stderr, "ordnet train: --resume needs -o CKPT, the checkpoint to continue\n");
        return 2;
    }
    if (threads) on_set_threads(threads);
    on_error err;
    on_dataset tr = {0}, te = {0};
    progress p = {.tty = isatty(1), .json = json, .out = out};
    on_model *m = NULL;
    int rc = 1;
    if (resume) {
        /* the checkpoint's own recipe and data: the run continues as if never stopped */
        if (!(m = on_checkpoint_load(out, &p.info, &err))) goto fail;
        cfg = p.info.cfg;
        cfg.start_epoch = p.info.epoch;
        data = p.info.data[0] ? p.info.data : data;
        if (cfg.start_epoch >= cfg.epochs) {
            printf("%s: already trained for all %d epochs\n", out, cfg.epochs);
            rc = 0;
            goto done;
        }
    }
    if (on_data_load(data, 1, limit, &tr, &err) ||
        on_data_load(data, 0, test_limit ? test_limit : limit, &te, &err))
        goto fail;
    if (!resume && !(m = load_model(model, NULL, tr.classes, &err))) goto fail;
    if (!resume && *on_model_notes(m) && !json) printf("%s", on_model_notes(m));
    if (!resume && !keep) { /* the cheapest member of the model's class trains the same weights */
        int changed = 0;
        on_model *r = on_reorder_cheapest(m, 0, &changed, &err);
        if (!r) goto fail;
        if (changed && !json) {
            char *a1 = on_model_to_spec(r);
            printf("training the equal, cheaper order (bit-identical weights; --keep-order to "
                   "train as written):\n  %s\n",
                   a1 ? a1 : "");
            free(a1);
        }
        on_model_free(m);
        m = r;
    }
    if (!resume) on_model_init(m, cfg.seed);
    on_dataset vs = {0}; /* a view of the last `val` training images, not freed */
    if (val) {
        if (val >= tr.n) {
            snprintf(err.msg, sizeof err.msg, "--val %d leaves no training images (of %d)", val,
                     tr.n);
            goto fail;
        }
        vs = tr;
        vs.n = val;
        vs.x = tr.x + (size_t)(tr.n - val) * on_shape_size(tr.shape);
        vs.y = tr.y + (tr.n - val);
        tr.n -= val;
        p.val = 1;
    }
    p.m = m;
    p.info.cfg = cfg;
    p.info.classes = tr.classes;
    snprintf(p.info.data, sizeof p.info.data, "%s", data);
    if (!json)
        printf("%s %d images (%d test) from %s, epochs %d-%d of %d, batch %d, %s %s lr %g, "
               "%zu parameters, %d threads\n",
               resume ? "resuming on" : "training on", tr.n, te.n, data, cfg.start_epoch + 1,
               cfg.epochs, cfg.epochs, cfg.batch, opts[cfg.opt], scheds[cfg.schedule], cfg.lr,
               on_model_num_params(m), on_get_threads());
    if (on_train(m, &tr, val ? &vs : &te, &cfg, on_progress, &p, &err)) {
        if (val) tr.n += val;
        fprintf(stderr, "ordnet train: %s\n", err.msg);
        if (out && p.saved_epoch)
            fprintf(stderr, "ordnet train: %s holds the last good state (epoch %d)\n", out,
                    p.saved_epoch);
        goto done;
    }
    if (val) {
        tr.n += val; /* give the view back before freeing */
        double tl, ta;
        if (on_evaluate(m, &te, 256, &tl, &ta, NULL, &err)) goto fail;
        if (json)
            printf("{\"test_loss\": %.5f, \"test_accuracy\": %.5f}\n", tl, ta);
        else
            printf("test: accuracy %.2f%%, loss %.4f (%d images)\n", 100 * ta, tl, te.n);
    }
    if (!out && !json) printf("(not saved: add -o model.ckpt to keep the weights)\n");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "ordnet train: %s\n", err.msg);
done:
    on_dataset_free(&tr);
    on_dataset_free(&te);
    on_model_free(m);
    return rc;
}

/* ----- eval ----- */

static int cmd_eval(args *a) {
    const char *ckpt = NULL, *data = NULL;
    int limit = 0, json = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--data"))
            data = opt_value(a);
        else if (is_opt(a, "--limit"))
            limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet eval: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            ckpt = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!ckpt) {
        fprintf(stderr, "ordnet eval: which checkpoint? (ordnet eval CKPT)\n");
        return 2;
    }
    on_error err;
    on_checkpoint_info info;
    on_dataset te = {0};
    long *conf = NULL;
    int rc = 1;
    on_model *m = on_checkpoint_load(ckpt, &info, &err);
    if (!m || on_data_load(data           ? data
                           : info.data[0] ? info.data
                                          : "fashion-mnist",
                           0, limit, &te, &err)) {
        fprintf(stderr, "ordnet eval: %s\n", err.msg);
        goto done;
    }
    int K = te.classes;
    conf = calloc((size_t)K * K, sizeof(long));
    double loss, acc;
    if (!conf || on_evaluate(m, &te, 256, &loss, &acc, conf, &err)) {
        fprintf(stderr, "ordnet eval: %s\n", err.msg);
        goto done;
    }
    if (json) {
        printf("{\"accuracy\": %.6f, \"loss\": %.6f, \"images\": %d, \"per_class\": [", acc, loss,
               te.n);
        for (int c = 0; c < K; c++) {
            long row = 0;
            for (int j = 0; j < K; j++) row += conf[c * K + j];
            printf("%s%.6f", c ? ", " : "", row ? (double)conf[c * K + c] / row : 0.0);
        }
        printf("], \"confusion\": [");
        for (int c = 0; c < K; c++) {
            printf("%s[", c ? ", " : "");
            for (int j = 0; j < K; j++) printf("%s%ld", j ? ", " : "", conf[c * K + j]);
            printf("]");
        }
        printf("]}\n");
    } else {
        printf("%s on %d images: accuracy %.2f%%, loss %.4f\n\nper class (rows: true class, "
               "columns: predicted)\n",
               ckpt, te.n, 100 * acc, loss);
        printf("class  acc%%  ");
        for (int j = 0; j < K; j++) printf("%6d", j);
        printf("\n");
        for (int c = 0; c < K; c++) {
            long row = 0;
            for (int j = 0; j < K; j++) row += conf[c * K + j];
            printf("%5d %5.1f  ", c, row ? 100.0 * conf[c * K + c] / row : 0.0);
            for (int j = 0; j < K; j++) printf("%6ld", conf[c * K + j]);
            printf("\n");
        }
    }
    rc = 0;
done:
    free(conf);
    on_dataset_free(&te);
    on_model_free(m);
    return rc;
}

/* ----- predict ----- */

static int cmd_predict(args *a) {
    const char *ckpt = NULL;
    int json = 0, first = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet predict: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else if (!ckpt) {
            ckpt = a->argv[a->i];
            first = a->i + 1;
        }
    }
    if (!ckpt || first >= a->argc) {
        fprintf(stderr, "usage: ordnet predict CKPT FILE... (PGM, PNG or IDX images)\n");
        return 2;
    }
    on_error err;
    on_model *m = on_checkpoint_load(ckpt, NULL, &err);
    if (!m || on_model_compile(m, 64, &err)) {
        fprintf(stderr, "ordnet predict: %s\n", err.msg);
        on_model_free(m);
        return 1;
    }
    on_shape in = on_model_node_shape(m, 0);
    size_t per = on_shape_size(in);
    int K = on_model_output_shape(m).c, rc = 0;
    float *x = malloc(sizeof(float) * per * 64), *prob = malloc(sizeof(float) * (size_t)K);
    const float *mean, *sd;
    on_model_normalization(m, &mean, &sd);
    for (int i = first; i < a->argc && x && prob; i++) {
        if (a->argv[i][0] == '-') continue;
        const char *path = a->argv[i];
        on_dataset d = {0};
        int is_idx = strstr(path, "idx") != NULL;
        if (is_idx ? on_idx_load(path, NULL, 0, &d, &err) : on_image_load(path, in, x, &err)) {
            fprintf(stderr, "ordnet predict: %s\n", err.msg);
            rc = 1;
            continue;
        }
        int n = is_idx ? d.n : 1;
        if (is_idx && on_shape_size(d.shape) != per) {
            fprintf(stderr, "ordnet predict: %s: images of %dx%d, the model takes %dx%d\n", path,
                    d.shape.w, d.shape.h, in.w, in.h);
            on_dataset_free(&d);
            rc = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            if (is_idx) memcpy(x, d.x + (size_t)k * per, sizeof(float) * per);
            for (int c = 0; mean && c < in.c; c++)
                for (size_t j = 0; j < per / (size_t)in.c; j++) {
                    float *v = x + (size_t)c * (per / (size_t)in.c) + j;
                    *v = (*v - mean[c]) / sd[c];
                }
            on_model_forward(m, x, 1, 0);
            const float *z = on_model_output(m);
            float mx = z[0], s = 0;
            int best = 0;
            for (int j = 1; j < K; j++)
                if (z[j] > mx) mx = z[j], best = j;
            for (int j = 0; j < K; j++) s += prob[j] = expf(z[j] - mx);
            if (json)
                printf("{\"file\": \"%s\", \"index\": %d, \"class\": %d, \"probabilities\": [",
                       path, k, best);
            else
                printf("%s%s%.0d: class %d (%.1f%%)  [", path, is_idx ? "#" : "", is_idx ? k : 0,
                       best, 100 * prob[best] / s);
            for (int j = 0; j < K; j++) printf("%s%.4f", j ? ", " : "", prob[j] / s);
            printf(json ? "]}\n" : "]\n");
        }
        on_dataset_free(&d);
    }
    free(x);
    free(prob);
    on_model_free(m);
    return rc;
}

/* ----- analyze ----- */

static int cmd_analyze(args *a) {
    const char *model = NULL, *block = NULL;
    int infer = 0, json = 0, measure = 0;
    static const char *const modes[] = {"train", "infer"};
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--mode"))
            infer = pick(a, modes, 2);
        else if (is_opt(a, "--measure"))
            measure = 1;
        else if (is_opt(a, "--block"))
            block = opt_value(a);
        else if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet analyze: unknown option '%s' (see ordnet analyze --help)\n",
                    a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model && !block) block = "bn,relu,maxpool,dropout(0.2)";
    on_error err;
    on_model *m = NULL;
    int weights = model && is_checkpoint(model);
    if (model &&
        !(m = weights ? on_checkpoint_load(model, NULL, &err) : load_model(model, NULL, 0, &err))) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    char *r = on_analyze_report(m, infer, weights, block, measure, json, &err);
    on_model_free(m);
    if (!r) {
        fprintf(stderr, "ordnet analyze: %s\n", err.msg);
        return 1;
    }
    fputs(r, stdout);
    if (json) putchar('\n');
    free(r);
    return 0;
}

/* ----- optimize ----- */

static int cmd_optimize(args *a) {
    const char *ckpt = NULL, *out = NULL, *data = NULL;
    int verify = 0, json = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "-o") || is_opt(a, "--out"))
            out = opt_value(a);
        else if (is_opt(a, "--verify"))
            verify = 1;
        else if (is_opt(a, "--data"))
            data = opt_value(a);
        else if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet optimize: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            ckpt = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!ckpt || !out) {
        fprintf(stderr, "usage: ordnet optimize CKPT -o OUT [--verify] [--data D] [--json]\n");
        return 2;
    }
    on_error err;
    on_checkpoint_info info;
    on_dataset te = {0};
    on_rewrite rw[64];
    int nrw = 0, rc = 1;
    on_model *m = on_checkpoint_load(ckpt, &info, &err), *o = NULL;
    if (!m || !(o = on_optimize(m, rw, 64, &nrw, &err))) goto fail;
    double f0 = 0, f1 = 0;
    for (int i = 1; i < on_model_num_nodes(m); i++) f0 += on_model_node_cost(m, i).flops_fwd;
    for (int i = 1; i < on_model_num_nodes(o); i++) f1 += on_model_node_cost(o, i).flops_fwd;
    int exact = 1;
    for (int k = 0; k < nrw; k++) exact &= rw[k].exact;
    char *before = on_model_to_spec(m), *after = on_model_to_spec(o);
    if (!json) {
        printf("%s\n  %s\n->\n  %s\n", ckpt, before, after);
        for (int k = 0; k < nrw; k++)
            printf("  %-8s %s\n", rw[k].exact ? "exact" : "rounding", rw[k].what);
        printf("forward FLOPs per sample: %.0f -> %.0f (%.1f%% less)\n", f0, f1,
               f0 > 0 ? 100 * (f0 - f1) / f0 : 0.0);
    }
    free(before);
    free(after);
    if (on_checkpoint_save(o, out, &info, &err)) goto fail;
    if (!json) printf("saved %s\n", out);
    on_verify v = {0};
    if (verify) {
        const char *d = data ? data : info.data[0] ? info.data : NULL;
        if (d && on_data_load(d, 0, 200, &te, &err)) goto fail;
        if (on_verify_models(m, o, d ? &te : NULL, 200, &v, &err)) goto fail;
        if (!json) {
            printf("verify: %d inputs (%d random%s%s): ", v.samples,
                   d ? v.samples - te.n : v.samples, d ? ", rest from " : "", d ? d : "");
            if (v.bit_identical)
                printf("bit-identical\n");
            else
                printf("max abs diff %.2g, max rel diff %.2g%s\n", v.max_abs, v.max_rel,
                       exact ? "" : " (some rewrites are exact only up to rounding)");
        }
        if ((exact && !v.bit_identical) || v.max_rel >= 1e-5) {
            fprintf(stderr,
                    "ordnet optimize: the optimized model differs more than the rewrites allow\n");
            goto done;
        }
    }
    if (json) {
        printf("{\"rewrites\": [");
        for (int k = 0; k < nrw; k++)
            printf("%s{\"what\": \"%s\", \"exact\": %s}", k ? ", " : "", rw[k].what,
                   rw[k].exact ? "true" : "false");
        printf("], \"flops\": %.0f, \"flops_optimized\": %.0f", f0, f1);
        if (verify)
            printf(", \"verify\": {\"samples\": %d, \"max_abs\": %g, \"max_rel\": %g, "
                   "\"bit_identical\": %s}",
                   v.samples, v.max_abs, v.max_rel, v.bit_identical ? "true" : "false");
        printf("}\n");
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "ordnet optimize: %s\n", err.msg);
done:
    on_dataset_free(&te);
    on_model_free(m);
    on_model_free(o);
    return rc;
}

/* ----- study ----- */

static void print_line(void *user, const char *line) {
    (void)user;
    printf("%s\n", line);
    fflush(stdout);
}

static int cmd_study(args *a) {
    on_study_cfg c = on_study_defaults();
    int full = 0, epochs = 0, limit = 0, test_limit = 0, seeds = 0, json = 0;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--block"))
            c.block = opt_value(a);
        else if (is_opt(a, "--orders"))
            c.orders = opt_value(a);
        else if (is_opt(a, "--seeds"))
            seeds = (int)opt_num(a, 1, 1000);
        else if (is_opt(a, "--epochs"))
            epochs = (int)opt_num(a, 1, 1000);
        else if (is_opt(a, "--limit"))
            limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--test-limit"))
            test_limit = (int)opt_num(a, 1, 1e9);
        else if (is_opt(a, "--data"))
            c.data = opt_value(a);
        else if (is_opt(a, "--out"))
            c.out = opt_value(a);
        else if (is_opt(a, "--jobs"))
            c.jobs = (int)opt_num(a, 1, 64);
        else if (is_opt(a, "--threads"))
            c.threads = (int)opt_num(a, 1, 1024);
        else if (is_opt(a, "--full"))
            full = 1;
        else if (is_opt(a, "--json"))
            json = 1;
        else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet study: unknown option '%s' (see ordnet study --help)\n",
                    a->argv[a->i]);
            return 2;
        } else
            c.model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (full) { /* the long version: all the data, more epochs and seeds */
        c.epochs = 15;
        c.limit = 0;
        c.test_limit = 0;
        c.seeds = 5;
    }
    if (epochs) c.epochs = epochs;
    if (limit) c.limit = limit;
    if (test_limit) c.test_limit = test_limit;
    if (seeds) c.seeds = seeds;
    if (c.jobs > 1 && !c.threads)
        c.threads = on_get_threads() / c.jobs > 0 ? on_get_threads() / c.jobs : 1;
    if (c.threads && c.jobs == 1) on_set_threads(c.threads);
    c.log = json ? NULL : print_line;
    on_error err;
    if (on_study_run(&c, &err)) {
        fprintf(stderr, "ordnet study: %s\n", err.msg);
        return 1;
    }
    if (json) { /* the report's results.json, for scripts */
        char path[4096];
        snprintf(path, sizeof path, "%s/results.json", c.out);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "ordnet study: %s: cannot read\n", path);
            return 1;
        }
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, stdout);
        fclose(f);
        putchar('\n');
    }
    return 0;
}

/* ----- summary ----- */

static int cmd_summary(args *a) {
    const char *model = NULL;
    int json = 0, classes = 10, has_input = 0;
    on_shape input;
    for (; a->i < a->argc && !a->bad; a->i++) {
        if (is_opt(a, "--json"))
            json = 1;
        else if (is_opt(a, "--classes"))
            classes = (int)opt_num(a, 0, 1e6);
        else if (is_opt(a, "--input")) {
            const char *v = opt_value(a);
            if (parse_shape(v, &input)) {
                fprintf(stderr,
                        "ordnet summary: --input '%s': give the shape as Keras does, e.g. 28,28,1 "
                        "or 128,16\n",
                        v);
                return 2;
            }
            has_input = 1;
        } else if (a->argv[a->i][0] == '-') {
            fprintf(stderr, "ordnet summary: unknown option '%s'\n", a->argv[a->i]);
            return 2;
        } else
            model = a->argv[a->i];
    }
    if (a->bad) return 2;
    if (!model) {
        fprintf(stderr, "usage: ordnet summary MODEL [--input SHAPE] [--classes N] [--json]\n");
        return 2;
    }
    on_error err;
    on_model *m = load_model(model, has_input ? &input : NULL, classes, &err);
    if (!m) {
        fprintf(stderr, "ordnet summary: %s\n", err.msg);
        return 1;
    }
    char *s = on_model_summary(m, json);
    on_model_free(m);
    if (!s) return 1;
    fputs(s, stdout);
    if (json) putchar('\n');
    free(s);
    return 0;
}

/* ----- ops ----- */

static int cmd_ops(args *a) {
    (void)a;
    for (int i = 0; i < on_op_count(); i++) printf("%s\n", on_op_name(on_op_at(i)));
    return 0;
}

/* ----- the table ----- */

typedef struct command {
    const char *name;
    int (*run)(args *a);
    const char *summary, *help;
} command;

static const command commands[] = {
    {"study", cmd_study, "train every distinct order of a block and report what matters",
     "usage: ordnet study [MODEL] [options]\n"
     "Trains one member (the cheapest) of every training-equivalence class of the orders of a\n"
     "block, over several seeds, and writes report.md, report.svg, results.csv, results.json.\n"
     "MODEL: compact form with the block in braces, e.g.\n"
     "  \"input(28,28,1) conv2d(32,3,same) {bn relu maxpool dropout(0.2)} conv2d(64,3,same)\n"
     "   {bn relu maxpool dropout(0.2)} flatten dense(10)\"  (every {...} gets the same order),\n"
     "or a model file (Keras or compact) whose runs of the --block layers are permuted.\n"
     "Default: the reference model above on Fashion-MNIST.\n"
     "options:\n"
     "  --block \"bn,relu,maxpool,dropout(0.2)\"   the layers to permute\n"
     "  --orders \"o1;o2;...\"   only these orders (each: the block's layers, space-separated)\n"
     "  --seeds N (3)  --epochs N (3)  --limit N (12000 training images)  --test-limit N (5000)\n"
     "  --full                 the long version: all 60000 images, 15 epochs, 5 seeds\n"
     "  --data fashion-mnist|DIR  --out DIR (study-out)  --jobs N (parallel runs)  --threads N\n"
     "  --json                 no progress lines; print results.json at the end\n"
     "Runs are stored in DIR/study.sqlite as they finish; the same command again resumes.\n"},
    {"train", cmd_train, "train a model on a data set",
     "usage: ordnet train [MODEL] [options]\n"
     "MODEL is the compact form (quoted) or a file holding it; default: the reference model\n"
     "  " REFERENCE_MODEL "\n"
     "options:\n"
     "  --data fashion-mnist|DIR  IDX data (default fashion-mnist, Debian's "
     "dataset-fashion-mnist)\n"
     "  --limit N                 use the first N training (and test) images\n"
     "  --test-limit N            use the first N test images\n"
     "  --epochs N (5)  --batch N (128)  --lr X (3e-3)  --wd X (1e-2)\n"
     "  --opt sgd|adamw (adamw)   --schedule const|step|cosine|onecycle (onecycle)\n"
     "  --momentum X (0.9; AdamW beta1)  --nesterov  --label-smoothing X (0.1)  --clip X\n"
     "  --augment                 random shifts of up to 2 pixels and horizontal flips\n"
     "  --seed N (42)  --threads N  --json (one JSON object per epoch)\n"
     "  --keep-order              train the layers in the order written (by default ordnet\n"
     "                            trains the cheapest order of the model's class: the same\n"
     "                            weights bit for bit, see docs/ORDERING.md)\n"
     "  --val N                   hold out the last N training images: evaluate on them each\n"
     "                            epoch, and on the test set at the end\n"
     "  -o CKPT                   save a checkpoint after every epoch (atomically)\n"
     "  --resume                  continue the run saved in CKPT (-o) to the same final weights\n"
     "--data also reads CIFAR-10 binary (data_batch_1.bin) and CSV/TSV (label then values per\n"
     "line: train.csv/test.csv or UCR-style NAME_TRAIN.tsv/NAME_TEST.tsv; 1-D signals).\n"},
    {"eval", cmd_eval, "accuracy, loss, per-class accuracy and confusion matrix of a checkpoint",
     "usage: ordnet eval CKPT [--data fashion-mnist|DIR] [--limit N] [--json]\n"
     "Evaluates on the test split of the data the checkpoint was trained on (or --data).\n"
     "--json prints {\"accuracy\", \"loss\", \"images\", \"per_class\", \"confusion\"}.\n"},
    {"predict", cmd_predict, "classify images with a checkpoint",
     "usage: ordnet predict CKPT FILE... [--json]\n"
     "FILE: a PGM or PNG image of the model's size, or an IDX image file (every image in it).\n"
     "Prints the class and the probabilities of each image.\n"},
    {"analyze", cmd_analyze, "which adjacent layers commute, and the cheapest equal order",
     "usage: ordnet analyze [MODEL|CKPT] [--mode train|infer] [--block "
     "\"bn,relu,maxpool,dropout(0.2)\"]\n"
     "                      [--measure] [--json]\n"
     "For each adjacent pair of MODEL: exact, exact-with-change, conditional, rounding,\n"
     "approximate or never, with the reason and the cost of both orders; then the orders\n"
     "equal to MODEL by proof and the cheapest. --block: every permutation of the block\n"
     "(after MODEL's first convolution) grouped into classes. No MODEL and no --block:\n"
     "the default block. --mode: training (default) or inference rules. With a checkpoint,\n"
     "conditions on the weights (BN scale signs, PReLU slopes) are decided, not stated.\n"
     "--measure times the cheapest order of each class for real (batch of 64).\n"},
    {"optimize", cmd_optimize, "rewrite a trained model into its cheapest exactly-equal form",
     "usage: ordnet optimize CKPT -o OUT [--verify] [--data D] [--json]\n"
     "Removes dropout, folds BatchNorm into the preceding conv/dense, moves pools before\n"
     "layers they commute with exactly (decided on the checkpoint's weights), drops repeated\n"
     "idempotent layers and merges stacked max-pools; writes OUT as a checkpoint.\n"
     "--verify runs random and real inputs through both models and prints the largest\n"
     "absolute and relative difference, or bit-identical; it fails when the difference is\n"
     "more than the rewrites allow. See docs/OPTIMIZE.md.\n"},
    {"summary", cmd_summary, "a Keras-like table of a model: shapes, parameters, FLOPs",
     "usage: ordnet summary MODEL [--input SHAPE] [--classes N] [--json]\n"
     "MODEL: a file of Keras code (functional, Sequential, model.add) or of the compact form,\n"
     "or the compact form itself. --input 28,28,1 gives or replaces the input shape (Keras\n"
     "order, channels last). A model that does not end in dense(N) gets a classifier head\n"
     "(flatten if needed, dense(N), N = --classes, default 10), shown in the notes.\n"
     "--json prints {\"layers\": [{\"name\", \"type\", \"output_shape\", \"params\", \"flops\"}],\n"
     "\"total_params\", \"trainable_params\", \"total_flops\", \"notes\"}. See docs/MODELS.md.\n"},
    {"ops", cmd_ops, "list the layers ordnet has", "usage: ordnet ops\n"},
};

static void usage(FILE *f) {
    fprintf(f,
            "ordnet %s: does the order of your layers matter?\n\nusage: ordnet COMMAND [ARGS]\n\n",
            ORDNET_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nordnet COMMAND --help describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ordnet %s\n", ORDNET_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name)) continue;
        for (int k = 2; k < argc; k++)
            if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
                fputs(commands[i].help, stdout);
                return 0;
            }
        args a = {argc, 2, argv, 0};
        return commands[i].run(&a);
    }
    fprintf(stderr, "ordnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
