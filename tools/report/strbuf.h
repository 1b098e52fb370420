/* strbuf.h - growable byte string, always NUL-terminated once used. */
#ifndef PYSCOPE_STRBUF_H
#define PYSCOPE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data;
    size_t len;
    size_t cap;
};

#define STRBUF_INIT {NULL, 0, 0}

void sb_append(struct strbuf *sb, const char *s, size_t n);
void sb_append_str(struct strbuf *sb, const char *s);
void sb_append_char(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The contents as a C string ("" when nothing was appended yet). */
const char *sb_str(const struct strbuf *sb);

void sb_clear(struct strbuf *sb);
void sb_free(struct strbuf *sb);

#endif
