/* stream.c - reading the raw line stream of the SystemTap script. */
#include "stream.h"

#include <inttypes.h>
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
    for (size_t i = 0; i < st->stacks.count; i++) {
        free(st->stack_tokens[i]);
    }
    free(st->sample_info);
    free(st->native_symbols);
    free(st->code_infos);
    free(st->code_generation);
    free(st->code_generations);
    free(st->code_id_generation);
    free(st->qualified);
    free(st->line_numbers);
    free(st->thread_comms);
    free(st->thread_pids);
    free(st->label_texts);
    free(st->counter_values);
    free(st->stack_tokens);
    intern_free(&st->samples);
    intern_free(&st->natives);
    intern_free(&st->codes);
    intern_free(&st->code_now);
    intern_free(&st->code_ids);
    intern_free(&st->lines);
    intern_free(&st->threads);
    intern_free(&st->labels);
    intern_free(&st->counters);
    intern_free(&st->stacks);
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
        size_t lasti_len = len - (size_t)(colon - s) - 1;
        const char *slash = memchr(s, '/', (size_t)(colon - s));
        const char *hex_end = slash != NULL ? slash : colon;
        tok->kind = TOKEN_PYTHON;
        if (slash != NULL
            && !parse_u64(slash + 1, (size_t)(colon - slash) - 1,
                          &tok->generation)) {
            return false;
        }
        return parse_hex(s + 1, (size_t)(hex_end - s) - 1, &tok->addr)
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

static bool
parse_status(const struct field *f, enum sample_status *status)
{
    if (field_is(f, "ok")) {
        *status = STATUS_OK;
    }
    else if (field_is(f, "nopy")) {
        *status = STATUS_NOPY;
    }
    else if (field_is(f, "fault")) {
        *status = STATUS_FAULT;
    }
    else {
        return false;
    }
    return true;
}

/* The raw sample of a key, added (count 0) when new; *added tells. */
static struct raw_sample *
raw_sample_of(struct stream *st, const char *key, size_t key_len,
              bool *added)
{
    uint32_t idx = intern_add(&st->samples, key, key_len, added);
    if (*added) {
        st->sample_info = xgrow(st->sample_info, &st->sample_cap,
                                st->samples.count, sizeof(struct raw_sample));
        memset(&st->sample_info[idx], 0, sizeof(struct raw_sample));
    }
    return &st->sample_info[idx];
}

static void
parse_sample(struct stream *st, const struct field *f, size_t n)
{
    uint64_t tid;
    enum sample_status status;

    if (n < 3 || n > 4 || !parse_u64(f[1].s, f[1].len, &tid)
        || !parse_status(&f[2], &status)) {
        return;
    }

    /* The key runs from the tid to the end of the line, with the tokens
       qualified (see stream.h). */
    const char *key = f[1].s;
    const char *end = n == 4 ? f[3].s + f[3].len : f[2].s + f[2].len;
    size_t key_len = (size_t)(end - key);
    if (n == 4) {
        size_t qlen;
        const char *q = stream_qualify(st, f[3].s, f[3].len, &qlen);
        if (q != f[3].s) {
            /* q is st->qualified; the prefix goes in front of it */
            size_t pre = (size_t)(f[3].s - key);
            st->qualified = xgrow(st->qualified, &st->qualified_cap,
                                  pre + qlen, 1);
            memmove(st->qualified + pre, st->qualified, qlen);
            memcpy(st->qualified, key, pre);
            key = st->qualified;
            key_len = pre + qlen;
        }
    }
    bool added;
    struct raw_sample *rs = raw_sample_of(st, key, key_len, &added);
    if (added) {
        rs->tid = tid;
        rs->status = status;
        rs->tokens_off = n == 4 ? (size_t)(f[3].s - f[1].s) : key_len;
    }
    rs->count++;
    st->status_counts[status]++;
    st->total_samples++;
}

/* K<sid><tokens>: a stack's tokens, qualified now (their code objects
   are the ones the stream has defined so far).  The first K of a sid
   wins. */
static void
parse_stack(struct stream *st, const struct field *f, size_t n)
{
    uint64_t sid;

    if (n != 3 || !parse_u64(f[1].s, f[1].len, &sid)) {
        return;
    }
    bool added;
    uint32_t idx = intern_add(&st->stacks, &sid, sizeof(sid), &added);
    if (!added) {
        return;
    }
    st->stack_tokens = xgrow(st->stack_tokens, &st->stack_cap,
                             st->stacks.count, sizeof(char *));
    size_t qlen;
    const char *q = stream_qualify(st, f[2].s, f[2].len, &qlen);
    st->stack_tokens[idx] = xmemdup(q, qlen);
}

static uint64_t
saturating_add_u64(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* W<tid><sid><status><reason><usec>: usec microseconds off the CPU,
   added to the raw sample of (tid, status, reason, the sid's tokens). */
static void
parse_wait(struct stream *st, const struct field *f, size_t n)
{
    uint64_t tid, sid, usec;
    enum sample_status status;

    if (n != 6 || !parse_u64(f[1].s, f[1].len, &tid)
        || !parse_u64(f[2].s, f[2].len, &sid)
        || !parse_status(&f[3], &status) || f[4].len == 0
        || !parse_u64(f[5].s, f[5].len, &usec) || usec == 0) {
        return;
    }
    const char *tokens = stream_stack_tokens(st, sid);
    if (tokens == NULL) {
        tokens = STACK_UNKNOWN_TOKENS;
    }
    size_t tokens_len = strlen(tokens);

    /* the key: "tid\tstatus\treason\ttokens" */
    size_t reason_off = f[1].len + 1 + f[3].len + 1;
    size_t tokens_off = reason_off + f[4].len + 1;
    size_t key_len = tokens_off + tokens_len;
    st->qualified = xgrow(st->qualified, &st->qualified_cap, key_len, 1);
    char *key = st->qualified;
    memcpy(key, f[1].s, f[1].len);
    key[f[1].len] = '\t';
    memcpy(key + f[1].len + 1, f[3].s, f[3].len);
    key[reason_off - 1] = '\t';
    memcpy(key + reason_off, f[4].s, f[4].len);
    key[tokens_off - 1] = '\t';
    memcpy(key + tokens_off, tokens, tokens_len);

    bool added;
    struct raw_sample *rs = raw_sample_of(st, key, key_len, &added);
    if (added) {
        rs->tid = tid;
        rs->status = status;
        rs->tokens_off = tokens_off;
        rs->off_cpu = true;
        rs->reason_off = reason_off;
        rs->reason_len = f[4].len;
    }
    rs->count = saturating_add_u64(rs->count, usec);
    st->off_cpu_records++;
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

/* The current generation of a code address (0 when it has no C record
   yet). */
static uint64_t
code_generation(const struct stream *st, uint64_t code)
{
    if (!st->code_reused) {
        return 0;
    }
    uint32_t idx = intern_find(&st->code_now, &code, sizeof(code));
    return idx == INTERN_NONE ? 0 : st->code_generation[idx];
}

/* C<code><qualname><filename>[<firstlineno>]: the object now at that
   address.  Each distinct (qualname, filename, firstlineno) met at an
   address is one generation of it, numbered in the order first met; a
   record makes its generation the address's current one (a record equal
   to the current one, printed again after the probe's table forgot it,
   changes nothing). */
static void
parse_code(struct stream *st, const struct field *f, size_t n)
{
    uint64_t key[2];
    int64_t firstlineno = -1;

    if (n < 4 || n > 5 || !parse_hex(f[1].s, f[1].len, &key[0])) {
        return;
    }
    if (n == 5 && !parse_i64(f[4].s, f[4].len, &firstlineno)) {
        firstlineno = -1;
    }
    /* the object's identity: address, first line, name, file */
    size_t idlen = 2 * sizeof(uint64_t) + f[2].len + 1 + f[3].len;
    st->qualified = xgrow(st->qualified, &st->qualified_cap, idlen, 1);
    char *id = st->qualified;
    memcpy(id, &key[0], sizeof(uint64_t));
    memcpy(id + sizeof(uint64_t), &firstlineno, sizeof(int64_t));
    memcpy(id + 2 * sizeof(uint64_t), f[2].s, f[2].len);
    id[2 * sizeof(uint64_t) + f[2].len] = '\0';
    memcpy(id + 2 * sizeof(uint64_t) + f[2].len + 1, f[3].s, f[3].len);

    bool added;
    uint32_t now = intern_add(&st->code_now, &key[0], sizeof(key[0]),
                              &added);
    st->code_generation = xgrow(st->code_generation, &st->code_now_cap,
                                st->code_now.count, sizeof(uint64_t));
    st->code_generations = xgrow(st->code_generations, &st->code_gens_cap,
                                 st->code_now.count, sizeof(uint64_t));
    if (added) {
        st->code_generation[now] = 0;
        st->code_generations[now] = 0;
    }
    uint32_t which = intern_add(&st->code_ids, id, idlen, &added);
    st->code_id_generation = xgrow(st->code_id_generation, &st->code_ids_cap,
                                   st->code_ids.count, sizeof(uint64_t));
    if (added) {
        key[1] = st->code_generations[now]++;
        st->code_id_generation[which] = key[1];
        uint32_t idx = intern_add(&st->codes, key, sizeof(key), NULL);
        st->code_infos = xgrow(st->code_infos, &st->code_cap,
                               st->codes.count, sizeof(struct code_info));
        struct code_info *ci = &st->code_infos[idx];
        ci->qualname = xmemdup(f[2].s, f[2].len);
        ci->filename = xmemdup(f[3].s, f[3].len);
        ci->firstlineno = firstlineno;
        if (key[1] > 0) {
            st->code_reused = true;
        }
    }
    st->code_generation[now] = st->code_id_generation[which];
}

const char *
stream_qualify(struct stream *st, const char *s, size_t len,
               size_t *out_len)
{
    *out_len = len;
    if (!st->code_reused) {
        return s;
    }
    const char *pos = s;
    const char *end = s + len;
    const char *t;
    size_t tlen;
    size_t out = 0;
    bool changed = false;
    while ((t = token_next(&pos, end, &tlen)) != NULL) {
        struct token tok;
        uint64_t gen = 0;
        if (t[0] == 'p' && memchr(t, '/', tlen) == NULL
            && token_parse(t, tlen, &tok)) {
            gen = code_generation(st, tok.addr);
        }
        /* room for the token, a separator and "/<generation>" */
        st->qualified = xgrow(st->qualified, &st->qualified_cap,
                              out + tlen + 24, 1);
        if (out > 0) {
            st->qualified[out++] = ' ';
        }
        if (gen == 0) {
            memcpy(st->qualified + out, t, tlen);
            out += tlen;
            continue;
        }
        const char *colon = memchr(t, ':', tlen);
        size_t head = (size_t)(colon - t);
        memcpy(st->qualified + out, t, head);
        out += head;
        out += (size_t)sprintf(st->qualified + out, "/%" PRIu64, gen);
        memcpy(st->qualified + out, colon, tlen - head);
        out += tlen - head;
        changed = true;
    }
    if (!changed) {
        return s;
    }
    *out_len = out;
    return st->qualified;
}

static void
parse_line_number(struct stream *st, const struct field *f, size_t n)
{
    uint64_t key[3];
    int64_t lasti;
    int64_t line;

    if (n != 4 || !parse_hex(f[1].s, f[1].len, &key[0])
            || !parse_i64(f[2].s, f[2].len, &lasti)
            || !parse_i64(f[3].s, f[3].len, &line)) {
        return;
    }
    key[1] = code_generation(st, key[0]);
    key[2] = (uint64_t)lasti;
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

/* V<TAB>version<TAB>tool: the first record of a stream. */
static void
parse_version(struct stream *st, const struct field *f, size_t n)
{
    int64_t value;

    if (n < 2 || !parse_i64(f[1].s, f[1].len, &value) || value <= 0) {
        st->version = -1;       /* not a version we could know */
        return;
    }
    if (st->version == 0) {
        st->version = value;
    }
}

bool
stream_version_known(const struct stream *st)
{
    return st->version == 0 || st->version == STREAM_RECORDS_VERSION;
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
    case 'V':
        parse_version(st, f, n);
        break;
    case 'K':
        parse_stack(st, f, n);
        break;
    case 'W':
        parse_wait(st, f, n);
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
stream_code(const struct stream *st, uint64_t code, uint64_t generation)
{
    uint64_t key[2] = {code, generation};
    uint32_t idx = intern_find(&st->codes, key, sizeof(key));
    return idx == INTERN_NONE ? NULL : &st->code_infos[idx];
}

bool
stream_line(const struct stream *st, uint64_t code, uint64_t generation,
            int64_t lasti, int64_t *line)
{
    uint64_t key[3] = {code, generation, (uint64_t)lasti};
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

const char *
stream_stack_tokens(const struct stream *st, uint64_t sid)
{
    uint32_t idx = intern_find(&st->stacks, &sid, sizeof(sid));
    return idx == INTERN_NONE ? NULL : st->stack_tokens[idx];
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
