/* big_alloc.c - memory for a model's arena (tens to hundreds of MB, walked by every step).
 *
 * On Linux the arena asks for transparent huge pages (2 MB) where the system grants them on
 * request (`/sys/kernel/mm/transparent_hugepage/enabled` = madvise, Debian's default): with
 * 4 KB pages a training step over a 100 MB arena touches ~25,000 pages, more than the TLB
 * holds, and the passes that stride across samples (BatchNorm's channels, the pooling
 * gradients) miss it page after page. Elsewhere, or when refused, plain pages.
 *
 * A model's parameters too (on_huge_alloc: mapped and unmapped here, as from aligned_alloc
 * the blocks they grow through while a model is built stayed in the process's heap once
 * freed). ResNet-50's 100 MB of weights, read whole by each forward, had been on 4 KB pages
 * (realloc's); on huge pages ResNet-50 took 0.948x-0.980x the time at batch 1 and
 * 0.965x-0.973x at batch 8, ResNet-18 0.914x-0.981x and 0.948x-0.983x, MobileNet v2 0.987x
 * at batch 8 (bench/lib_ab.sh, 2 threads). */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "base.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

enum { HUGE_PAGE = 2 << 20 };

/* One arena given back, kept for the next compile: the kernel clears every page new to the
 * process (2 MB at a time here; on these virtual machines up to 2.3 ms a MB), and a study's
 * speed phase compiles each class's model for a full batch and back to one, 168 times: 9.7%
 * of that phase's CPU time was clear_page. The block kept is the larger of the last two
 * given back; it serves a request of at least half its size, and goes back to the system
 * before any other big block is allocated, so the arenas never hold more than they held at
 * once before, and a small model does not pin a large one's block. */
static struct {
    pthread_mutex_t lock;
    void *p;
    size_t len;
} spare = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static size_t big_len(size_t bytes) {
    return (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

void *on_big_alloc(size_t bytes, size_t *got) {
    *got = bytes;
    if (bytes < 4 * (size_t)HUGE_PAGE) return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    size_t len = big_len(bytes);
    void *p = NULL, *drop = NULL;
    pthread_mutex_lock(&spare.lock);
    if (spare.p && spare.len >= len && spare.len / 2 <= len)
        p = spare.p, *got = spare.len;
    else
        drop = spare.p;
    spare.p = NULL;
    pthread_mutex_unlock(&spare.lock);
    free(drop);
    if (p) return p;
    p = aligned_alloc(HUGE_PAGE, len);
    *got = len;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) (void)madvise(p, len, MADV_HUGEPAGE); /* a hint: refused, it costs nothing */
#endif
    return p;
}

void on_big_free(void *p, size_t bytes) {
    if (!p || bytes < 4 * (size_t)HUGE_PAGE) {
        free(p);
        return;
    }
    size_t len = big_len(bytes);
    pthread_mutex_lock(&spare.lock);
    if (!spare.p || spare.len < len) { /* keep the larger */
        void *q = spare.p;
        spare.p = p, spare.len = len;
        p = q;
    }
    pthread_mutex_unlock(&spare.lock);
    free(p);
}

void *on_huge_alloc(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= 4 * (size_t)HUGE_PAGE) { /* mapped with a huge page to spare, then trimmed */
        size_t len = big_len(bytes);
        char *m =
            mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        size_t head = (HUGE_PAGE - (uintptr_t)m % HUGE_PAGE) % HUGE_PAGE;
        if (head) munmap(m, head);
        if (HUGE_PAGE - head) munmap(m + head + len, HUGE_PAGE - head);
        (void)madvise(m + head, len, MADV_HUGEPAGE); /* a hint: refused, it costs nothing */
        return m + head;
    }
#endif
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

void on_huge_free(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && bytes >= 4 * (size_t)HUGE_PAGE) {
        munmap(p, big_len(bytes));
        return;
    }
#endif
    free(p);
}
