/* text_fit.c - texts (on_dataset.words > 0, read by data/text.c) fitted to the model that
 * trains on them, as a Keras user prepares them for an Embedding:
 *   Tokenizer(num_words = the Embedding's input_dim): only ids below it are kept (the
 *       input_dim - 1 most frequent words; the others are dropped from the text);
 *   pad_sequences(maxlen = the model's input length) with its defaults: padding 'pre'
 *       (zeros in front) and truncating 'pre' (a longer text keeps its last words).
 * Token ids are not normalized and not augmented (the trainer asks on_model_takes_ids).
 * A numeric CSV of L ids per line (texts tokenized elsewhere) is taken as token ids too;
 * the Embedding refuses an id that is not whole or not below its input_dim.
 */
#include "../graph.h"

#include <stdlib.h>
#include <string.h>

int on_model_takes_ids(const on_model *m) {
    int vocab = 0;
    for (int i = 1; i < m->nn; i++)
        for (int k = 0; k < m->nodes[i].nin; k++) {
            if (m->nodes[i].in[k] != 0) continue;
            if (strcmp(m->nodes[i].op->name, "embedding")) return 0;
            if (!vocab || m->nodes[i].a.vocab < vocab) vocab = m->nodes[i].a.vocab;
        }
    return vocab;
}

int on_dataset_fit(const on_model *m, const on_dataset *d, on_dataset *out, on_error *err) {
    *out = *d;
    int vocab = on_model_takes_ids(m);
    if (d->words <= 0) { /* numbers: a CSV of L token ids per line reads as (1, L) */
        if (vocab && d->shape.rank == 2 && d->shape.c == 1 && d->shape.h == 1 &&
            d->shape.w == m->input.c)
            out->shape = m->input;
        return 0;
    }
    if (!vocab) {
        const on_node *first = m->nn > 1 ? &m->nodes[1] : NULL;
        for (int i = 1; i < m->nn && first; i++)
            if (m->nodes[i].in[0] == 0 && strcmp(m->nodes[i].op->name, "embedding"))
                first = &m->nodes[i];
        return on_fail(err,
                       "the data holds texts (each line a label and a text; %d words in the "
                       "training texts) but the model's input feeds %s '%s', not an embedding: "
                       "start the model with input(L) embedding(V,D), e.g. Keras's "
                       "Embedding(V, D, input_length=L)",
                       d->words, first ? first->op->name : "nothing",
                       first ? first->name : "(no layer)");
    }
    int L = m->input.c, Ld = d->shape.c;
    memset(out, 0, sizeof *out);
    out->x = calloc((size_t)d->n * (size_t)L + 1, sizeof(float));
    out->y = malloc(sizeof(int) * ((size_t)d->n + 1));
    if (!out->x || !out->y) {
        on_dataset_free(out);
        return on_fail(err, "out of memory for %d texts of %d token ids", d->n, L);
    }
    memcpy(out->y, d->y, sizeof(int) * (size_t)d->n);
    out->n = d->n;
    out->classes = d->classes;
    out->shape = m->input;
    for (int i = 0; i < d->n; i++) { /* from the end: the last L kept ids, zeros in front */
        const float *src = d->x + (size_t)i * Ld;
        float *dst = out->x + (size_t)i * L;
        int k = L;
        for (int j = Ld - 1; j >= 0 && k > 0 && src[j] != 0; j--)
            if (src[j] < (float)vocab) dst[--k] = src[j];
    }
    return 1;
}
