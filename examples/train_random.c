/* train_random.c - build a small CNN with the public API and train it a few steps on
 * random data; the loss must go down. Usage: train_random [STEPS] */
#include "ordnet.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 20, batch = 16;
    on_error err;
    on_model *m = on_model_from_spec(
        "input(12,12,1) conv2d(8,3,same) bn relu maxpool dropout(0.1) flatten dense(4)", &err);
    if (!m || on_model_compile(m, batch, &err)) {
        fprintf(stderr, "error: %s\n", err.msg);
        on_model_free(m);
        return 1;
    }
    on_model_init(m, 1);
    /* A fixed random batch: the model should learn to fit it. */
    float *x = malloc(sizeof(float) * batch * 144);
    int labels[16];
    srand(7);
    for (int i = 0; i < batch * 144; i++) x[i] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < batch; i++) labels[i] = i % 4;
    float first = 0, last = 0;
    for (int s = 0; s < steps; s++) {
        on_model_forward(m, x, batch, 1);
        float loss = on_model_loss(m, labels, 0.0f);
        on_model_zero_grad(m);
        on_model_backward(m);
        on_sgd_step(m, 0.1f, 0.9f, 0.0f, 0);
        if (s == 0) first = loss;
        last = loss;
        printf("step %d loss %.4f\n", s, loss);
    }
    printf("%zu parameters; loss %.4f -> %.4f\n", on_model_num_params(m), first, last);
    free(x);
    on_model_free(m);
    return last < first ? 0 : 1;
}
