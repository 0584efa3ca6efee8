/* big_alloc.c - memory for a model's arena (tens to hundreds of MB, walked by every step).
 *
 * On Linux the arena asks for transparent huge pages (2 MB) where the system grants them on
 * request (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, Debian's default): with
 * 4 KB pages a training step over a 100 MB arena touches ~25,000 pages, more than the TLB
 * holds, and the passes that stride across samples (BatchNorm's channels, the pooling
 * gradients) miss it page after page. Elsewhere, or when refused, plain pages. */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "base.h"

#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

enum { HUGE_PAGE = 2 << 20 };

void *on_big_alloc(size_t bytes) {
    if (bytes < 4 * (size_t)HUGE_PAGE) return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    size_t len = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, len);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) (void)madvise(p, len, MADV_HUGEPAGE); /* a hint: refused, it costs nothing */
#endif
    return p;
}
