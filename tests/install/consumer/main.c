/* main.c - an outside program over an installed ordnet: the header's version must be the
 * library's, and a model built from the compact form must give finite outputs. */
#include <math.h>
#include <ordnet.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    if (strcmp(on_version(), ORDNET_VERSION)) {
        fprintf(stderr, "header %s but library %s\n", ORDNET_VERSION, on_version());
        return 1;
    }
    on_error err;
    on_model *m =
        on_model_from_spec("input(8,8,1) conv2d(4,3) relu maxpool flatten dense(3)", &err);
    if (!m || on_model_compile(m, 2, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        on_model_free(m);
        return 1;
    }
    on_model_init(m, 1);
    float x[128];
    for (int i = 0; i < 128; i++) x[i] = (float)(i % 7) / 7;
    if (on_model_forward(m, x, 2, 0)) return 1;
    const float *y = on_model_output(m);
    for (int i = 0; i < 6; i++)
        if (!isfinite(y[i])) return 1;
    printf("ordnet %s (%s): %zu parameters, y[0] = %g\n", on_version(), on_build_features(),
           on_model_num_params(m), y[0]);
    on_model_free(m);
    return 0;
}
