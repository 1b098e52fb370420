/* escape.c - making arbitrary bytes safe for XML, terminals, folded
   stacks, CSV, JSON and pprof's strings. */
#include "escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char REPLACEMENT[] = "\xef\xbf\xbd";  /* U+FFFD */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
   forms, no surrogates, nothing above U+10FFFF), or 0 if there is none.
   The code point goes to *cp. */
static size_t
utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
        *cp = c & 0x1f;
    }
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
        *cp = c & 0x0f;
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
        *cp = c & 0x07;
    }
    else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

enum clean_mode {
    CLEAN_UTF8,       /* valid UTF-8 that XML accepts */
    CLEAN_XML,        /* that, with XML's special characters escaped */
    CLEAN_TERMINAL,   /* valid UTF-8 without control characters */
    CLEAN_PPROF       /* valid UTF-8 without control characters other
                         than TAB, LF and CR */
};

static bool
allowed(uint32_t cp, enum clean_mode mode)
{
    if (mode == CLEAN_TERMINAL) {
        return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0);
    }
    if (mode == CLEAN_PPROF) {
        if (cp < 0x20) {
            return cp == 0x09 || cp == 0x0a || cp == 0x0d;
        }
        return cp != 0x7f && !(cp >= 0x80 && cp < 0xa0);
    }
    if (cp < 0x20) {
        return cp == 0x09 || cp == 0x0a || cp == 0x0d;
    }
    return cp != 0xfffe && cp != 0xffff;
}

static const char *
xml_entity(uint32_t cp)
{
    switch (cp) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

static void
append_clean(struct strbuf *sb, const char *s, size_t n, enum clean_mode mode)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    size_t plain = 0;   /* start of the run copied verbatim */

    while (i < n) {
        uint32_t cp;
        size_t len = utf8_sequence(p + i, n - i, &cp);
        const char *replace = NULL;

        if (len == 0 || !allowed(cp, mode)) {
            replace = REPLACEMENT;
            if (len == 0) {
                len = 1;
            }
        }
        else if (mode == CLEAN_XML) {
            replace = xml_entity(cp);
        }
        if (replace != NULL) {
            sb_append(sb, s + plain, i - plain);
            sb_append_str(sb, replace);
            plain = i + len;
        }
        i += len;
    }
    sb_append(sb, s + plain, n - plain);
}

void
sb_append_utf8(struct strbuf *sb, const char *s, size_t n)
{
    append_clean(sb, s, n, CLEAN_UTF8);
}

void
sb_append_xml(struct strbuf *sb, const char *s, size_t n)
{
    append_clean(sb, s, n, CLEAN_XML);
}

void
sb_append_terminal(struct strbuf *sb, const char *s, size_t n)
{
    append_clean(sb, s, n, CLEAN_TERMINAL);
}

void
sb_append_pprof(struct strbuf *sb, const char *s, size_t n)
{
    append_clean(sb, s, n, CLEAN_PPROF);
}

void
sb_append_folded(struct strbuf *sb, const char *s, size_t n)
{
    const char *end = s + n;
    const char *semicolon;

    while ((semicolon = memchr(s, ';', (size_t)(end - s))) != NULL) {
        sb_append(sb, s, (size_t)(semicolon - s));
        sb_append_str(sb, "\\x3b");
        s = semicolon + 1;
    }
    sb_append(sb, s, (size_t)(end - s));
}

void
sb_append_csv(struct strbuf *sb, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    struct strbuf text = STRBUF_INIT;
    bool quote = false;

    if (n > 0 && s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL) {
        /* OWASP's defence against formula injection: a leading ' inside
           a quoted field */
        sb_append_char(&text, '\'');
        quote = true;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_sequence(p + i, n - i, &cp);
        if (len == 0 || cp == 0) {
            sb_printf(&text, "\\x%02x", p[i]);
            i++;
            continue;
        }
        if (cp == '"' || cp == ',' || cp == '\r' || cp == '\n') {
            quote = true;
        }
        sb_append(&text, s + i, len);
        i += len;
    }

    if (!quote) {
        sb_append(sb, sb_str(&text), text.len);
    }
    else {
        const char *t = sb_str(&text);
        sb_append_char(sb, '"');
        for (size_t i = 0; i < text.len; i++) {
            if (t[i] == '"') {
                sb_append_char(sb, '"');
            }
            sb_append_char(sb, t[i]);
        }
        sb_append_char(sb, '"');
    }
    sb_free(&text);
}

void
sb_append_json(struct strbuf *sb, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_sequence(p + i, n - i, &cp);
        if (len == 0) {
            sb_append_str(sb, REPLACEMENT);
            i++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            sb_append_char(sb, '\\');
            sb_append_char(sb, (char)cp);
        }
        else if (cp < 0x20 || cp == 0x7f || cp == '<' || cp == '>'
                 || cp == '&' || cp == '\'' || cp == 0x2028
                 || cp == 0x2029) {
            sb_printf(sb, "\\u%04x", (unsigned)cp);
        }
        else {
            sb_append(sb, s + i, len);
        }
        i += len;
    }
}

size_t
utf8_length(const char *s, size_t n)
{
    size_t chars = 0;

    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            chars++;
        }
    }
    return chars;
}

size_t
utf8_offset(const char *s, size_t n, size_t chars)
{
    size_t seen = 0;

    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xc0) != 0x80) {
            if (seen == chars) {
                return i;
            }
            seen++;
        }
    }
    return n;
}
