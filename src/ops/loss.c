/* loss.c - softmax cross-entropy with label smoothing, as PyTorch's
 * cross_entropy(label_smoothing=s): target = (1-s) one-hot + s/K, mean over the batch. */
#include "op.h"

#include <math.h>

/* logits (N,K), labels (N) -> mean loss; dlogits (N,K) = (softmax - target) / N */
float on_softmax_xent(const float *logits, const int *labels, int n, int k, float smoothing,
                      float *dlogits) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        float mx = z[0];
        for (int j = 1; j < k; j++) mx = z[j] > mx ? z[j] : mx;
        double se = 0, sz = 0;
        for (int j = 0; j < k; j++) {
            se += exp((double)z[j] - mx);
            sz += (double)z[j] - mx;
        }
        double lse = log(se);
        int y = labels[i];
        if (y < 0 || y >= k) return NAN; /* the caller validates labels */
        /* -sum_j t_j log p_j with log p_j = z_j - mx - lse */
        double lp_y = (double)z[y] - mx - lse, lp_mean = sz / k - lse;
        total += -(1 - smoothing) * lp_y - smoothing * lp_mean;
        if (dlogits)
            for (int j = 0; j < k; j++) {
                double p = exp((double)z[j] - mx - lse);
                double t = smoothing / k + (j == y ? 1 - smoothing : 0);
                dlogits[(size_t)i * k + j] = (float)((p - t) / n);
            }
    }
    return (float)(total / n);
}
