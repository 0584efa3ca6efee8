/* no_onnx.c - the ONNX calls of a build without ONNX support (-DORDNET_ONNX=OFF, or
 * protobuf-c / libonnx-dev missing): they fail with a message saying so, and programs that
 * name them still link. */
#include "../ops/op.h"

static const char missing[] = "ordnet was built without ONNX support (rebuild with "
                              "libprotobuf-c-dev, protobuf-c-compiler and libonnx-dev installed)";

on_model *on_onnx_load(const char *path, on_error *err) {
    on_fail(err, "%s: %s", path, missing);
    return NULL;
}

on_model *on_onnx_parse(const void *buf, size_t len, const char *label, on_error *err) {
    (void)buf, (void)len;
    on_fail(err, "%s: %s", label ? label : "<memory>", missing);
    return NULL;
}

int on_onnx_save(const on_model *m, const char *path, on_error *err) {
    (void)m;
    return on_fail(err, "%s: %s", path, missing);
}

int on_onnx_encode(const on_model *m, void **buf, size_t *len, on_error *err) {
    (void)m;
    if (buf) *buf = NULL;
    if (len) *len = 0;
    return on_fail(err, "%s", missing);
}

on_model *on_onnx_load_feeds(const char *path, const on_onnx_feed *feeds, int nfeeds,
                             int *data_feed, on_error *err) {
    (void)feeds, (void)nfeeds, (void)data_feed;
    on_fail(err, "%s: %s", path, missing);
    return NULL;
}

on_model *on_onnx_parse_feeds(const void *buf, size_t len, const char *label,
                              const on_onnx_feed *feeds, int nfeeds, int *data_feed,
                              on_error *err) {
    (void)buf, (void)len, (void)feeds, (void)nfeeds, (void)data_feed;
    on_fail(err, "%s: %s", label ? label : "<memory>", missing);
    return NULL;
}
