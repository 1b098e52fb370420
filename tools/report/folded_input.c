/* folded_input.c - reading folded stacks (see folded_input.h). */
#include "folded_input.h"

#include <stdlib.h>
#include <string.h>

#include "stream.h"
#include "util.h"

void
folded_reader_init(struct folded_reader *r, struct stacks *sk)
{
    memset(r, 0, sizeof(*r));
    r->sk = sk;
}

void
folded_reader_free(struct folded_reader *r)
{
    sb_free(&r->name);
    free(r->ids);
    memset(r, 0, sizeof(*r));
}

/* The line's stack text and count: "STACK COUNT". */
static bool
split_count(const char *line, size_t len, size_t *stack_len,
            uint64_t *count)
{
    const char *space = NULL;

    for (size_t i = len; i > 0; i--) {
        if (line[i - 1] == ' ') {
            space = line + i - 1;
            break;
        }
    }
    if (space == NULL || space == line) {
        return false;
    }
    size_t count_len = len - (size_t)(space - line) - 1;
    if (!parse_u64(space + 1, count_len, count)) {
        return false;
    }
    *stack_len = (size_t)(space - line);
    return memchr(line, '\t', *stack_len) == NULL;
}

/* " (tid N)" at the end of a name, with a non-empty comm before it. */
static bool
is_thread_name(const char *s, size_t n)
{
    static const char open[] = " (tid ";
    size_t digits = 0;

    if (n < 2 || s[n - 1] != ')') {
        return false;
    }
    while (digits + 1 < n && s[n - 2 - digits] >= '0'
           && s[n - 2 - digits] <= '9') {
        digits++;
    }
    size_t head = n - 1 - digits;   /* up to and with " (tid " */
    return digits > 0 && head > sizeof(open) - 1
           && memcmp(s + head - (sizeof(open) - 1), open,
                     sizeof(open) - 1) == 0;
}

/* One frame name (unescaped) into a frame id. */
static uint32_t
named_frame(struct folded_reader *r, const char *s, size_t n, bool root)
{
    struct stacks *sk = r->sk;

    if (root && is_thread_name(s, n)) {
        return stacks_named_frame(sk, FRAME_THREAD, s, n, n, 0, 0, -1);
    }
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        enum frame_kind kind = n > 8 && memcmp(s, "[label ", 7) == 0
                               ? FRAME_LABEL : FRAME_MARKER;
        return stacks_named_frame(sk, kind, s, n, n, 0, 0, -1);
    }
    /* NAME (FILE:LINE) or NAME (FILE): the last " (" of a name ending
       in ')' */
    if (n >= 4 && s[n - 1] == ')') {
        for (size_t i = n - 2; i-- > 0;) {
            if (s[i] != ' ' || s[i + 1] != '(') {
                continue;
            }
            size_t file_off = i + 2;
            size_t file_len = n - 1 - file_off;
            int64_t line = -1;
            const char *colon = memrchr(s + file_off, ':', file_len);
            if (colon != NULL) {
                size_t digits = (size_t)(s + n - 1 - colon - 1);
                int64_t v;
                if (parse_i64(colon + 1, digits, &v) && v >= 0
                    && colon[1] != '-') {
                    line = v;
                    file_len = (size_t)(colon - (s + file_off));
                }
            }
            if (i == 0 || file_len == 0) {
                break;
            }
            return stacks_named_frame(sk, FRAME_PYTHON, s, n, i, file_off,
                                      file_len, line);
        }
    }
    return stacks_named_frame(sk, FRAME_NATIVE, s, n, n, 0, 0, -1);
}

bool
folded_parse_line(struct folded_reader *r, const char *line, size_t len)
{
    size_t stack_len;
    uint64_t count;
    size_t n = 0;

    r->lineno++;
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        return true;
    }
    if (!split_count(line, len, &stack_len, &count)) {
        if (r->bad_lineno == 0) {
            r->bad_lineno = r->lineno;
        }
        return false;
    }
    const char *p = line;
    const char *end = line + stack_len;
    bool root = true;
    for (;;) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;

        sb_clear(&r->name);
        for (const char *q = p; q < stop;) {
            if (stop - q >= 4 && memcmp(q, "\\x3b", 4) == 0) {
                sb_append_char(&r->name, ';');
                q += 4;
            }
            else {
                sb_append_char(&r->name, *q++);
            }
        }
        uint32_t id = named_frame(r, sb_str(&r->name), r->name.len, root);
        root = false;
        if (r->sk->threads || stacks_frame_kind(r->sk, id) != FRAME_THREAD) {
            r->ids = xgrow(r->ids, &r->ids_cap, n + 1, sizeof(uint32_t));
            r->ids[n++] = id;
        }
        if (semi == NULL) {
            break;
        }
        p = semi + 1;
    }
    if (n == 0) {
        /* only a thread root, and --no-threads */
        uint32_t id = stacks_named_frame(r->sk, FRAME_MARKER,
                                         MARKER_NO_FRAMES,
                                         strlen(MARKER_NO_FRAMES),
                                         strlen(MARKER_NO_FRAMES), 0, 0, -1);
        r->ids = xgrow(r->ids, &r->ids_cap, 1, sizeof(uint32_t));
        r->ids[n++] = id;
    }
    stacks_add(r->sk, r->ids, n, count);
    return true;
}

bool
folded_line_looks_folded(const char *line, size_t len)
{
    size_t stack_len;
    uint64_t count;

    if (len >= 2 && line[1] == '\t') {
        return false;
    }
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    return split_count(line, len, &stack_len, &count);
}
