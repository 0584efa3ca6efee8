/* fuzz_spec.c - libFuzzer harness over on_model_from_text (Keras code and the compact form)
 * and on_model_summary. Each input is read three ways: as it is, with 10 classes (the
 * classifier head), and with a caller's input shape. Besides crashes, hangs and leaks, it
 * stops on an error message that does not start with "fuzz.py:" (every reader error must
 * name the file and position) and on a summary that is missing or not valid JSON.
 * Built and run by run.sh. */
#include "ordnet.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_model(on_model *m, const on_error *err) {
    if (!m) {
        if (strncmp(err->msg, "fuzz.py:", 8) || !memchr(err->msg, 0, sizeof err->msg)) abort();
        return;
    }
    char *s = on_model_summary(m, 0);
    if (!s || !strstr(s, "Total params: ")) abort();
    free(s);
    s = on_model_summary(m, 1);
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    if (!j || !cJSON_IsArray(cJSON_GetObjectItem(j, "layers"))) abort();
    cJSON_Delete(j);
    free(s);
    if (on_model_num_nodes(m) < 1) abort();
    on_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    on_error err;
    on_shape rgb = {3, 3, 16, 16};
    check_model(on_model_from_text(text, "fuzz.py", NULL, 0, &err), &err);
    check_model(on_model_from_text(text, "fuzz.py", NULL, 10, &err), &err);
    check_model(on_model_from_text(text, "fuzz.py", &rgb, 0, &err), &err);
    free(text);
    return 0;
}
