/*
 * text.c - the bytes a slot stores: label text and "where" (see text.h).
 */
#include <Python.h>
#include <string.h>

#include "frames.h"
#include "text.h"

static int
is_utf8_continuation(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

size_t
pyscope_utf8_copy(char *buf, size_t size, const char *s, size_t n)
{
    if (n > size - 1) {
        n = size - 1;
        /* s[n] is the first byte left out: if it continues a character,
           leave out the whole character. */
        while (n > 0 && is_utf8_continuation(s[n])) {
            n--;
        }
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return n;
}

/* Copy valid UTF-8 into d->text, each NUL byte as the two characters \0
   (a reader stops at the first NUL: nothing may hide behind one). */
static void
copy_label(struct pyscope_label_data *d, const char *src, size_t n)
{
    size_t out = 0;
    size_t i;

    if (n <= PYSCOPE_LABEL_MAX && memchr(src, '\0', n) == NULL) {
        memcpy(d->text, src, n);     /* the usual case */
        d->text[n] = '\0';
        d->len = (uint32_t)n;
        return;
    }
    for (i = 0; i < n; i++) {
        if (src[i] == '\0') {
            if (out + 2 > PYSCOPE_LABEL_MAX) {
                break;
            }
            d->text[out++] = '\\';
            d->text[out++] = '0';
        }
        else {
            if (out + 1 > PYSCOPE_LABEL_MAX) {
                break;
            }
            d->text[out++] = src[i];
        }
    }
    if (i < n) {
        /* Cut.  Bytes of multi-byte characters were copied one for one, so
           backing up over a partly copied character is symmetric. */
        while (i > 0 && is_utf8_continuation(src[i])) {
            i--;
            out--;
        }
        d->flags |= PYSCOPE_FLAG_TRUNCATED;
    }
    d->text[out] = '\0';
    d->len = (uint32_t)out;
}

int
pyscope_text_set(struct pyscope_label_data *d, PyObject *label)
{
    if (!PyUnicode_Check(label)) {
        PyErr_Format(PyExc_TypeError, "label must be str, not %.100s",
                     Py_TYPE(label)->tp_name);
        return -1;
    }
    if (PyUnicode_READY(label) < 0) {
        return -1;
    }
    d->flags = 0;
    if (PyUnicode_IS_COMPACT_ASCII(label)) {
        /* The common case: the characters are the bytes. */
        copy_label(d, (const char *)PyUnicode_DATA(label),
                   (size_t)PyUnicode_GET_LENGTH(label));
        return 0;
    }

    /* Every character takes at least one byte, so LABEL_MAX + 1 characters
       are enough to fill the text and know it was cut: never encode all of
       a huge string. */
    Py_ssize_t length = PyUnicode_GET_LENGTH(label);
    PyObject *head;
    if (length > PYSCOPE_LABEL_MAX + 1) {
        head = PyUnicode_Substring(label, 0, PYSCOPE_LABEL_MAX + 1);
        if (head == NULL) {
            return -1;
        }
    }
    else {
        Py_INCREF(label);
        head = label;
    }
    /* backslashreplace: a lone surrogate becomes \udcxx, so the bytes are
       always valid UTF-8 (and encoding never fails on content). */
    PyObject *bytes = PyUnicode_AsEncodedString(head, "utf-8",
                                                "backslashreplace");
    Py_DECREF(head);
    if (bytes == NULL) {
        return -1;
    }
    copy_label(d, PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return 0;
}

/* Appends to a bounded buffer; once something had to be cut, nothing more
   is added (a cut name followed by " (file:1)" would mislead). */
struct builder {
    char *buf;
    size_t size;
    size_t pos;
    int full;
};

static void
append(struct builder *b, const char *s, size_t n)
{
    if (b->full) {
        return;
    }
    size_t room = b->size - b->pos;
    size_t copied = pyscope_utf8_copy(b->buf + b->pos, room, s, n);
    b->pos += copied;
    if (copied < n) {
        b->full = 1;
    }
}

/* The UTF-8 of a str, or "?" (a file name can hold lone surrogates). */
static const char *
utf8_or_placeholder(PyObject *s, Py_ssize_t *n)
{
    const char *u = NULL;
    if (s != NULL && PyUnicode_Check(s)) {
        u = PyUnicode_AsUTF8AndSize(s, n);
    }
    if (u == NULL) {
        PyErr_Clear();
        *n = 1;
        u = "?";
    }
    return u;
}

/* Decimal digits of a line number, then ")". */
static size_t
format_line_end(char *buf, int line)
{
    char digits[16];
    size_t n = 0;
    unsigned int u = line < 0 ? 0 : (unsigned int)line;

    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t len = 0;
    buf[len++] = ':';
    while (n > 0) {
        buf[len++] = digits[--n];
    }
    buf[len++] = ')';
    return len;
}

static void
format_where(char *where, size_t size, PyCodeObject *code, int line)
{
    struct builder b = {where, size, 0, 0};
    Py_ssize_t n;
    const char *s;

    where[0] = '\0';
    s = utf8_or_placeholder(pyscope_code_name(code), &n);
    append(&b, s, (size_t)n);
    append(&b, " (", 2);
    s = utf8_or_placeholder(code->co_filename, &n);
    const char *slash = memrchr(s, '/', (size_t)n);
    if (slash != NULL) {
        n -= slash + 1 - s;
        s = slash + 1;
    }
    append(&b, s, (size_t)n);
    char end[24];
    append(&b, end, format_line_end(end, line));
}

/*
 * Working out a line number walks the code's line table, which would make
 * up most of the cost of a paint.  A paint site is a (code, instruction)
 * pair that repeats, so keep the last few results.  Entries hold a
 * reference to their code object: an address cannot then stand for another
 * code object later.
 */
#define WHERE_CACHE_SIZE 64     /* a power of two */

struct where_entry {
    PyCodeObject *code;         /* strong; NULL = empty */
    int lasti;
    char where[PYSCOPE_WHERE_SIZE];
};

static struct where_entry where_cache[WHERE_CACHE_SIZE];

void
pyscope_where_set(struct pyscope_label_data *d, PyFrameObject *f)
{
    PyCodeObject *code = pyscope_frame_code(f);
    int lasti = pyscope_frame_lasti(f);
    uintptr_t key = ((uintptr_t)code >> 4) ^ ((uintptr_t)lasti * 0x9E3779B1u);
    struct where_entry *e = &where_cache[(key ^ (key >> 16))
                                         & (WHERE_CACHE_SIZE - 1)];

    if (e->code == code && e->lasti == lasti) {
        memcpy(d->where, e->where, sizeof d->where);
        Py_DECREF(code);
        return;
    }
    format_where(d->where, sizeof d->where, code, PyFrame_GetLineNumber(f));
    PyCodeObject *old = e->code;
    e->code = code;             /* our reference moves into the cache */
    e->lasti = lasti;
    memcpy(e->where, d->where, sizeof e->where);
    /* Last: a code object's death can run code (weakref callbacks) that
       paints, and so uses this cache. */
    Py_XDECREF(old);
}
