/* lex.c - the tokenizer of ordnet's Python reader: Python's tokens (names, numbers, strings
 * with their prefixes and triple quotes, operators), comments, line continuations inside
 * brackets and after a backslash, logical lines with their indentation. Every error is
 * FILE:LINE:COL: message. The Keras reader (src/keras/, eval.h) runs the tokens.
 */
#include "lex.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 64        /* open brackets */
#define MAX_TEXT (1 << 20) /* bytes of code */

typedef struct lexer {
    const char *text, *file;
    int tlen;
    tok *t;
    int nt;
    on_error *err;
} lexer;

static int fail_lc(lexer *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_lc(lexer *c, int line, int col, const char *fmt, ...) {
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return on_fail(c->err, "%s:%d:%d: %s", c->file, line, col, m);
}

/* A string literal from its opening quote at *q; *q ends after the closing quote. Line
 * breaks inside (triple quotes, escaped newlines) advance *line and *ls. */
static int scan_string(lexer *c, int *q, int *line, int *ls, const tok *t) {
    const char *s = c->text;
    int n = c->tlen, i = *q;
    char qc = s[i];
    int triple = s[i + 1] == qc && s[i + 2] == qc;
    i += triple ? 3 : 1;
    for (;;) {
        if (i >= n) return fail_lc(c, t->line, t->col, "unterminated string");
        char sc = s[i];
        if (sc == '\\' && i + 1 < n) {
            if (s[i + 1] == '\r' && s[i + 2] == '\n') i++;
            if (s[i + 1] == '\n') ++*line, *ls = i + 2;
            i += 2;
            continue;
        }
        if (sc == '\n') {
            if (!triple) return fail_lc(c, t->line, t->col, "unterminated string");
            ++*line;
            *ls = i + 1;
        }
        if (sc == qc && (!triple || (s[i + 1] == qc && s[i + 2] == qc))) {
            *q = i + (triple ? 3 : 1);
            return 0;
        }
        i++;
    }
}

static int lex(lexer *c) {
    const char *s = c->text;
    size_t slen = strlen(s);
    if (slen > MAX_TEXT)
        return fail_lc(c, 1, 1, "the text is too long (%zu bytes; at most 1 MiB)", slen);
    int n = c->tlen = (int)slen;
    c->t = malloc(sizeof(tok) * ((size_t)n + 3));
    if (!c->t) return fail_lc(c, 1, 1, "out of memory");
    int pos = 0, line = 1, ls = 0, depth = 0, linefirst = 1, indent = 0;
    int open[MAX_NEST];
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) pos = ls = 3;
    while (pos < n) {
        char ch = s[pos];
        if (ch == '\n') {
            if (depth == 0 && c->nt > 0 && c->t[c->nt - 1].type != T_NEWLINE)
                c->t[c->nt++] = (tok){.type = T_NEWLINE,
                                      .off = pos,
                                      .len = 1,
                                      .line = line,
                                      .col = pos - ls + 1,
                                      .indent = indent};
            if (depth == 0) linefirst = 1;
            pos++;
            line++;
            ls = pos;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
            pos++;
            continue;
        }
        if (ch == '#') {
            while (pos < n && s[pos] != '\n') pos++;
            continue;
        }
        if (ch == '\\') {
            int q = pos + 1;
            if (q < n && s[q] == '\r') q++;
            if (q >= n) {
                pos = n;
                continue;
            }
            if (s[q] == '\n') {
                pos = q + 1;
                line++;
                ls = pos;
                continue;
            }
            return fail_lc(c, line, pos - ls + 1,
                           "unexpected '\\' (a line continuation must end the line)");
        }
        tok t = {.off = pos, .line = line, .col = pos - ls + 1};
        if (linefirst) {
            t.first = 1;
            indent = t.col - 1;
            linefirst = 0;
        }
        t.indent = indent;
        unsigned char u = (unsigned char)ch;
        int q = pos;
        if (isdigit(u) || (ch == '.' && isdigit((unsigned char)s[pos + 1]))) {
            t.type = T_NUM;
            if (ch == '0' && strchr("xXoObB", s[q + 1]) && s[q + 1]) {
                q += 2;
                while (isalnum((unsigned char)s[q]) || s[q] == '_') q++;
            } else {
                while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                if (s[q] == '.') {
                    q++;
                    while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                }
                if (s[q] == 'e' || s[q] == 'E') {
                    int r = q + 1;
                    if (s[r] == '+' || s[r] == '-') r++;
                    if (isdigit((unsigned char)s[r])) {
                        q = r;
                        while (isdigit((unsigned char)s[q]) || s[q] == '_') q++;
                    }
                }
                if (s[q] == 'j' || s[q] == 'J') q++;
            }
            if (isalnum((unsigned char)s[q]) || s[q] == '_')
                return fail_lc(c, line, t.col, "invalid number '%.*s'",
                               q - pos + 1 > 30 ? 30 : q - pos + 1, s + pos);
        } else if (u >= 0x80) {
            return fail_lc(c, line, t.col,
                           "non-ASCII character (byte 0x%02x) outside a string or comment: "
                           "typographic quotes? write ' or \"",
                           u);
        } else if (isalpha(u) || ch == '_') {
            while (q < n && (isalnum((unsigned char)s[q]) || s[q] == '_')) q++;
            t.type = T_NAME;
            int plen = q - pos;
            int prefix = plen <= 2 && (s[q] == '\'' || s[q] == '"');
            for (int i = pos; prefix && i < q; i++) prefix = strchr("rRbBuUfF", s[i]) != NULL;
            if (prefix) {
                t.type = T_STR;
                if (scan_string(c, &q, &line, &ls, &t)) return -1;
            }
        } else if (ch == '\'' || ch == '"') {
            t.type = T_STR;
            if (scan_string(c, &q, &line, &ls, &t)) return -1;
        } else {
            static const char *const ops[] = {
                "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "->",
                "+=",  "-=",  "*=",  "/=",  "%=",  "&=", "|=", "^=", "@=", ":=", "<<", ">>"};
            t.type = T_OP;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
                if (!strncmp(s + pos, ops[k], strlen(ops[k]))) {
                    q = pos + (int)strlen(ops[k]);
                    break;
                }
            if (q == pos) {
                if (!strchr("()[]{},:;.=+-*/%@<>&|^~", ch) || !ch) {
                    if (u >= 0x20 && u < 0x7f)
                        return fail_lc(c, line, t.col, "unexpected character '%c'", ch);
                    return fail_lc(c, line, t.col, "unexpected byte 0x%02x", u);
                }
                q = pos + 1;
                if (strchr("([{", ch)) {
                    if (depth == MAX_NEST)
                        return fail_lc(c, line, t.col, "brackets nested deeper than %d levels",
                                       MAX_NEST);
                    open[depth++] = c->nt;
                } else if (strchr(")]}", ch)) {
                    if (depth == 0) return fail_lc(c, line, t.col, "unmatched '%c'", ch);
                    const tok *o = &c->t[open[depth - 1]];
                    char oc = s[o->off];
                    if ((oc == '(' && ch != ')') || (oc == '[' && ch != ']') ||
                        (oc == '{' && ch != '}'))
                        return fail_lc(c, line, t.col, "'%c' does not match '%c' at %d:%d", ch, oc,
                                       o->line, o->col);
                    depth--;
                }
            }
        }
        t.len = q - pos;
        c->t[c->nt++] = t;
        pos = q;
    }
    if (depth > 0) {
        const tok *o = &c->t[open[depth - 1]];
        return fail_lc(c, o->line, o->col, "'%c' is never closed", s[o->off]);
    }
    if (c->nt > 0 && c->t[c->nt - 1].type != T_NEWLINE)
        c->t[c->nt++] =
            (tok){.type = T_NEWLINE, .off = n, .line = line, .col = n - ls + 1, .indent = indent};
    c->t[c->nt++] = (tok){.type = T_EOF, .off = n, .line = line, .col = n - ls + 1};
    return 0;
}

int py_lex(const char *text, const char *file, tok **out, int *nt, int *len, on_error *err) {
    lexer c = {.text = text ? text : "", .file = file, .err = err};
    int r = lex(&c);
    if (r) {
        free(c.t);
        c.t = NULL;
        c.nt = 0;
    }
    *out = c.t;
    *nt = c.nt;
    *len = c.tlen;
    return r;
}
