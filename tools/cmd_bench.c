/* cmd_bench.c - how fast a model trains and runs here: images/s, batch-1 latency, peak
 * memory, and each layer's time and GFLOP/s against this CPU's FMA peak and OpenBLAS
 * sgemm, all measured in the same run. Synthetic data: the data pipeline is not timed. */
#include "cli.h"
#include "base/base.h"
#include "ordnet_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* --cpu-time: measure this process's CPU time instead of wall time, for comparing builds
 * with one thread on a machine that is busy with something else. */
static int g_cpu_time = 0;

static double now(void) {
    return g_cpu_time ? on_cpu_seconds() : on_seconds();
}

static double peak_rss_mb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0; /* kB on Linux */
}

/* Deterministic inputs in [-1, 1) and labels in [0, classes). */
static void fill(float *x, size_t len, int *y, int n, int classes) {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++) x[i] = (float)(on_lcg_step(&s) >> 40) / 8388608.0f - 1.0f;
    for (int i = 0; y && i < n; i++) y[i] = (int)((i * 7919u) % (unsigned)classes);
}

/* One thing to time, over a batch of n inputs. */
typedef struct job {
    on_model *m;
    const float *x;
    const int *y;
    int n, train;
} job;

/* train: the trainer's step (forward, softmax cross-entropy, backward, SGD with momentum);
 * otherwise an inference forward. */
static void step(const job *j) {
    on_model_forward(j->m, j->x, j->n, j->train);
    if (!j->train) return;
    on_model_loss(j->m, j->y, 0.0f);
    on_model_zero_grad(j->m);
    on_model_backward(j->m);
    on_sgd_step(j->m, 0.01f, 0.9f, 5e-4f, ON_MOMENTUM_PLAIN);
}

/* Steps per second, stepping until `secs` have passed and at least min_reps times; *reps
 * (if not NULL) gets the count. */
static double timed(const job *j, double secs, long min_reps, long *reps) {
    long r = 0;
    double t0 = now(), el;
    do {
        step(j);
        r++;
    } while ((el = now() - t0) < secs || r < min_reps);
    if (reps) *reps = r;
    return r / el;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Batch-1 latency in ms: the median of single steps over `secs` (at least min_reps), the
 * statistic bench/ort_bench.js and bench/torch_bench.py report too. A mean counted every
 * step the machine slowed (another process, a core at a lower clock) in full: on a quiet
 * 2-core machine ResNet-50's mean came to 1.013x and 1.024x its median, ResNet-18's
 * 1.005x, with single steps up to 1.3x the median. 0 where out of memory. */
static double median_ms(const job *j, double secs, long min_reps) {
    long r = 0, cap = 1024;
    double *t = malloc(sizeof *t * (size_t)cap), t0 = now(), a;
    if (!t) return 0;
    do {
        if (r == cap) {
            double *g = realloc(t, sizeof *t * (size_t)(cap *= 2));
            if (!g) {
                free(t);
                return 0;
            }
            t = g;
        }
        a = now();
        step(j);
        t[r] = now() - a;
        r++;
    } while (now() - t0 < secs || r < min_reps);
    qsort(t, (size_t)r, sizeof *t, by_value);
    double m = r % 2 ? t[r / 2] : (t[r / 2 - 1] + t[r / 2]) / 2;
    free(t);
    return 1e3 * m;
}

typedef struct layer_time {
    double fwd_ms, bwd_ms, fwd_gflops, bwd_gflops;
} layer_time;

static int run(args *a) {
    int batch = 128, infer_batch = 256, threads = 0, keep = 0, json = 0, no_layers = 0, only = 0;
    int infer_only = 0;
    double secs = 3;
    const cli_opt opts[] = {
        CLI_INT("--batch", &batch, 1, 65536, NULL, "training batch"),
        CLI_INT("--infer-batch", &infer_batch, 1, 65536, NULL,
                "inference batch (latency is always at batch 1)"),
        CLI_INT("--threads", &threads, 1, 1024, "OMP_NUM_THREADS or all cores", "threads"),
        CLI_DOUBLE("--seconds", &secs, 0.01, 3600, NULL,
                   "time each measurement for about S seconds"),
        CLI_FLAG("--keep-order", &keep, "train the layers in the order written"),
        CLI_FLAG("--no-layers", &no_layers, "skip the per-layer profile"),
        CLI_FLAG("--train-only", &only, "measure training only"),
        CLI_FLAG("--infer-only", &infer_only,
                 "measure inference only (no training step, no peak RSS)"),
        CLI_FLAG("--cpu-time", &g_cpu_time,
                 "time by the process's CPU time, not wall time (to compare builds\n"
                 "with --threads 1 on a busy machine; layer times stay wall time)"),
        CLI_FLAG("--json", &json,
                 "{\"train_images_per_s\", \"infer_images_per_s\", \"peak_rss_mb\",\n"
                 "\"latency_ms_batch1\", \"layers\": [...], ...}"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *model = a->npos ? a->pos[0] : REFERENCE_MODEL;
    int layers = !no_layers && !only;
    if (threads) on_set_threads(threads);
    threads = on_get_threads();

    on_error err;
    on_model *m = NULL, *t = NULL, *o = NULL;
    float *x = NULL;
    int *y = NULL, nrw = 0;
    rc = 1;
    layer_time *lt = NULL;
    double *lat = NULL;
    on_rewrite rw[64];
    int ckpt = is_checkpoint(model) || is_onnx(model); /* trained weights */
    if (!(m = ckpt ? load_trained(model, NULL, &err) : load_model(model, NULL, 0, &err))) goto fail;
    if (!ckpt && on_model_output_shape(m).rank != 1) { /* no classifier: add one (10 classes) */
        on_model_free(m);
        if (!(m = load_model(model, NULL, 10, &err))) goto fail;
    }
    if (!ckpt) on_model_init(m, 1);
    on_shape in = on_model_node_shape(m, 0), out = on_model_output_shape(m);
    if (out.rank != 1) {
        snprintf(err.msg, sizeof err.msg, "the model's output is not a vector of class scores");
        goto fail;
    }
    size_t isz = on_shape_size(in);
    int maxb = batch > infer_batch ? batch : infer_batch;
    x = malloc(sizeof(float) * isz * maxb);
    y = malloc(sizeof(int) * maxb);
    if (!x || !y) {
        snprintf(err.msg, sizeof err.msg, "out of memory for %d inputs", maxb);
        goto fail;
    }
    fill(x, isz * maxb, y, maxb, out.c);

    /* training: the cheapest member of the model's class, as `ordnet train` runs it */
    int changed = 0, nn = 0;
    on_model *tm = m;
    double train_ips = 0, rss = 0;
    if (!infer_only) {
        if (!keep && !(t = on_reorder_cheapest(m, ON_FOR_TRAINING, &changed, &err))) goto fail;
        tm = t ? t : m;
        if (on_model_compile(tm, batch, &err)) goto fail;
        job tj = {tm, x, y, batch, 1};
        for (int k = 0; k < 3; k++) step(&tj); /* warm-up: threads, caches */
        train_ips = batch * timed(&tj, secs, 5, NULL);
        rss = peak_rss_mb();
        nn = on_model_num_nodes(tm);
        if (layers) {
            lt = calloc((size_t)nn, sizeof *lt);
            if (!lt || on_model_profile(tm, 1)) goto oom;
            long steps;
            timed(&tj, secs / 3, 3, &steps);
            for (int i = 1; i < nn; i++) {
                double f, b;
                on_model_node_seconds(tm, i, &f, &b);
                on_cost c = on_model_node_cost(tm, i);
                lt[i].fwd_ms = 1e3 * f / steps;
                lt[i].bwd_ms = 1e3 * b / steps;
                lt[i].fwd_gflops = f > 0 ? c.flops_fwd * batch * steps / f / 1e9 : 0;
                lt[i].bwd_gflops = b > 0 ? c.flops_bwd * batch * steps / b / 1e9 : 0;
            }
            on_model_profile(tm, 0);
        }
    }

    if (only) {
        char *order = on_model_to_spec(tm);
        if (json)
            printf("{\"threads\": %d, \"batch\": %d, \"train_images_per_s\": %.1f, "
                   "\"peak_rss_mb\": %.1f, \"train_order\": \"%s\"}\n",
                   threads, batch, train_ips, rss, order ? order : "");
        else
            printf("training %.0f images/s, peak RSS %.1f MB: %s\n", train_ips, rss,
                   order ? order : "");
        free(order);
        rc = 0;
        goto done;
    }

    /* inference: the optimized model (as `ordnet optimize` writes it), and as written */
    if (!(o = on_optimize(m, rw, 64, &nrw, &err))) goto fail;
    if (on_model_compile(m, infer_batch, &err) || on_model_compile(o, infer_batch, &err)) goto fail;
    job rj = {m, x, y, infer_batch, 0}, oj = {o, x, y, infer_batch, 0}, lj = {o, x, y, 1, 0};
    step(&rj);
    double raw_ips = infer_batch * timed(&rj, secs / 2, 3, NULL);
    step(&oj);
    double infer_ips = infer_batch * timed(&oj, secs, 3, NULL);
    if (on_model_compile(o, 1, &err)) goto fail;
    step(&lj);
    double latency_ms = median_ms(&lj, secs / 2, 10);
    if (latency_ms == 0) goto oom;
    int no = on_model_num_nodes(o);
    lat = layers ? calloc((size_t)no, sizeof *lat) : NULL;
    if (layers && (!lat || on_model_profile(o, 1))) goto oom;
    if (lat) { /* where batch-1 latency goes */
        long reps;
        timed(&lj, secs / 4, 10, &reps);
        for (int i = 1; i < no; i++) {
            double b;
            on_model_node_seconds(o, i, &lat[i], &b);
            lat[i] *= 1e6 / reps;
        }
    }

    double fma = on_measure_fma_gflops(threads), sgemm = on_measure_sgemm_gflops(1024, threads);
    char *order = on_model_to_spec(tm), tr[32] = "null", mem[32] = "null";
    if (!infer_only) {
        snprintf(tr, sizeof tr, "%.1f", train_ips);
        snprintf(mem, sizeof mem, "%.1f", rss);
    }
    if (json) {
        printf("{\"threads\": %d, \"batch\": %d, \"infer_batch\": %d, \"train_images_per_s\": "
               "%s, \"infer_images_per_s\": %.1f, \"infer_unoptimized_images_per_s\": %.1f, "
               "\"latency_ms_batch1\": %.4f, \"peak_rss_mb\": %s, \"fma_peak_gflops\": %.1f, "
               "\"sgemm_1024_gflops\": %.1f, \"train_order\": \"%s\", \"layers\": [",
               threads, batch, infer_batch, tr, infer_ips, raw_ips, latency_ms, mem, fma, sgemm,
               order ? order : "");
        for (int i = 1; lt && i < nn; i++)
            printf("%s{\"name\": \"%s\", \"type\": \"%s\", \"forward_ms\": %.4f, \"backward_ms\": "
                   "%.4f, \"forward_gflops\": %.2f, \"backward_gflops\": %.2f}",
                   i > 1 ? ", " : "", on_model_node_name(tm, i),
                   on_op_name(on_model_node_op(tm, i)), lt[i].fwd_ms, lt[i].bwd_ms,
                   lt[i].fwd_gflops, lt[i].bwd_gflops);
        printf("]}\n");
    } else {
        printf("%d threads; training batch %d, inference batch %d; synthetic data\n", threads,
               batch, infer_batch);
        if (changed) printf("training the equal, cheaper order:\n  %s\n", order ? order : "");
        if (!infer_only) printf("training   %9.0f images/s   peak RSS %.1f MB\n", train_ips, rss);
        printf("inference  %9.0f images/s   optimized (%d rewrites); as written %.0f images/s\n",
               infer_ips, nrw, raw_ips);
        printf("latency    %9.3f ms at batch 1 (optimized)\n", latency_ms);
        printf("machine    FMA peak %.1f GFLOP/s (%d-bit vectors), OpenBLAS sgemm 1024^3 %.1f "
               "GFLOP/s (%d threads)\n",
               fma, on_fma_vector_bits(), sgemm, threads);
        if (lt) {
            double tf = 0, tb = 0;
            for (int i = 1; i < nn; i++) tf += lt[i].fwd_ms, tb += lt[i].bwd_ms;
            printf("\nper training step (batch %d): forward %.2f ms, backward %.2f ms\n", batch, tf,
                   tb);
            printf("%-22s %-14s %8s %8s %9s %9s %7s %7s\n", "layer", "type", "fwd ms", "bwd ms",
                   "fwd GF/s", "bwd GF/s", "%FMA", "%sgemm");
            for (int i = 1; i < nn; i++) {
                const char *type = on_op_name(on_model_node_op(tm, i));
                printf("%-22s %-14s %8.3f %8.3f", on_model_node_name(tm, i), type, lt[i].fwd_ms,
                       lt[i].bwd_ms);
                /* the products: GFLOP/s over forward and backward, against the machine */
                double ms = lt[i].fwd_ms + lt[i].bwd_ms;
                double rate =
                    ms > 0
                        ? (lt[i].fwd_ms * lt[i].fwd_gflops + lt[i].bwd_ms * lt[i].bwd_gflops) / ms
                        : 0;
                if (!strncmp(type, "conv", 4) || !strcmp(type, "dense"))
                    printf(" %9.1f %9.1f %6.0f%% %6.0f%%\n", lt[i].fwd_gflops, lt[i].bwd_gflops,
                           fma > 0 ? 100 * rate / fma : 0.0, sgemm > 0 ? 100 * rate / sgemm : 0.0);
                else
                    printf("\n");
            }
            printf("(GFLOP/s count a direct convolution's operations; 3x3 stride-1 layers with 4+\n"
                   " channels use Winograd, 2.25x fewer multiplications, and can pass the peak)\n");
        }
        if (lat) {
            printf("\nbatch-1 inference of the optimized model, per layer (a layer run inside a\n"
                   "convolution's output loop counts as the convolution):\n");
            for (int i = 1; i < no; i++)
                printf("%-22s %-14s %9.1f us\n", on_model_node_name(o, i),
                       on_op_name(on_model_node_op(o, i)), lat[i]);
        }
    }
    free(order);
    rc = 0;
    goto done;
oom:
    snprintf(err.msg, sizeof err.msg, "out of memory");
fail:
    fprintf(stderr, "ordnet bench: %s\n", err.msg);
done:
    free(lt);
    free(lat);
    free(x);
    free(y);
    on_model_free(o);
    on_model_free(t);
    on_model_free(m);
    return rc;
}

const command cmd_bench = {
    "bench", run, "training and inference speed, memory, and per-layer GFLOP/s",
    "bench [MODEL|CKPT|ONNX] [options]",
    "Times training steps (forward, loss, backward, SGD with momentum) of MODEL's cheapest\n"
    "equal order, and inference of its optimized form, on synthetic data, then each layer's\n"
    "forward and backward time; reports this CPU's FMA peak and OpenBLAS sgemm (1024^3) as\n"
    "measured in the same run. Default MODEL: the reference model. See bench/RESULTS.md.\n"};
