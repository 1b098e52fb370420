/* strbuf.c - growable byte string. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void
reserve(struct strbuf *sb, size_t extra)
{
    /* +1 keeps room for the terminating NUL. */
    sb->data = xgrow(sb->data, &sb->cap, sb->len + extra + 1, 1);
}

void
sb_append(struct strbuf *sb, const char *s, size_t n)
{
    reserve(sb, n);
    if (n > 0) {
        memcpy(sb->data + sb->len, s, n);
    }
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void
sb_append_str(struct strbuf *sb, const char *s)
{
    sb_append(sb, s, strlen(s));
}

void
sb_append_char(struct strbuf *sb, char c)
{
    reserve(sb, 1);
    sb->data[sb->len++] = c;
    sb->data[sb->len] = '\0';
}

void
sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    char small[128];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sb_append(sb, small, (size_t)n);
        return;
    }
    reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

const char *
sb_str(const struct strbuf *sb)
{
    return sb->data ? sb->data : "";
}

void
sb_clear(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->data) {
        sb->data[0] = '\0';
    }
}

void
sb_free(struct strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
}
