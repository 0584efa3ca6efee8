/* strbuf.h - a growing string for reports (summary, analyze, study). */
#ifndef ON_STRBUF_H
#define ON_STRBUF_H

#include <stddef.h>

typedef struct on_sb {
    char *s; /* NUL-terminated once anything was added; the caller frees it */
    size_t n, cap;
    int oom; /* an append failed: the text is incomplete */
} on_sb;

/* Append printf-style text. */
void on_sb_add(on_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
