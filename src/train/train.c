/* train.c - the training loop and evaluation: batches from a seeded shuffle, per-channel
 * normalization, optional augmentation, LR schedules, optimizer steps, a report per batch
 * and per epoch through a callback. Everything random is a pure function of the seed,
 * the epoch and the sample index, so a run is reproducible and resumable at any epoch.
 */
#include "../graph.h"
#include "../base/base.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ON_PI 3.14159265358979323846

on_train_cfg on_train_defaults(void) {
    return (on_train_cfg){.epochs = 5,
                          .batch = 128,
                          .opt = ON_OPT_ADAMW,
                          .schedule = ON_SCHED_ONECYCLE,
                          .lr = 3e-3f,
                          .wd = 1e-2f,
                          .momentum = 0.9f,
                          .smoothing = 0.1f,
                          .seed = 42};
}

/* Learning rate at fraction f in [0,1) of training. One-cycle follows fastai's
 * fit_one_cycle: cosine warm-up from lr/25 over the first 25%, then cosine annealing to
 * lr/25e4. Step: divide by 10 at 50% and 75%. */
static float schedule_lr(const on_train_cfg *c, double f) {
    double lr = c->lr;
    switch (c->schedule) {
    case ON_SCHED_STEP:
        return (float)(lr * (f < 0.5 ? 1 : f < 0.75 ? 0.1 : 0.01));
    case ON_SCHED_COSINE:
        return (float)(lr * 0.5 * (1 + cos(ON_PI * f)));
    case ON_SCHED_ONECYCLE: {
        double pct = 0.25, lo = lr / 25, end = lr / 25e4;
        if (f < pct) return (float)(lo + (lr - lo) * 0.5 * (1 - cos(ON_PI * f / pct)));
        return (float)(end + (lr - end) * 0.5 * (1 + cos(ON_PI * (f - pct) / (1 - pct))));
    }
    default:
        return (float)lr;
    }
}

/* Mean and standard deviation per channel over the whole set. */
static void channel_stats(const on_dataset *d, float *mean, float *std) {
    int C = d->shape.c;
    size_t S = on_shape_size(d->shape) / (size_t)C;
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < d->n; i++) {
            const float *x = d->x + ((size_t)i * C + c) * S;
            for (size_t j = 0; j < S; j++) {
                s += x[j];
                s2 += (double)x[j] * x[j];
            }
        }
        double cnt = (double)d->n * S, mu = s / cnt;
        mean[c] = (float)mu;
        std[c] = (float)sqrt(fmax(s2 / cnt - mu * mu, 1e-12));
    }
}

/* Copy sample `src` of d into dst, normalized; with aug, shifted by (dy,dx) in [-2,2] with
 * zero (mean) fill and flipped horizontally, both drawn from (seed, epoch, index). */
static void fill_sample(const on_model *m, const on_dataset *d, int src, float *dst, int aug,
                        uint64_t key) {
    on_shape s = d->shape;
    size_t S = (size_t)s.h * s.w;
    const float *x = d->x + (size_t)src * on_shape_size(s);
    int sy = 0, sx = 0, flip = 0;
    if (aug) {
        sy = s.h > 1 ? (int)(on_uniform(key, 0) * 5) - 2 : 0;
        sx = (int)(on_uniform(key, 1) * 5) - 2;
        flip = s.h > 1 && on_uniform(key, 2) < 0.5f;
    }
    for (int c = 0; c < s.c; c++) {
        float mu = m->norm ? m->norm[c] : 0, inv = m->norm ? 1.0f / m->norm[s.c + c] : 1;
        const float *xc = x + c * S;
        float *o = dst + c * S;
        if (!aug) {
            for (size_t j = 0; j < S; j++) o[j] = (xc[j] - mu) * inv;
            continue;
        }
        for (int i = 0; i < s.h; i++)
            for (int j = 0; j < s.w; j++) {
                int yi = i + sy, xj = (flip ? s.w - 1 - j : j) + sx;
                o[i * s.w + j] = (yi >= 0 && yi < s.h && xj >= 0 && xj < s.w)
                                     ? (xc[yi * s.w + xj] - mu) * inv
                                     : 0.0f;
            }
    }
}

static int check_data(const on_model *m, const on_dataset *d, const char *what, on_error *err) {
    on_shape a = m->input, b = d->shape;
    char sa[48], sb[48];
    if (on_shape_size(a) != on_shape_size(b) || a.c != b.c)
        return on_fail(err, "the %s data has samples of shape %s but the model's input is %s", what,
                       on_shape_str(b, sb, sizeof sb), on_shape_str(a, sa, sizeof sa));
    on_shape o = on_model_output_shape(m);
    if (o.rank == 1 && o.c == 1 && d->classes > 2)
        return on_fail(err,
                       "the %s data has %d classes but the model is a binary classifier (one "
                       "output, trained with binary cross-entropy: 2 classes, labels 0 and 1): "
                       "end the model with dense(%d)",
                       what, d->classes, d->classes);
    if (o.rank != 1 || (o.c < d->classes && o.c != 1))
        return on_fail(
            err,
            "the %s data has %d classes but the model outputs %s: end the model with dense(%d)",
            what, d->classes, on_shape_str(o, sa, sizeof sa), d->classes);
    return 0;
}

/* The class row i of out (n x k) predicts: the argmax; with one output (a binary
 * classifier, out a probability) 1 when it is above 0.5, as Keras's binary_accuracy
 * (y_pred > threshold). */
static int predicted(const float *out, int i, int k) {
    const float *z = out + (size_t)i * k;
    if (k == 1) return z[0] > 0.5f;
    int best = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

/* Number of rows of out (n x k) whose prediction is the label. */
static int count_correct(const float *out, const int *labels, int n, int k) {
    int ok = 0;
    for (int i = 0; i < n; i++) ok += predicted(out, i, k) == labels[i];
    return ok;
}

static int evaluate(on_model *m, const on_dataset *d, int batch, double *loss, double *acc,
                    long *confusion, on_error *err);

int on_evaluate(on_model *m, const on_dataset *d, int batch, double *loss, double *acc,
                long *confusion, on_error *err) {
    on_dataset fit;
    if (on_model_check_one_input(m, err)) return -1;
    int copy = on_dataset_fit(m, d, &fit, err);
    if (copy < 0) return -1;
    int rc = evaluate(m, &fit, batch, loss, acc, confusion, err);
    if (copy) on_dataset_free(&fit);
    return rc;
}

static int evaluate(on_model *m, const on_dataset *d, int batch, double *loss, double *acc,
                    long *confusion, on_error *err) {
    if (check_data(m, d, "evaluation", err)) return -1;
    if (m->batch < batch && on_model_compile(m, batch, err)) return -1;
    size_t per = on_shape_size(d->shape);
    float *buf = malloc(sizeof(float) * per * (size_t)batch);
    if (!buf) return on_fail(err, "out of memory");
    int k = on_model_output_shape(m).c, correct = 0;
    double total = 0;
    for (int b0 = 0; b0 < d->n; b0 += batch) {
        int n = d->n - b0 < batch ? d->n - b0 : batch;
        for (int i = 0; i < n; i++) fill_sample(m, d, b0 + i, buf + per * i, 0, 0);
        if (on_model_forward(m, buf, n, 0)) {
            free(buf);
            return on_fail(err, "%s", on_model_last_error(m));
        }
        const float *out = on_model_output(m);
        /* the training loss without smoothing: binary or softmax cross-entropy plus the
         * regularizers, as Keras's evaluate reports it */
        total += (double)on_model_loss(m, d->y + b0, 0.0f) * n;
        correct += count_correct(out, d->y + b0, n, k);
        if (confusion)
            for (int i = 0; i < n; i++) {
                int best = predicted(out, i, k);
                if (best < d->classes) confusion[d->y[b0 + i] * d->classes + best]++;
            }
    }
    free(buf);
    *loss = d->n ? total / d->n : 0;
    *acc = d->n ? (double)correct / d->n : 0;
    return 0;
}

/* Batch b of an epoch: samples perm[b*B ..], normalized (and augmented) into buf. A pure
 * function of its arguments, so it may run on another thread. */
typedef struct batch_job {
    const on_model *m;
    const on_dataset *d;
    const int *perm;
    float *buf;
    int *labels;
    size_t per;
    int B, b, augment;
    uint64_t ekey;
    const on_train_dist *dist; /* NULL: the whole batch; else this process's share */
} batch_job;

/* This process's share [*lo, *lo + *cnt) of batch b (n samples): contiguous slices, the
 * first ranks taking one fewer when n does not divide. */
static void shard(const on_train_dist *d, int n, int *lo, int *cnt) {
    if (!d || d->size <= 1) {
        *lo = 0, *cnt = n;
        return;
    }
    int a = (int)((long)n * d->rank / d->size), b = (int)((long)n * (d->rank + 1) / d->size);
    *lo = a, *cnt = b - a;
}

static void *fill_batch(void *arg) {
    const batch_job *j = arg;
    int N = j->d->n, n = N - j->b * j->B < j->B ? N - j->b * j->B : j->B, lo;
    shard(j->dist, n, &lo, &n);
    for (int i = 0; i < n; i++) {
        int src = j->perm[j->b * j->B + lo + i];
        fill_sample(j->m, j->d, src, j->buf + j->per * i, j->augment,
                    on_mix64(j->ekey ^ (uint64_t)src * 0x9E3779B97F4A7C15ull));
        j->labels[i] = j->d->y[src];
    }
    return NULL;
}

int on_train(on_model *m, const on_dataset *train, const on_dataset *test, const on_train_cfg *cfg,
             on_train_cb cb, void *user, on_error *err) {
    return on_train_distributed(m, train, test, cfg, NULL, cb, user, err);
}

/* Data-parallel: scale this process's gradient by its share of the batch, then sum the
 * gradients, the loss and the correct count over the processes in one reduction, so the
 * optimizer step (and the gradient clipping) sees the whole batch's mean gradient. */
static int reduce_step(on_model *m, const on_train_dist *d, float *red, int n, int nl, double *loss,
                       long *correct) {
    float share = (float)nl / (float)n;
    for (size_t i = 0; i < m->np; i++) red[i] = m->grads[i] * share;
    red[m->np] = (float)(*loss * nl);
    red[m->np + 1] = (float)*correct;
    if (d->allreduce(d->ctx, red, m->np + 2)) return -1;
    memcpy(m->grads, red, sizeof(float) * m->np);
    *loss = red[m->np] / n;
    *correct = lroundf(red[m->np + 1]);
    return 0;
}

static int train_fitted(on_model *m, const on_dataset *train, const on_dataset *test,
                        const on_train_cfg *cfg, const on_train_dist *dist, on_train_cb cb,
                        void *user, on_error *err);

/* Texts are fitted to the model's Embedding once (text_fit.c), then trained on. */
int on_train_distributed(on_model *m, const on_dataset *train, const on_dataset *test,
                         const on_train_cfg *cfg, const on_train_dist *dist, on_train_cb cb,
                         void *user, on_error *err) {
    on_dataset tr, te;
    if (on_model_check_one_input(m, err)) return -1;
    int ctr = on_dataset_fit(m, train, &tr, err), cte = 0;
    if (ctr < 0) return -1;
    if (test && (cte = on_dataset_fit(m, test, &te, err)) < 0) {
        if (ctr) on_dataset_free(&tr);
        return -1;
    }
    int rc = train_fitted(m, &tr, test ? &te : NULL, cfg, dist, cb, user, err);
    if (ctr) on_dataset_free(&tr);
    if (cte) on_dataset_free(&te);
    return rc;
}

static int train_fitted(on_model *m, const on_dataset *train, const on_dataset *test,
                        const on_train_cfg *cfg, const on_train_dist *dist, on_train_cb cb,
                        void *user, on_error *err) {
    if (dist && (dist->size < 1 || dist->rank < 0 || dist->rank >= dist->size ||
                 (dist->size > 1 && !dist->allreduce)))
        return on_fail(err, "data-parallel training: rank %d of %d, %s", dist->rank, dist->size,
                       dist->allreduce ? "out of range" : "no allreduce");
    if (dist && dist->size <= 1) dist = NULL;
    if (dist && dist->sync_bn) { /* every rank must take part in every BatchNorm's sums */
        int last = train->n % cfg->batch ? train->n % cfg->batch : cfg->batch;
        if ((cfg->batch < train->n ? cfg->batch : train->n) < dist->size ||
            (train->n > cfg->batch && last < dist->size))
            return on_fail(err,
                           "synchronized BatchNorm over %d processes needs at least %d samples "
                           "in every batch (batch %d, %d samples: the last batch has %d)",
                           dist->size, dist->size, cfg->batch, train->n, last);
    }
    if (cfg->epochs < 1 || cfg->batch < 1)
        return on_fail(err, "epochs and batch must be positive (got %d, %d)", cfg->epochs,
                       cfg->batch);
    if (!(cfg->lr > 0)) return on_fail(err, "learning rate must be positive, got %g", cfg->lr);
    if (train->n < 1) return on_fail(err, "the training set is empty");
    if (check_data(m, train, "training", err) || (test && check_data(m, test, "test", err)))
        return -1;
    if (m->batch < cfg->batch && on_model_compile(m, cfg->batch, err)) return -1;
    /* token ids (an Embedding's input) are neither normalized nor augmented */
    int ids = on_model_takes_ids(m) > 0, augment = cfg->augment && !ids;
    if (!m->norm && !ids) {
        float *ms = malloc(sizeof(float) * 2 * (size_t)train->shape.c);
        if (!ms) return on_fail(err, "out of memory");
        channel_stats(train, ms, ms + train->shape.c);
        on_model_set_normalization(m, ms, ms + train->shape.c);
        free(ms);
    }
    /* dropout masks: a function of (seed, layer name, step); each rank of a data-parallel
     * run draws its own (its samples are others) */
    m->seed = dist ? on_mix64(cfg->seed ^ on_mix64(0xD15700ull + (uint64_t)dist->rank)) : cfg->seed;
    size_t per = on_shape_size(train->shape);
    int N = train->n, B = cfg->batch, nb = (N + B - 1) / B, k = on_model_output_shape(m).c;
    /* two batch buffers: the next batch is prepared on a thread while this one trains */
    float *bufs = malloc(sizeof(float) * per * (size_t)B * 2);
    int *perm = malloc(sizeof(int) * (size_t)N), *labs = malloc(sizeof(int) * (size_t)B * 2);
    float *red = dist ? malloc(sizeof(float) * (m->np + 2)) : NULL;
    int rc = 0, widest = 0;
    for (int i = 1; i < m->nn; i++)
        if (m->nodes[i].op && !strcmp(m->nodes[i].op->name, "batchnorm") &&
            m->nodes[m->nodes[i].in[0]].ys.c > widest)
            widest = m->nodes[m->nodes[i].in[0]].ys.c;
    double *sync_buf =
        dist && dist->sync_bn && widest ? malloc(sizeof(double) * 3 * (size_t)widest) : NULL;
    if (!bufs || !perm || !labs || (dist && !red) ||
        (dist && dist->sync_bn && widest && !sync_buf)) {
        rc = on_fail(err, "out of memory");
        goto done;
    }
    if (sync_buf) {
        m->sync = dist->sync_bn;
        m->sync_ctx = dist->ctx;
        m->sync_buf = sync_buf;
    }
    long total_steps = (long)cfg->epochs * nb;
    for (int e = cfg->start_epoch; e < cfg->epochs && !rc; e++) {
        /* the shuffle and the dropout step counter depend only on (seed, epoch) */
        uint64_t ekey = on_mix64(cfg->seed ^ on_mix64(0x5EED0000ull + (uint64_t)e));
        for (int i = 0; i < N; i++) perm[i] = i;
        for (int i = N - 1; i > 0; i--) {
            int j = (int)(on_mix64(ekey + (uint64_t)i) % (uint64_t)(i + 1));
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        on_model_set_step(m, (uint64_t)e * (uint64_t)nb);
        on_epoch_report r = {
            .epoch = e + 1, .epochs = cfg->epochs, .batches = nb, .test_loss = -1, .test_acc = -1};
        double t0 = on_seconds(), lsum = 0;
        long seen = 0, correct = 0;
        batch_job next = {m, train, perm, bufs, labs, per, B, 0, augment, ekey, dist};
        fill_batch(&next);
        for (int b = 0; b < nb; b++) {
            int n = N - b * B < B ? N - b * B : B;
            float *buf = bufs + per * (size_t)B * (b & 1);
            int *labels = labs + (size_t)B * (b & 1);
            pthread_t th;
            int threaded = 0;
            if (b + 1 < nb) {
                next = (batch_job){m,
                                   train,
                                   perm,
                                   bufs + per * (size_t)B * ((b + 1) & 1),
                                   labs + (size_t)B * ((b + 1) & 1),
                                   per,
                                   B,
                                   b + 1,
                                   augment,
                                   ekey,
                                   dist};
                threaded = !pthread_create(&th, NULL, fill_batch, &next);
                if (!threaded) fill_batch(&next);
            }
            long step = (long)e * nb + b;
            float lr = schedule_lr(cfg, (double)step / (double)total_steps);
            int lo, nl;
            shard(dist, n, &lo, &nl);
            float loss = 0;
            long ok = 0;
            if (nl && on_model_forward(m, buf, nl, 1)) {
                if (threaded) pthread_join(th, NULL);
                rc = on_fail(err, "epoch %d, batch %d: %s", e + 1, b + 1, on_model_last_error(m));
                break;
            }
            if (nl) {
                loss = on_model_loss(m, labels, cfg->smoothing);
                ok = count_correct(on_model_output(m), labels, nl, k);
                on_model_zero_grad(m);
                on_model_backward(m);
            } else
                on_model_zero_grad(m); /* a rank with no sample of a short last batch */
            if (dist) {
                double l = loss;
                if (reduce_step(m, dist, red, n, nl, &l, &ok)) {
                    if (threaded) pthread_join(th, NULL);
                    rc = on_fail(err,
                                 "data-parallel training: the gradient reduction failed at "
                                 "epoch %d, batch %d",
                                 e + 1, b + 1);
                    break;
                }
                loss = (float)l;
            }
            if (!isfinite(loss)) {
                if (threaded) pthread_join(th, NULL);
                rc = on_fail(err,
                             "training diverged at epoch %d, batch %d: loss is %g (try a lower "
                             "--lr than %g)",
                             e + 1, b + 1, loss, cfg->lr);
                break;
            }
            if (cfg->clip > 0) on_clip_grad_norm(m, cfg->clip);
            if (cfg->opt == ON_OPT_ADAMW)
                on_adamw_step(m, lr, cfg->momentum, 0.999f, 1e-8f, cfg->wd, step + 1);
            else
                on_sgd_step(m, lr, cfg->momentum, cfg->wd, cfg->nesterov);
            lsum += (double)loss * n;
            seen += n;
            correct += ok;
            r.batch = b + 1;
            r.loss = lsum / seen;
            r.train_acc = (double)correct / seen;
            r.lr = lr;
            r.seconds = on_seconds() - t0;
            r.images_per_s = seen / (r.seconds > 0 ? r.seconds : 1e-9);
            if (threaded) pthread_join(th, NULL);
            if (cb && cb(user, &r)) {
                rc = on_fail(err, "stopped");
                break;
            }
        }
        if (rc) break;
        r.seconds = on_seconds() - t0;
        r.images_per_s = seen / (r.seconds > 0 ? r.seconds : 1e-9);
        if (test && on_evaluate(m, test, B, &r.test_loss, &r.test_acc, NULL, err)) {
            rc = -1;
            break;
        }
        r.done = 1;
        if (cb && cb(user, &r)) rc = on_fail(err, "stopped");
    }
done:
    free(bufs);
    free(perm);
    free(labs);
    free(red);
    free(sync_buf);
    m->sync = NULL, m->sync_ctx = NULL, m->sync_buf = NULL;
    return rc;
}
