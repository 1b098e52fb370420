/* wall.c - wall-clock streams: weights and off-CPU leaves (wall.h). */
#include "wall.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

bool
wall_stream(const struct stream *st)
{
    return st->off_cpu_records > 0 || stream_counter(st, "wall") > 0;
}

uint64_t
wall_period_usec(const struct stream *st)
{
    int64_t ns = stream_counter(st, "period_ns");

    if (ns <= 0) {
        return 0;
    }
    uint64_t usec = ((uint64_t)ns + 500) / 1000;
    return usec > 0 ? usec : 1;
}

uint64_t
wall_weight(const struct stream *st, const struct raw_sample *rs)
{
    if (rs->off_cpu || !wall_stream(st)) {
        return rs->count;
    }
    uint64_t usec = wall_period_usec(st);
    if (usec != 0 && rs->count > UINT64_MAX / usec) {
        return UINT64_MAX;
    }
    return rs->count * usec;
}

static bool
is_take_gil(const char *symbol)
{
    static const char name[] = "take_gil";
    size_t n = sizeof(name) - 1;

    return symbol != NULL && strncmp(symbol, name, n) == 0
           && (symbol[n] == '\0' || symbol[n] == '.');
}

/* Whether a native frame of the tokens [pos, end) is in take_gil. */
static bool
waits_for_gil(const struct stream *st, const char *pos, const char *end)
{
    const char *s;
    size_t len;

    while ((s = token_next(&pos, end, &len)) != NULL) {
        struct token tok;
        if ((s[0] == 'n' || s[0] == 'e') && token_parse(s, len, &tok)
            && is_take_gil(stream_native_symbol(st, tok.addr))) {
            return true;
        }
    }
    return false;
}

const char *
wall_reason(const struct stream *st, const struct raw_sample *rs,
            size_t *len)
{
    size_t key_len;
    const char *key = intern_key(&st->samples,
                                 (uint32_t)(rs - st->sample_info), &key_len);
    const char *reason = key + rs->reason_off;

    if (rs->reason_len == 5 && memcmp(reason, "futex", 5) == 0
        && waits_for_gil(st, key + rs->tokens_off, key + key_len)) {
        *len = strlen(WALL_REASON_GIL);
        return WALL_REASON_GIL;
    }
    *len = rs->reason_len;
    return reason;
}

void
wall_leaf(const struct stream *st, const struct raw_sample *rs,
          struct strbuf *out)
{
    size_t len;
    const char *reason = wall_reason(st, rs, &len);

    if (len == strlen(WALL_REASON_RUNNABLE)
        && memcmp(reason, WALL_REASON_RUNNABLE, len) == 0) {
        sb_append_str(out, WALL_LEAF_RUNNABLE);
        return;
    }
    sb_append_str(out, "[off-cpu: ");
    sb_append(out, reason, len);
    sb_append_char(out, ']');
}

const char *
wall_format_ms(uint64_t usec, char *buf)
{
    uint64_t tenths = usec / 100 + (usec % 100 >= 50);

    snprintf(buf, WALL_MS_SIZE, "%" PRIu64 ".%" PRIu64, tenths / 10,
             tenths % 10);
    return buf;
}
