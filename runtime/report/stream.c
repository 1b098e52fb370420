/* stream.c - reading the raw line stream of the SystemTap script. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_FIELDS 6

void
stream_init(struct stream *st)
{
    memset(st, 0, sizeof(*st));
}

void
stream_free(struct stream *st)
{
    for (size_t i = 0; i < st->natives.count; i++) {
        free(st->native_symbols[i]);
    }
    for (size_t i = 0; i < st->codes.count; i++) {
        free(st->code_infos[i].qualname);
        free(st->code_infos[i].filename);
    }
    for (size_t i = 0; i < st->threads.count; i++) {
        free(st->thread_comms[i]);
    }
    for (size_t i = 0; i < st->labels.count; i++) {
        free(st->label_texts[i]);
    }
    free(st->sample_info);
    free(st->native_symbols);
    free(st->code_infos);
    free(st->line_numbers);
    free(st->thread_comms);
    free(st->thread_pids);
    free(st->label_texts);
    free(st->counter_values);
    intern_free(&st->samples);
    intern_free(&st->natives);
    intern_free(&st->codes);
    intern_free(&st->lines);
    intern_free(&st->threads);
    intern_free(&st->labels);
    intern_free(&st->counters);
    memset(st, 0, sizeof(*st));
}

/* ---- number parsing ---- */

bool
parse_hex(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        len -= 2;
    }
    if (len == 0 || len > 16) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9') {
            d = (unsigned)(c - '0');
        }
        else if (c >= 'a' && c <= 'f') {
            d = (unsigned)(c - 'a' + 10);
        }
        else if (c >= 'A' && c <= 'F') {
            d = (unsigned)(c - 'A' + 10);
        }
        else {
            return false;
        }
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

bool
parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool
parse_i64(const char *s, size_t len, int64_t *out)
{
    bool negative = len > 0 && s[0] == '-';
    uint64_t v;

    if (negative) {
        s++;
        len--;
    }
    if (!parse_u64(s, len, &v)) {
        return false;
    }
    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1) {
            return false;
        }
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    }
    else {
        if (v > (uint64_t)INT64_MAX) {
            return false;
        }
        *out = (int64_t)v;
    }
    return true;
}

/* ---- tokens ---- */

const char *
token_next(const char **pos, const char *end, size_t *len)
{
    const char *p = *pos;

    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end) {
        *pos = p;
        return NULL;
    }
    const char *start = p;
    while (p < end && *p != ' ') {
        p++;
    }
    *len = (size_t)(p - start);
    *pos = p;
    return start;
}

bool
token_parse(const char *s, size_t len, struct token *tok)
{
    if (len < 2) {
        return false;
    }
    memset(tok, 0, sizeof(*tok));
    switch (s[0]) {
    case 'n':
        tok->kind = TOKEN_NATIVE;
        return parse_hex(s + 1, len - 1, &tok->addr);
    case 'e':
        tok->kind = TOKEN_EVAL;
        return parse_hex(s + 1, len - 1, &tok->addr);
    case 'p': {
        const char *colon = memchr(s, ':', len);
        if (colon == NULL) {
            return false;
        }
        size_t hex_len = (size_t)(colon - s) - 1;
        size_t lasti_len = len - (size_t)(colon - s) - 1;
        tok->kind = TOKEN_PYTHON;
        return parse_hex(s + 1, hex_len, &tok->addr)
               && parse_i64(colon + 1, lasti_len, &tok->lasti);
    }
    case 'm':
        tok->kind = TOKEN_MARKER;
        tok->text = s + 1;
        tok->text_len = len - 1;
        return true;
    case 'l':
        tok->kind = TOKEN_LABEL;
        return parse_u64(s + 1, len - 1, &tok->addr);
    default:
        return false;
    }
}

/* ---- line parsing ---- */

struct field {
    const char *s;
    size_t len;
};

/* Split at TABs; returns the number of fields, or 0 if there are more
   than max. */
static size_t
split_fields(const char *line, size_t len, struct field *fields, size_t max)
{
    size_t n = 0;
    const char *p = line;
    const char *end = line + len;

    for (;;) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *stop = tab ? tab : end;
        if (n == max) {
            return 0;
        }
        fields[n].s = p;
        fields[n].len = (size_t)(stop - p);
        n++;
        if (tab == NULL) {
            return n;
        }
        p = tab + 1;
    }
}

static bool
field_is(const struct field *f, const char *word)
{
    size_t n = strlen(word);
    return f->len == n && memcmp(f->s, word, n) == 0;
}

/* Replace *slot by a copy of the field (last one wins). */
static void
set_string(char **slot, const struct field *f)
{
    free(*slot);
    *slot = xmemdup(f->s, f->len);
}

static void
parse_sample(struct stream *st, const struct field *f, size_t n)
{
    uint64_t tid;
    enum sample_status status;

    if (n < 3 || n > 4 || !parse_u64(f[1].s, f[1].len, &tid)) {
        return;
    }
    if (field_is(&f[2], "ok")) {
        status = STATUS_OK;
    }
    else if (field_is(&f[2], "nopy")) {
        status = STATUS_NOPY;
    }
    else if (field_is(&f[2], "fault")) {
        status = STATUS_FAULT;
    }
    else {
        return;
    }

    /* The key runs from the tid to the end of the line. */
    const char *key = f[1].s;
    const char *end = n == 4 ? f[3].s + f[3].len : f[2].s + f[2].len;
    bool added;
    uint32_t idx = intern_add(&st->samples, key, (size_t)(end - key),
                              &added);
    if (added) {
        st->sample_info = xgrow(st->sample_info, &st->sample_cap,
                                st->samples.count, sizeof(struct raw_sample));
        struct raw_sample *rs = &st->sample_info[idx];
        rs->tid = tid;
        rs->count = 0;
        rs->status = status;
        rs->tokens_off = n == 4 ? (size_t)(f[3].s - key) : (size_t)(end - key);
    }
    st->sample_info[idx].count++;
    st->status_counts[status]++;
    st->total_samples++;
}

static void
parse_native(struct stream *st, const struct field *f, size_t n)
{
    uint64_t addr;

    if (n < 3 || n > 4 || !parse_hex(f[1].s, f[1].len, &addr)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->natives, &addr, sizeof(addr), &added);
    st->native_symbols = xgrow(st->native_symbols, &st->native_cap,
                               st->natives.count, sizeof(char *));
    if (added) {
        st->native_symbols[idx] = NULL;
    }
    set_string(&st->native_symbols[idx], &f[2]);
}

static void
parse_code(struct stream *st, const struct field *f, size_t n)
{
    uint64_t code;

    /* The first line number (field 4) is not needed for naming. */
    if (n < 4 || n > 5 || !parse_hex(f[1].s, f[1].len, &code)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->codes, &code, sizeof(code), &added);
    st->code_infos = xgrow(st->code_infos, &st->code_cap, st->codes.count,
                           sizeof(struct code_info));
    struct code_info *ci = &st->code_infos[idx];
    if (added) {
        ci->qualname = NULL;
        ci->filename = NULL;
    }
    set_string(&ci->qualname, &f[2]);
    set_string(&ci->filename, &f[3]);
}

static void
parse_line_number(struct stream *st, const struct field *f, size_t n)
{
    uint64_t key[2];
    int64_t lasti;
    int64_t line;

    if (n != 4 || !parse_hex(f[1].s, f[1].len, &key[0])
            || !parse_i64(f[2].s, f[2].len, &lasti)
            || !parse_i64(f[3].s, f[3].len, &line)) {
        return;
    }
    key[1] = (uint64_t)lasti;
    uint32_t idx = intern_add(&st->lines, key, sizeof(key), NULL);
    st->line_numbers = xgrow(st->line_numbers, &st->line_cap,
                             st->lines.count, sizeof(int64_t));
    st->line_numbers[idx] = line;
}

/* T<tid><comm>[<pid>]: a record without the pid keeps the one an
   earlier record gave. */
static void
parse_thread(struct stream *st, const struct field *f, size_t n)
{
    uint64_t tid;
    uint64_t pid = THREAD_NO_PID;

    if (n < 3 || n > 4 || !parse_u64(f[1].s, f[1].len, &tid)) {
        return;
    }
    if (n == 4 && (!parse_u64(f[3].s, f[3].len, &pid)
                   || pid == THREAD_NO_PID)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->threads, &tid, sizeof(tid), &added);
    st->thread_comms = xgrow(st->thread_comms, &st->thread_cap,
                             st->threads.count, sizeof(char *));
    st->thread_pids = xgrow(st->thread_pids, &st->thread_pid_cap,
                            st->threads.count, sizeof(uint64_t));
    if (added) {
        st->thread_comms[idx] = NULL;
        st->thread_pids[idx] = THREAD_NO_PID;
    }
    set_string(&st->thread_comms[idx], &f[2]);
    if (pid != THREAD_NO_PID) {
        st->thread_pids[idx] = pid;
    }
}

static void
parse_label(struct stream *st, const struct field *f, size_t n)
{
    uint64_t id;

    if (n != 3 || !parse_u64(f[1].s, f[1].len, &id)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->labels, &id, sizeof(id), &added);
    st->label_texts = xgrow(st->label_texts, &st->label_cap,
                            st->labels.count, sizeof(char *));
    if (added) {
        st->label_texts[idx] = NULL;
    }
    set_string(&st->label_texts[idx], &f[2]);
}

static int64_t
saturating_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

static void
parse_counter(struct stream *st, const struct field *f, size_t n)
{
    int64_t value;

    if (n != 3 || f[1].len == 0 || !parse_i64(f[2].s, f[2].len, &value)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->counters, f[1].s, f[1].len, &added);
    st->counter_values = xgrow(st->counter_values, &st->counter_cap,
                               st->counters.count, sizeof(int64_t));
    if (added) {
        st->counter_values[idx] = 0;
    }
    st->counter_values[idx] = saturating_add(st->counter_values[idx], value);
}

void
stream_parse_line(struct stream *st, const char *line, size_t len)
{
    struct field f[MAX_FIELDS];

    if (len < 2 || line[1] != '\t') {
        return;
    }
    size_t n = split_fields(line, len, f, MAX_FIELDS);
    if (n == 0 || f[0].len != 1) {
        return;
    }
    switch (line[0]) {
    case 'S':
        parse_sample(st, f, n);
        break;
    case 'N':
        parse_native(st, f, n);
        break;
    case 'C':
        parse_code(st, f, n);
        break;
    case 'L':
        parse_line_number(st, f, n);
        break;
    case 'T':
        parse_thread(st, f, n);
        break;
    case 'B':
        parse_label(st, f, n);
        break;
    case 'X':
        parse_counter(st, f, n);
        break;
    default:
        break;
    }
}

int
stream_read(struct stream *st, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        stream_parse_line(st, line, len);
    }
    free(line);
    return ferror(f) ? -1 : 0;
}

/* ---- lookups ---- */

const char *
stream_native_symbol(const struct stream *st, uint64_t addr)
{
    uint32_t idx = intern_find(&st->natives, &addr, sizeof(addr));
    return idx == INTERN_NONE ? NULL : st->native_symbols[idx];
}

const struct code_info *
stream_code(const struct stream *st, uint64_t code)
{
    uint32_t idx = intern_find(&st->codes, &code, sizeof(code));
    return idx == INTERN_NONE ? NULL : &st->code_infos[idx];
}

bool
stream_line(const struct stream *st, uint64_t code, int64_t lasti,
            int64_t *line)
{
    uint64_t key[2] = {code, (uint64_t)lasti};
    uint32_t idx = intern_find(&st->lines, key, sizeof(key));
    if (idx == INTERN_NONE) {
        return false;
    }
    *line = st->line_numbers[idx];
    return true;
}

const char *
stream_thread_comm(const struct stream *st, uint64_t tid)
{
    uint32_t idx = intern_find(&st->threads, &tid, sizeof(tid));
    return idx == INTERN_NONE ? NULL : st->thread_comms[idx];
}

bool
stream_thread_pid(const struct stream *st, uint64_t tid, uint64_t *pid)
{
    uint32_t idx = intern_find(&st->threads, &tid, sizeof(tid));
    if (idx == INTERN_NONE || st->thread_pids[idx] == THREAD_NO_PID) {
        return false;
    }
    *pid = st->thread_pids[idx];
    return true;
}

const char *
stream_label_text(const struct stream *st, uint64_t id)
{
    uint32_t idx = intern_find(&st->labels, &id, sizeof(id));
    return idx == INTERN_NONE ? NULL : st->label_texts[idx];
}

int64_t
stream_counter(const struct stream *st, const char *key)
{
    uint32_t idx = intern_find(&st->counters, key, strlen(key));
    return idx == INTERN_NONE ? 0 : st->counter_values[idx];
}

bool
stream_has_counter(const struct stream *st, const char *key)
{
    return intern_find(&st->counters, key, strlen(key)) != INTERN_NONE;
}
