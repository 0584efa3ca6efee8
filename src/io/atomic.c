/* atomic.c - see atomic.h. */
#include "atomic.h"

#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fsync the directory holding path, so that the rename itself survives a crash. */
static void sync_parent(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = 0; /* "/x" -> "/" */
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int on_write_atomic(const char *path, const void *const *parts, const size_t *lens, int n,
                    on_error *err) {
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp) return on_fail(err, "%s: out of memory", path);
    snprintf(tmp, plen, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        on_fail(err, "%s: cannot create the temporary file %s: %s", path, tmp, strerror(e));
        free(tmp);
        return -1;
    }
    int bad = 0, e = 0;
    for (int i = 0; !bad && i < n; i++)
        bad = lens[i] && fwrite(parts[i], 1, lens[i], fp) != lens[i];
    if (bad || fflush(fp) || fsync(fileno(fp))) {
        e = errno;
        bad = 1;
    }
    if (fclose(fp) && !bad) {
        e = errno;
        bad = 1;
    }
    if (!bad && rename(tmp, path)) {
        e = errno;
        on_fail(err, "%s: cannot rename %s over it: %s", path, tmp, strerror(e));
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (bad) {
        on_fail(err, "%s: write error on %s: %s", path, tmp, strerror(e ? e : EIO));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    sync_parent(path);
    return 0;
}
