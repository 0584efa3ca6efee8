/* cmd_train.c - fit a model to a data set, checkpoint each epoch, resume. */
#include "cli.h"
#include "exec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct progress {
    int tty, json, val; /* val: the per-epoch evaluation is on a validation split */
    int quiet, ranks;   /* quiet: an MPI rank other than 0 (rank 0 reports and saves) */
    on_model *m;
    const char *out;         /* checkpoint path, or NULL */
    on_checkpoint_info info; /* what each checkpoint records */
    int saved_epoch;
    double t0; /* when the command started: "elapsed" counts data loading too */
} progress;

static int on_progress(void *user, const on_epoch_report *r) {
    progress *p = user;
    if (p->quiet) return 0;
    if (r->done) {
        if (p->tty) printf("\r\033[K");
        if (p->json)
            printf("{\"epoch\": %d, \"loss\": %.5f, \"train_accuracy\": %.5f, \"%s_loss\": %.5f, "
                   "\"%s_accuracy\": %.5f, \"seconds\": %.3f, \"images_per_s\": %.1f, "
                   "\"elapsed\": %.3f}\n",
                   r->epoch, r->loss, r->train_acc, p->val ? "val" : "test", r->test_loss,
                   p->val ? "val" : "test", r->test_acc, r->seconds, r->images_per_s,
                   on_seconds() - p->t0);
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
                if (p->ranks > 1) { /* the other ranks would wait for this one forever */
                    fflush(stderr);
                    mpi_abort(1);
                }
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

static int run(args *a) {
    double t0 = on_seconds();
    on_train_cfg cfg = on_train_defaults();
    const char *data = "fashion-mnist", *out = NULL;
    static const char *const optimizers[] = {"sgd", "adamw", NULL};
    static const char *const scheds[] = {"const", "step", "cosine", "onecycle", NULL};
    int limit = 0, test_limit = 0, json = 0, threads = 0, resume = 0, val = 0, keep = 0,
        sync_bn = 0;
    const cli_opt opts[] = {
        CLI_STRING("--data", &data, "fashion-mnist|DIR", NULL,
                   "IDX data (Debian's dataset-fashion-mnist), CIFAR-10 binary\n"
                   "(data_batch_1.bin) or CSV/TSV (label then values per line:\n"
                   "train.csv/test.csv or UCR-style NAME_TRAIN.tsv/NAME_TEST.tsv)"),
        CLI_INT("--limit", &limit, 1, 1e9, NULL, "use the first N training (and test) images"),
        CLI_INT("--test-limit", &test_limit, 1, 1e9, NULL, "use the first N test images"),
        CLI_INT("--epochs", &cfg.epochs, 1, 1e6, NULL, "passes over the training data"),
        CLI_INT("--batch", &cfg.batch, 1, 1 << 16, NULL, "images a step"),
        CLI_FLOAT("--lr", &cfg.lr, 1e-9, 100, NULL, "peak learning rate"),
        CLI_FLOAT("--wd", &cfg.wd, 0, 10, NULL, "weight decay"),
        CLI_CHOICE("--opt", &cfg.opt, optimizers, NULL, "optimizer"),
        CLI_CHOICE("--schedule", &cfg.schedule, scheds, NULL, "learning-rate schedule"),
        CLI_FLOAT("--momentum", &cfg.momentum, 0, 1, NULL, "SGD momentum; AdamW beta1"),
        CLI_FLAG("--nesterov", &cfg.nesterov, "Nesterov momentum (SGD)"),
        CLI_FLOAT("--label-smoothing", &cfg.smoothing, 0, 1, NULL, "label smoothing"),
        CLI_FLOAT("--clip", &cfg.clip, 0, 1e9, "none", "clip the gradient's norm to X"),
        CLI_FLAG("--augment", &cfg.augment, "random shifts of up to 2 pixels and horizontal flips"),
        CLI_U64("--seed", &cfg.seed, 0, 1e18, NULL, "the seed of everything random"),
        CLI_INT("--threads", &threads, 1, 1024, NULL,
                "threads (under mpirun: per rank, default 1)"),
        CLI_FLAG("--json", &json, "one JSON object per epoch"),
        CLI_FLAG("--keep-order", &keep,
                 "train the layers in the order written (by default ordnet\n"
                 "trains the cheapest order of the model's class: the same\n"
                 "weights bit for bit, see docs/ORDERING.md)"),
        CLI_INT("--val", &val, 1, 1e9, NULL,
                "hold out the last N training images: evaluate on them each\n"
                "epoch, and on the test set at the end"),
        CLI_STRING("-o|--out", &out, "CKPT", NULL,
                   "save a checkpoint after every epoch (atomically)"),
        CLI_FLAG("--resume", &resume,
                 "continue the run saved in CKPT (-o) to the same final weights"),
        CLI_FLAG("--sync-bn", &sync_bn, "under mpirun: BatchNorm statistics over the whole batch"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *model = a->npos ? a->pos[0] : REFERENCE_MODEL;
    if (resume && !out) {
        fprintf(stderr, "ordnet train: --resume needs -o CKPT, the checkpoint to continue\n");
        return 2;
    }
    if (sync_bn && !mpi_launched()) {
        fprintf(stderr, "ordnet train: --sync-bn synchronizes MPI ranks: start it with mpirun\n");
        return 2;
    }
    on_train_dist dist = {.rank = 0, .size = 1};
    if (mpi_launched()) { /* data-parallel over the ranks; one thread each unless told */
        if (mpi_train_dist(&dist, sync_bn)) {
            fprintf(stderr, "ordnet train: MPI did not start\n");
            return 1;
        }
        if (!threads) threads = getenv("OMP_NUM_THREADS") ? atoi(getenv("OMP_NUM_THREADS")) : 1;
    }
    if (threads) on_set_threads(threads);
    on_error err;
    on_dataset tr = {0}, te = {0};
    progress p = {.tty = isatty(1) && !dist.rank,
                  .json = json,
                  .out = dist.rank ? NULL : out,
                  .quiet = dist.rank > 0,
                  .ranks = dist.size,
                  .t0 = t0};
    if (dist.rank) json = 1; /* ranks other than 0 print nothing (json mode prints no notes) */
    on_model *m = NULL;
    rc = 1;
    if (resume) {
        /* the checkpoint's own recipe and data: the run continues as if never stopped */
        if (!(m = on_checkpoint_load(out, &p.info, &err))) goto fail;
        cfg = p.info.cfg;
        cfg.start_epoch = p.info.epoch;
        /* a copy: p.info.data is rewritten from `data` below (overlapping snprintf left the
         * resumed checkpoints with no data set, so a second resume trained on the default) */
        static char resumed_data[sizeof p.info.data];
        snprintf(resumed_data, sizeof resumed_data, "%s", p.info.data);
        data = resumed_data[0] ? resumed_data : data;
        if (cfg.start_epoch >= cfg.epochs) {
            if (!dist.rank) printf("%s: already trained for all %d epochs\n", out, cfg.epochs);
            rc = 0;
            goto done;
        }
    }
    /* every rank reads the data from the same path; only rank 0 evaluates */
    if (on_data_load(data, ON_SPLIT_TRAIN, limit, &tr, &err) ||
        (!dist.rank &&
         on_data_load(data, ON_SPLIT_TEST, test_limit ? test_limit : limit, &te, &err)))
        goto fail;
    if (!resume && !(m = load_model(model, NULL, tr.classes, &err))) goto fail;
    if (on_model_check_one_input(m, &err)) goto fail;
    if (!resume && *on_model_notes(m) && !json) printf("%s", on_model_notes(m));
    if (!resume && !keep) { /* the cheapest member of the model's class trains the same weights */
        int changed = 0;
        on_model *r = on_reorder_cheapest(m, ON_FOR_TRAINING, &changed, &err);
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
               "%zu parameters, %d threads%s\n",
               resume ? "resuming on" : "training on", tr.n, te.n, data, cfg.start_epoch + 1,
               cfg.epochs, cfg.epochs, cfg.batch, optimizers[cfg.opt], scheds[cfg.schedule], cfg.lr,
               on_model_num_params(m), on_get_threads(), dist.size > 1 ? " per rank" : "");
    if (!json && dist.size > 1)
        printf("data-parallel over %d MPI ranks: %d images of each batch per rank, gradients "
               "summed with MPI_Allreduce (%zu floats a step), BatchNorm statistics %s\n",
               dist.size, cfg.batch / dist.size, on_model_num_params(m),
               sync_bn ? "over all ranks (--sync-bn)" : "per rank");
    const on_dataset *eval = dist.rank ? NULL : val ? &vs : &te;
    if (on_train_distributed(m, &tr, eval, &cfg, dist.size > 1 ? &dist : NULL, on_progress, &p,
                             &err)) {
        if (val) tr.n += val;
        fprintf(stderr, "ordnet train: %s\n", err.msg);
        if (out && p.saved_epoch)
            fprintf(stderr, "ordnet train: %s holds the last good state (epoch %d)\n", out,
                    p.saved_epoch);
        goto done;
    }
    if (val && dist.rank) tr.n += val;
    if (val && !dist.rank) {
        tr.n += val; /* give the view back before freeing */
        double tl, ta;
        if (on_evaluate(m, &te, 256, &tl, &ta, NULL, &err)) goto fail;
        if (json)
            printf("{\"test_loss\": %.5f, \"test_accuracy\": %.5f}\n", tl, ta);
        else
            printf("test: accuracy %.2f%%, loss %.4f (%d images)\n", 100 * ta, tl, te.n);
    }
    if (!out && !json && !dist.rank) printf("(not saved: add -o model.ckpt to keep the weights)\n");
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

const command cmd_train = {
    "train", run, "train a model on a data set", "train [MODEL] [options]",
    "MODEL is the compact form (quoted) or a file holding it; default: the reference model\n"
    "  " REFERENCE_MODEL "\n"
    "mpirun -np N ordnet train ...: data-parallel, each rank 1/N of every batch (--threads per\n"
    "rank, default 1), gradients summed with MPI_Allreduce; rank 0 alone prints and saves;\n"
    "BatchNorm statistics per rank, or over the whole batch with --sync-bn;\n"
    "every rank reads --data (and, with --resume, CKPT) from the same path (docs/SCALE.md).\n"};
