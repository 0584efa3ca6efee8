/* cmd_optimize.c - rewrite a trained model into its cheapest exactly-equal form. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    const char *out = NULL, *data = NULL;
    int verify = 0, json = 0;
    const cli_opt opts[] = {
        CLI_STRING("-o|--out", &out, "OUT", NULL,
                   "write the optimized model here (an ONNX file when OUT ends in .onnx)"),
        CLI_FLAG("--verify", &verify,
                 "run random and real inputs through both models; print the largest\n"
                 "absolute and relative difference, or bit-identical; fail when it is\n"
                 "more than the rewrites allow"),
        CLI_STRING("--data", &data, "D", NULL, "the real inputs for --verify"),
        CLI_FLAG("--json", &json, "print JSON"),
    };
    int rc = CLI_PARSE(a, opts, 1);
    if (rc != CLI_GO) return rc;
    const char *ckpt = a->npos ? a->pos[0] : NULL;
    if (!ckpt || !out) {
        fprintf(stderr, "usage: ordnet %s\n", a->cmd->usage);
        return 2;
    }
    on_error err;
    on_checkpoint_info info;
    on_dataset te = {0};
    on_rewrite rw[64];
    int nrw = 0;
    rc = 1;
    on_model *m = load_trained(ckpt, &info, &err), *o = NULL;
    if (!m || on_model_check_one_input(m, &err) || !(o = on_optimize(m, rw, 64, &nrw, &err)))
        goto fail;
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
    if (is_onnx(out) ? on_onnx_save(o, out, &err) : on_checkpoint_save(o, out, &info, &err))
        goto fail;
    if (!json) printf("saved %s\n", out);
    on_verify v = {0};
    if (verify) {
        const char *d = data ? data : info.data[0] ? info.data : NULL;
        if (d && on_data_load(d, ON_SPLIT_TEST, 200, &te, &err)) goto fail;
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

const command cmd_optimize = {
    "optimize", run, "rewrite a trained model into its cheapest exactly-equal form",
    "optimize CKPT -o OUT [--verify] [--data D] [--json]",
    "Removes dropout, folds BatchNorm into the preceding conv/dense, moves pools before\n"
    "layers they commute with exactly (decided on the checkpoint's weights), drops repeated\n"
    "idempotent layers and merges stacked max-pools; writes OUT as a checkpoint, or as an\n"
    "ONNX file when OUT ends in .onnx. CKPT may be an ONNX file (docs/ONNX.md).\n"
    "See docs/OPTIMIZE.md.\n"};
