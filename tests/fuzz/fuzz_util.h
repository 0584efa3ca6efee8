/* fuzz_util.h - what the file-reading harnesses share: the readers take paths, so each
 * input is written to files in a private temporary directory (on /dev/shm when it exists)
 * that is removed when the fuzzer exits. Also the check every reader error must pass: a
 * NUL-terminated, non-empty message that names the file at fault (the temporary
 * directory's path appears in it). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include "ordnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FZ_MAX_FILES 16

static char fz_dir[256];
static char fz_names[FZ_MAX_FILES][64];
static int fz_nnames;

static void fz_cleanup(void) {
    char path[512];
    for (int i = 0; i < fz_nnames; i++) {
        snprintf(path, sizeof path, "%s/%s", fz_dir, fz_names[i]);
        unlink(path);
    }
    rmdir(fz_dir);
}

/* The directory, made on the first call. */
static const char *fz_tmpdir(void) {
    if (!fz_dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_dir, sizeof fz_dir, "%s/ordnet-fuzz-XXXXXX", base);
        if (!mkdtemp(fz_dir)) abort();
        atexit(fz_cleanup);
    }
    return fz_dir;
}

/* dir/name into path (PATH_MAX-sized), remembered for the cleanup. */
static const char *fz_path(const char *name, char *path, size_t len) {
    int known = 0;
    for (int i = 0; i < fz_nnames; i++) known |= !strcmp(fz_names[i], name);
    if (!known && fz_nnames < FZ_MAX_FILES) snprintf(fz_names[fz_nnames++], 64, "%s", name);
    snprintf(path, len, "%s/%s", fz_tmpdir(), name);
    return path;
}

/* Write n bytes to dir/name (gzip-compressed when gz); path receives the full path. */
static const char *fz_write(const char *name, const void *data, size_t n, int gz, char *path,
                            size_t len) {
    fz_path(name, path, len);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || (n && gzwrite(f, data, (unsigned)n) != (int)n) || gzclose(f) != Z_OK) abort();
        return path;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) abort();
    return path;
}

static void fz_remove(const char *name) {
    char path[512];
    unlink(fz_path(name, path, sizeof path));
}

/* A reader's error: non-empty, terminated, and naming a file in our directory. */
static void fz_check_error(const on_error *err) {
    if (!memchr(err->msg, 0, sizeof err->msg) || !err->msg[0]) abort();
    if (!strstr(err->msg, fz_tmpdir())) abort();
}

/* A data set that failed to load must be left empty. */
static void fz_check_empty(const on_dataset *d) {
    if (d->x || d->y || d->n) abort();
}

#endif
