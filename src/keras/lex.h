/* lex.h - tokens of ordnet's Python reader (lex.c), for the Keras reader. */
#ifndef ON_KERAS_LEX_H
#define ON_KERAS_LEX_H

#include "../ops/op.h"

enum { T_EOF, T_NEWLINE, T_NAME, T_NUM, T_STR, T_OP };

typedef struct tok {
    int type;
    int off, len;  /* bytes of the text */
    int line, col; /* 1-based */
    int indent;    /* column - 1 of the first token of its logical line */
    int first;     /* it starts a logical line */
} tok;

/* The tokens of text (at most 1 MiB, brackets nested at most 64 deep), ending with a
 * T_NEWLINE and a T_EOF: *out (malloc'd, n + 3 slots) holds *nt tokens; *len is the text's
 * length. -1 and err (FILE:LINE:COL: message, file naming the text) on a lexical error. */
int py_lex(const char *text, const char *file, tok **out, int *nt, int *len, on_error *err);

#endif
