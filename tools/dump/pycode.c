/* pycode.c - names and lines of code objects, python_frame.stp's rules. */
#include "pycode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one code point as UTF-8 (invalid ones as U+FFFD, NUL as "\0") into
   out: its length */
static size_t
put_utf8(char *out, uint32_t c)
{
    if (c == 0) {
        memcpy(out, "\\0", 2);
        return 2;
    }
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c >= 0x110000 || (c >= 0xd800 && c < 0xe000)) {
        c = 0xfffd;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

bool
py_unicode_string(const DumpLayout *L, const Target *t, uint64_t obj,
                  char *out, size_t out_size)
{
    uint64_t state, len, u8, u8len;
    size_t n, k = 0;
    const char *more;

    /* room for 4 bytes a character, "..", NUL */
    if (out_size < 4 * PYSCOPE_MAX_NAME + 3 || obj == 0
        || !mem_get(t, obj + L->off_str_state, &state, 4)
        || !mem_get(t, obj + L->off_str_length, &len, 8)
        || (int64_t)len < 0) {
        return false;
    }
    n = len < PYSCOPE_MAX_NAME ? (size_t)len : PYSCOPE_MAX_NAME;
    more = len > n ? ".." : "";
    if (!((state >> L->str_compact_bit) & 1)) {
        snprintf(out, out_size, "<legacy str>");
        return true;
    }
    if ((state >> L->str_ascii_bit) & 1) {
        if (!mem_read(t, obj + L->str_ascii_size, out, n)) {
            return false;
        }
        k = strnlen(out, n);    /* (user_string_n stops at a NUL) */
    }
    else if (mem_get(t, obj + L->off_str_utf8, &u8, 8) && u8 != 0) {
        if (!mem_get(t, obj + L->off_str_utf8_length, &u8len, 8)) {
            return false;
        }
        k = u8len < 4 * n ? (size_t)u8len : 4 * n;
        if (!mem_read(t, u8, out, k)) {
            return false;
        }
        k = strnlen(out, k);
    }
    else {
        unsigned kind = (unsigned)(state >> L->str_kind_bit) & 7;
        unsigned char buf[4 * PYSCOPE_MAX_NAME];

        if (kind != 1 && kind != 2 && kind != 4) {
            return false;
        }
        if (!mem_read(t, obj + L->str_compact_size, buf, kind * n)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t c;

            if (kind == 1) {
                c = buf[i];
            }
            else if (kind == 2) {
                c = (uint32_t)buf[2 * i] | (uint32_t)buf[2 * i + 1] << 8;
            }
            else {
                c = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8
                    | (uint32_t)buf[4 * i + 2] << 16
                    | (uint32_t)buf[4 * i + 3] << 24;
            }
            k += put_utf8(out + k, c);
        }
    }
    memcpy(out + k, more, strlen(more) + 1);
    return true;
}

bool
py_code_qualname(const DumpLayout *L, const Target *t, uint64_t code,
                 char *out, size_t out_size)
{
    uint64_t s;

    return mem_get(t, code + L->off_qualname, &s, 8)
           && py_unicode_string(L, t, s, out, out_size);
}

bool
py_code_filename(const DumpLayout *L, const Target *t, uint64_t code,
                 char *out, size_t out_size)
{
    uint64_t s;

    return mem_get(t, code + L->off_filename, &s, 8)
           && py_unicode_string(L, t, s, out, out_size);
}

/* byte i of the table (0 past its end) */
static int
byte_at(const unsigned char *table, long size, long i)
{
    return i >= 0 && i < size ? table[i] : 0;
}

/* 3.8-3.9 co_lnotab: pairs (bytecode offset increment, unsigned; line
   increment, signed), from co_firstlineno; the line of addrq is the line
   reached before the offset passes it. */
static long
addr2line_lnotab(const unsigned char *tb, long size, long line, long addrq)
{
    long addr = 0;

    for (long i = 0; i + 1 < size; i += 2) {
        addr += tb[i];
        if (addr > addrq) {
            break;
        }
        line += (signed char)tb[i + 1];
    }
    return line;
}

/* 3.10 co_linetable: pairs (bytecode length of a range; line increment,
   signed, -128 = no line), ranges back to back from offset 0. */
static long
addr2line_310(const unsigned char *tb, long size, long line, long addrq)
{
    long end = 0;

    if (addrq < 0) {
        return line;
    }
    for (long i = 0; i + 1 < size; i += 2) {
        long start = end, cur = -1;
        int d = tb[i + 1];

        end += tb[i];
        if (d != 128) {
            line += (signed char)d;
            cur = line;
        }
        if (addrq >= start && addrq < end) {
            return cur;
        }
    }
    return -1;
}

/* 3.11+ PEP 657 location table: entries of 1 start byte (bit 7 set, code
   in bits 3-6, length-1 in bits 0-2) then code-dependent varints; only
   the line delta matters here. */
static long
addr2line_311(const unsigned char *tb, long size, long line, long addrq,
              long unit)
{
    long i = 0, addr = 0;

    if (addrq < 0) {
        return line;
    }
    while (i < size) {
        int b = tb[i], kind = (b >> 3) & 15;
        long end = addr + ((b & 7) + 1) * unit, delta = 0;

        if (kind == 13 || kind == 14) {
            /* signed varint: 6-bit groups, 0x40 = more */
            long j = i + 1;
            int r = byte_at(tb, size, j), shift = 0;
            uint64_t v = (uint64_t)(r & 63);

            while ((r & 64) && j < size && shift < 60) {
                j++;
                r = byte_at(tb, size, j);
                shift += 6;
                v |= (uint64_t)(r & 63) << shift;
            }
            delta = (v & 1) ? -(long)(v >> 1) : (long)(v >> 1);
        }
        else if (kind >= 10 && kind <= 12) {
            delta = kind - 10;
        }
        line += delta;
        if (addrq < end) {
            return kind == 15 ? -1 : line;
        }
        addr = end;
        /* the next entry: the next byte with bit 7 set */
        i++;
        while (i < size && !(tb[i] & 0x80)) {
            i++;
        }
    }
    return -1;
}

long
py_addr2line(long format, long first_line, const unsigned char *table,
             long size, long addrq, long unit)
{
    if (format == 38) {
        return addr2line_lnotab(table, size, first_line, addrq);
    }
    if (format == 310) {
        return addr2line_310(table, size, first_line, addrq);
    }
    return addr2line_311(table, size, first_line, addrq, unit);
}

long
py_code_line(const DumpLayout *L, const Target *t, uint64_t code,
             int64_t lasti)
{
    uint64_t lt, size, first;
    unsigned char *table;
    long line;

    if (!mem_get(t, code + L->off_linetable, &lt, 8) || lt == 0
        || !mem_get(t, lt + L->off_ob_size, &size, 8)
        || !mem_get(t, code + L->off_firstlineno, &first, 4)) {
        return -2;
    }
    if ((int64_t)size < 0) {
        size = 0;
    }
    if (size > PYSCOPE_MAX_LINETABLE) {
        size = PYSCOPE_MAX_LINETABLE;
    }
    table = malloc(size ? size : 1);
    if (table == NULL || (size && !mem_read(t, lt + L->off_bytes_sval,
                                            table, size))) {
        free(table);
        return -2;
    }
    line = py_addr2line(L->linetable_format, (long)(int32_t)first, table,
                        (long)size, (long)(lasti * L->code_unit),
                        L->code_unit);
    free(table);
    return line;
}
