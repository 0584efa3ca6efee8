/* atomic.h - write a file so that a crash leaves the old file or the new one, never a part:
 * to PATH.tmp.PID, fflush + fsync, rename over PATH (internal to libordnet). */
#ifndef ON_IO_ATOMIC_H
#define ON_IO_ATOMIC_H

#include "ordnet.h"

#include <stddef.h>

/* Write the n buffers parts[i] of lens[i] bytes, one after the other, to path. On failure
 * err names path and the reason, the temporary file is removed and path is untouched. */
int on_write_atomic(const char *path, const void *const *parts, const size_t *lens, int n,
                    on_error *err);

#endif
