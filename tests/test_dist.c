/* test_dist.c - data-parallel training through on_train_distributed, without MPI: the
 * "ranks" are threads of this process and the allreduce a sum in rank order behind a
 * barrier. Checks: the ranks end with bit-identical weights; their training matches one
 * process on the whole batch (to float rounding: the gradient is summed in another
 * order) when nothing depends on the batch split (no BatchNorm, no dropout); uneven and
 * empty shards (a last batch smaller than the rank count) work; size 1 is on_train bit
 * for bit; a bad rank is refused. */
#include "check.h"
#include "graph.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAXR 4

typedef struct group {
    int size;
    pthread_barrier_t bar;
    void *slot[MAXR];
} group;

typedef struct rank_ctx {
    group *g;
    int rank;
} rank_ctx;

/* every rank publishes its buffer, then each sums them all in rank order */
#define ALLREDUCE(NAME, T)                                                                         \
    static int NAME(void *ctx, T *x, size_t n) {                                                   \
        rank_ctx *r = ctx;                                                                         \
        group *g = r->g;                                                                           \
        g->slot[r->rank] = x;                                                                      \
        pthread_barrier_wait(&g->bar);                                                             \
        T *sum = malloc(sizeof(T) * n);                                                            \
        for (size_t i = 0; i < n; i++) {                                                           \
            T s = 0;                                                                               \
            for (int k = 0; k < g->size; k++) s += ((T *)g->slot[k])[i];                           \
            sum[i] = s;                                                                            \
        }                                                                                          \
        pthread_barrier_wait(&g->bar); /* all have read every slot */                              \
        memcpy(x, sum, sizeof(T) * n);                                                             \
        free(sum);                                                                                 \
        pthread_barrier_wait(&g->bar); /* no slot is rewritten before all wrote theirs */          \
        return 0;                                                                                  \
    }
ALLREDUCE(thread_allreduce, float)
ALLREDUCE(thread_allreduce_d, double)

typedef struct job {
    const char *spec;
    const on_dataset *d;
    on_train_cfg cfg;
    on_train_dist dist;
    rank_ctx rc;
    on_model *m;
    int rc_train;
} job;

static on_model *fresh(const char *spec) {
    on_error err;
    on_model *m = on_model_from_spec(spec, &err);
    if (m) on_model_init(m, 5);
    return m;
}

static void *train_rank(void *arg) {
    job *j = arg;
    on_error err;
    j->rc_train = on_train_distributed(j->m, j->d, NULL, &j->cfg, &j->dist, NULL, NULL, &err);
    if (j->rc_train) printf("rank %d: %s\n", j->dist.rank, err.msg);
    return NULL;
}

/* Train `size` ranks on d; returns rank 0's model (the others are compared with it). */
static on_model *train_ranks(const char *spec, const on_dataset *d, on_train_cfg cfg, int size,
                             int sync, int *ranks_equal) {
    group g = {.size = size};
    pthread_barrier_init(&g.bar, NULL, (unsigned)size);
    job jobs[MAXR];
    pthread_t th[MAXR];
    for (int r = 0; r < size; r++) {
        jobs[r] = (job){.spec = spec, .d = d, .cfg = cfg, .m = fresh(spec)};
        jobs[r].rc = (rank_ctx){&g, r};
        jobs[r].dist = (on_train_dist){r, size, thread_allreduce, &jobs[r].rc,
                                       sync ? thread_allreduce_d : NULL};
    }
    for (int r = 0; r < size; r++) pthread_create(&th[r], NULL, train_rank, &jobs[r]);
    int ok = 1;
    for (int r = 0; r < size; r++) {
        pthread_join(th[r], NULL);
        ok &= !jobs[r].rc_train;
    }
    *ranks_equal = ok;
    for (int r = 1; r < size; r++) {
        *ranks_equal &=
            !memcmp(jobs[0].m->params, jobs[r].m->params, sizeof(float) * jobs[0].m->np);
        on_model_free(jobs[r].m);
    }
    pthread_barrier_destroy(&g.bar);
    return jobs[0].m;
}

static on_dataset synthetic(int n) {
    on_dataset d = {.n = n, .classes = 4, .shape = (on_shape){3, 1, 8, 8}};
    d.x = malloc(sizeof(float) * 64 * (size_t)n);
    d.y = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        d.y[i] = i % 4;
        for (int j = 0; j < 64; j++) /* a class-dependent pattern plus noise */
            d.x[i * 64 + j] = (float)((j % 4 == d.y[i]) + 0.3 * on_uniform((uint64_t)i, j));
    }
    return d;
}

static float max_rel_diff(const on_model *a, const on_model *b) {
    float worst = 0;
    for (size_t i = 0; i < a->np; i++) {
        float d = fabsf(a->params[i] - b->params[i]) / (1e-3f + fabsf(a->params[i]));
        if (d > worst) worst = d;
    }
    return worst;
}

int main(void) {
    on_set_threads(1);
    const char *plain = "input(8,8,1) conv2d(4,3,same) relu flatten dense(4)";
    const char *bn = "input(8,8,1) conv2d(4,3,same) bn relu maxpool dropout(0.2) flatten dense(4)";
    on_train_cfg cfg = on_train_defaults();
    cfg.opt = ON_OPT_SGD;
    cfg.schedule = ON_SCHED_CONST;
    cfg.lr = 0.05f;
    cfg.momentum = 0.9f;
    cfg.smoothing = 0;
    cfg.epochs = 2;
    cfg.batch = 32;
    on_error err;
    /* 97 samples, batch 32: shards of 10/11/11, and a last batch of 1 sample that leaves
     * two of three ranks empty */
    on_dataset d = synthetic(97);
    on_model *one = fresh(plain);
    CHECK(!on_train(one, &d, NULL, &cfg, NULL, NULL, &err), "one process: %s", err.msg);
    for (int size = 2; size <= 3; size++) {
        int equal = 0;
        on_model *r0 = train_ranks(plain, &d, cfg, size, 0, &equal);
        CHECK(equal, "%d ranks end with bit-identical weights", size);
        float diff = max_rel_diff(one, r0);
        printf("%d ranks vs one process: largest relative weight difference %.2g\n", size, diff);
        CHECK(diff < 1e-4f, "%d ranks train as one process on the whole batch: %.2g", size, diff);
        CHECK(diff > 0 || size == 1, "(the sum order differs, so not bit for bit: %.2g)", diff);
        on_model_free(r0);
    }
    /* AdamW, one-cycle, label smoothing, clipping: still one step on every rank */
    on_train_cfg adam = on_train_defaults();
    adam.epochs = 1;
    adam.batch = 24;
    adam.clip = 0.5f;
    int equal = 0;
    on_model *a = train_ranks(plain, &d, adam, 3, 0, &equal);
    on_model *a1 = fresh(plain);
    CHECK(!on_train(a1, &d, NULL, &adam, NULL, NULL, &err), "adamw: %s", err.msg);
    CHECK(equal && max_rel_diff(a1, a) < 1e-3f, "AdamW + clipping over 3 ranks: %.2g",
          max_rel_diff(a1, a));
    on_model_free(a);
    on_model_free(a1);
    /* BatchNorm per rank and dropout per rank: the weights still agree across ranks */
    on_model *b0 = train_ranks(bn, &d, cfg, 3, 0, &equal);
    CHECK(equal, "with BatchNorm and dropout the ranks still share the weights");
    on_model *b1 = fresh(bn);
    CHECK(!on_train(b1, &d, NULL, &cfg, NULL, NULL, &err), "%s", err.msg);
    CHECK(max_rel_diff(b0, b1) > 0, "per-rank batch statistics make another run than one process");
    on_model_free(b0);
    on_model_free(b1);
    /* synchronized BatchNorm: the whole batch's statistics, so (without dropout) the ranks
     * train as one process does, weights and running statistics; 96 samples, batch 32 */
    const char *bn_only = "input(8,8,1) conv2d(4,3,same) bn relu maxpool flatten dense(4)";
    on_dataset d96 = synthetic(96);
    on_model *sb1 = fresh(bn_only);
    CHECK(!on_train(sb1, &d96, NULL, &cfg, NULL, NULL, &err), "%s", err.msg);
    for (int size = 2; size <= 3; size++) {
        on_model *sb = train_ranks(bn_only, &d96, cfg, size, 1, &equal);
        float dw = max_rel_diff(sb1, sb), ds = 0;
        for (size_t i = 0; i < sb->ns; i++) {
            float e = fabsf(sb->state[i] - sb1->state[i]) / (1e-3f + fabsf(sb1->state[i]));
            if (e > ds) ds = e;
        }
        printf("--sync-bn, %d ranks vs one process: weights %.2g, running statistics %.2g\n", size,
               dw, ds);
        CHECK(equal, "--sync-bn: %d ranks share weights and running statistics", size);
        CHECK(dw < 1e-4f && ds < 1e-4f, "--sync-bn over %d ranks trains as one process", size);
        on_model_free(sb);
    }
    /* and without it, per-rank statistics train another model */
    on_model *pb = train_ranks(bn_only, &d96, cfg, 2, 0, &equal);
    CHECK(max_rel_diff(sb1, pb) > 1e-3f, "per-rank BatchNorm differs from one process: %.2g",
          max_rel_diff(sb1, pb));
    on_model_free(pb);
    on_model_free(sb1);
    on_dataset_free(&d96);
    /* every rank needs a sample of every batch: 97 samples leave a last batch of 1 */
    on_train_dist lone = {0, 3, thread_allreduce, NULL, thread_allreduce_d};
    on_model *lm = fresh(bn_only);
    CHECK(on_train_distributed(lm, &d, NULL, &cfg, &lone, NULL, NULL, &err) != 0 &&
              strstr(err.msg, "the last batch has 1"),
          "--sync-bn with a last batch of 1 sample over 3 ranks is refused: %s", err.msg);
    on_model_free(lm);
    /* size 1: on_train bit for bit */
    on_model *s1 = fresh(bn), *s2 = fresh(bn);
    on_train_dist solo = {0, 1, NULL, NULL, NULL};
    CHECK(!on_train_distributed(s1, &d, NULL, &cfg, &solo, NULL, NULL, &err) &&
              !on_train(s2, &d, NULL, &cfg, NULL, NULL, &err) &&
              !memcmp(s1->params, s2->params, sizeof(float) * s1->np),
          "a group of one is on_train");
    on_train_dist bad = {3, 2, thread_allreduce, NULL, NULL};
    CHECK(on_train_distributed(s1, &d, NULL, &cfg, &bad, NULL, NULL, &err) != 0 &&
              strstr(err.msg, "rank 3 of 2"),
          "rank 3 of 2 is refused: %s", err.msg);
    on_model_free(s1);
    on_model_free(s2);
    on_model_free(one);
    on_dataset_free(&d);
    return check_done();
}
