/* build_info.c - what this build of ordnet has: its version and optional parts. */
#include "ordnet.h"

#ifndef ORDNET_FEATURES
#define ORDNET_FEATURES ""
#endif

const char *on_version(void) {
    return ORDNET_VERSION;
}

const char *on_build_features(void) {
    return ORDNET_FEATURES;
}
