/* stacks.c - turning raw samples into named, root-first stacks. */
#include "stacks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "strbuf.h"
#include "util.h"
#include "wall.h"

bool
mode_parse(const char *s, enum mode *mode)
{
    if (strcmp(s, "merged") == 0) {
        *mode = MODE_MERGED;
    }
    else if (strcmp(s, "python") == 0) {
        *mode = MODE_PYTHON;
    }
    else if (strcmp(s, "native") == 0) {
        *mode = MODE_NATIVE;
    }
    else {
        return false;
    }
    return true;
}

const char *
mode_name(enum mode mode)
{
    switch (mode) {
    case MODE_PYTHON:
        return "python";
    case MODE_NATIVE:
        return "native";
    default:
        return "merged";
    }
}

void
stacks_init(struct stacks *sk, enum mode mode, bool threads)
{
    memset(sk, 0, sizeof(*sk));
    sk->mode = mode;
    sk->threads = threads;
}

void
stacks_set_labels(struct stacks *sk, enum label_mode labels)
{
    sk->labels = labels;
}

void
stacks_free(struct stacks *sk)
{
    intern_free(&sk->names);
    intern_free(&sk->funcs);
    intern_free(&sk->token_cache);
    intern_free(&sk->thread_cache);
    intern_free(&sk->stacks);
    free(sk->frames);
    free(sk->token_frames);
    free(sk->thread_frames);
    free(sk->counts);
    free(sk->sample_stacks);
    memset(sk, 0, sizeof(*sk));
}

/* Interned keys carry the kind in their first byte, so that a thread root
   and a Python frame that happen to print the same never merge. */
static uint32_t
intern_kind_name(struct intern *t, enum frame_kind kind, const char *name,
                 size_t len, bool *added, struct strbuf *tmp)
{
    sb_clear(tmp);
    sb_append_char(tmp, (char)('0' + kind));
    sb_append(tmp, name, len);
    return intern_add(t, tmp->data, tmp->len, added);
}

static uint32_t
add_frame_parts(struct stacks *sk, enum frame_kind kind, const char *name,
                size_t len, uint32_t func, int64_t line, size_t base_len,
                size_t file_off, size_t file_len)
{
    struct strbuf tmp = STRBUF_INIT;
    bool added;
    uint32_t id = intern_kind_name(&sk->names, kind, name, len, &added, &tmp);
    sb_free(&tmp);
    if (added) {
        sk->frames = xgrow(sk->frames, &sk->frames_cap, sk->names.count,
                           sizeof(struct frame));
        sk->frames[id].kind = kind;
        sk->frames[id].func = func;
        sk->frames[id].line = line;
        sk->frames[id].base_len = base_len;
        sk->frames[id].file_off = file_off;
        sk->frames[id].file_len = file_len;
    }
    return id;
}

static uint32_t
add_frame(struct stacks *sk, enum frame_kind kind, const char *name,
          size_t len, uint32_t func, int64_t line)
{
    return add_frame_parts(sk, kind, name, len, func, line, len, 0, 0);
}

static uint32_t
add_func(struct stacks *sk, enum frame_kind kind, const char *name,
         size_t len)
{
    struct strbuf tmp = STRBUF_INIT;
    uint32_t id = intern_kind_name(&sk->funcs, kind, name, len, NULL, &tmp);
    sb_free(&tmp);
    return id;
}

static uint32_t
marker_frame(struct stacks *sk, const char *text, size_t len)
{
    return add_frame(sk, FRAME_MARKER, text, len, INTERN_NONE, -1);
}

static uint32_t
native_frame(struct stacks *sk, const struct stream *st, uint64_t addr)
{
    struct strbuf name = STRBUF_INIT;
    const char *symbol = stream_native_symbol(st, addr);

    if (symbol != NULL && symbol[0] != '\0') {
        sb_append_str(&name, symbol);
    }
    else {
        sb_printf(&name, "0x%" PRIx64, addr);
    }
    uint32_t func = add_func(sk, FRAME_NATIVE, name.data, name.len);
    uint32_t id = add_frame(sk, FRAME_NATIVE, name.data, name.len, func, -1);
    sb_free(&name);
    return id;
}

static uint32_t
python_frame(struct stacks *sk, const struct stream *st, uint64_t code,
             uint64_t generation, int64_t lasti)
{
    struct strbuf func_name = STRBUF_INIT;
    struct strbuf name = STRBUF_INIT;
    const struct code_info *ci = stream_code(st, code, generation);
    int64_t line = -1;

    if (ci == NULL) {
        sb_printf(&name, "[unknown code 0x%" PRIx64 "]", code);
        sb_append(&func_name, name.data, name.len);
    }
    else {
        const char *qualname = ci->qualname[0] ? ci->qualname : "?";
        const char *filename = ci->filename[0] ? ci->filename : "?";
        if (!stream_line(st, code, generation, lasti, &line) || line < 0) {
            line = -1;
        }
        sb_printf(&func_name, "%s (%s)", qualname, filename);
        if (line >= 0) {
            sb_printf(&name, "%s (%s:%" PRId64 ")", qualname, filename, line);
        }
        else {
            sb_append(&name, func_name.data, func_name.len);
        }
    }
    uint32_t func = add_func(sk, FRAME_PYTHON, func_name.data, func_name.len);
    uint32_t id;
    if (ci == NULL) {
        id = add_frame(sk, FRAME_PYTHON, name.data, name.len, func, line);
    }
    else {
        size_t base_len = strlen(ci->qualname[0] ? ci->qualname : "?");
        size_t file_len = strlen(ci->filename[0] ? ci->filename : "?");
        id = add_frame_parts(sk, FRAME_PYTHON, name.data, name.len, func,
                             line, base_len, base_len + 2, file_len);
    }
    sb_free(&func_name);
    sb_free(&name);
    return id;
}

static uint32_t
label_frame(struct stacks *sk, const struct stream *st, uint64_t id)
{
    struct strbuf name = STRBUF_INIT;

    sb_append_str(&name, "[label ");
    label_text(st, id, &name);
    sb_append_char(&name, ']');
    uint32_t frame = add_frame(sk, FRAME_LABEL, name.data, name.len,
                               INTERN_NONE, -1);
    sb_free(&name);
    return frame;
}

static bool
mode_keeps(enum mode mode, char token_kind)
{
    switch (mode) {
    case MODE_MERGED:
        return token_kind == 'n' || token_kind == 'p' || token_kind == 'm';
    case MODE_PYTHON:
        return token_kind == 'p' || token_kind == 'm';
    default:
        return token_kind == 'n' || token_kind == 'e';
    }
}

/* Frame id of a token, or INTERN_NONE when the mode drops it or it is
   malformed.  Results are cached per token text. */
static uint32_t
token_frame(struct stacks *sk, const struct stream *st, const char *s,
            size_t len)
{
    if (!mode_keeps(sk->mode, s[0])) {
        return INTERN_NONE;
    }
    bool added;
    uint32_t slot = intern_add(&sk->token_cache, s, len, &added);
    if (!added) {
        return sk->token_frames[slot];
    }

    struct token tok;
    uint32_t id = INTERN_NONE;
    if (token_parse(s, len, &tok)) {
        switch (tok.kind) {
        case TOKEN_NATIVE:
        case TOKEN_EVAL:
            id = native_frame(sk, st, tok.addr);
            break;
        case TOKEN_PYTHON:
            id = python_frame(sk, st, tok.addr, tok.generation, tok.lasti);
            break;
        case TOKEN_MARKER:
            id = marker_frame(sk, tok.text, tok.text_len);
            break;
        case TOKEN_LABEL:   /* never kept: see stacks_build */
            break;
        }
    }
    sk->token_frames = xgrow(sk->token_frames, &sk->token_cap,
                             sk->token_cache.count, sizeof(uint32_t));
    sk->token_frames[slot] = id;
    return id;
}

static uint32_t
thread_frame(struct stacks *sk, const struct stream *st, uint64_t tid)
{
    bool added;
    uint32_t slot = intern_add(&sk->thread_cache, &tid, sizeof(tid), &added);
    if (!added) {
        return sk->thread_frames[slot];
    }

    struct strbuf name = STRBUF_INIT;
    const char *comm = stream_thread_comm(st, tid);
    if (comm == NULL || comm[0] == '\0') {
        comm = "?";
    }
    sb_printf(&name, "%s (tid %" PRIu64 ")", comm, tid);
    uint32_t id = add_frame(sk, FRAME_THREAD, name.data, name.len,
                            INTERN_NONE, -1);
    sb_free(&name);

    sk->thread_frames = xgrow(sk->thread_frames, &sk->thread_cap,
                              sk->thread_cache.count, sizeof(uint32_t));
    sk->thread_frames[slot] = id;
    return id;
}

struct id_list {
    uint32_t *ids;
    size_t len;
    size_t cap;
};

static void
id_push(struct id_list *l, uint32_t id)
{
    l->ids = xgrow(l->ids, &l->cap, l->len + 1, sizeof(uint32_t));
    l->ids[l->len++] = id;
}

static void
add_stack(struct stacks *sk, const uint32_t *ids, size_t n, uint64_t count)
{
    uint32_t idx = intern_add(&sk->stacks, ids, n * sizeof(uint32_t), NULL);
    size_t old_cap = sk->counts_cap;
    sk->counts = xgrow(sk->counts, &sk->counts_cap, sk->stacks.count,
                       sizeof(uint64_t));
    if (sk->counts_cap > old_cap) {
        memset(sk->counts + old_cap, 0,
               (sk->counts_cap - old_cap) * sizeof(uint64_t));
    }
    sk->counts[idx] += count;
    sk->total += count;
}

/* Leaf-first token string -> frame ids, leaf first, appended to *out. */
static void
resolve_tokens(struct stacks *sk, const struct stream *st, const char *pos,
               const char *end, struct id_list *out)
{
    bool split = sk->labels == LABELS_SPLIT && sk->mode != MODE_NATIVE;
    const char *tok;
    size_t tok_len;

    /* A label goes right after (leaf first) its Python frame, which
       makes it that frame's parent. */
    bool after_python = false;
    while ((tok = token_next(&pos, end, &tok_len)) != NULL) {
        if (split && tok[0] == 'l') {
            struct token label;
            if (after_python && token_parse(tok, tok_len, &label)) {
                id_push(out, label_frame(sk, st, label.addr));
            }
            after_python = false;
            continue;
        }
        uint32_t id = token_frame(sk, st, tok, tok_len);
        if (id != INTERN_NONE) {
            id_push(out, id);
        }
        after_python = tok[0] == 'p' && id != INTERN_NONE;
    }
}

void
stacks_build(struct stacks *sk, const struct stream *st)
{
    struct id_list leaf_first = {NULL, 0, 0};
    struct id_list stack = {NULL, 0, 0};
    struct strbuf leaf = STRBUF_INIT;

    sk->usec = wall_stream(st);
    sk->sample_stacks = xgrow(sk->sample_stacks, &sk->sample_stacks_cap,
                              st->samples.count, sizeof(uint32_t));
    for (size_t i = 0; i < st->samples.count; i++) {
        const struct raw_sample *rs = &st->sample_info[i];
        size_t key_len;
        const char *key = intern_key(&st->samples, (uint32_t)i, &key_len);

        leaf_first.len = 0;
        resolve_tokens(sk, st, key + rs->tokens_off, key + key_len,
                       &leaf_first);

        stack.len = 0;
        if (sk->threads) {
            id_push(&stack, thread_frame(sk, st, rs->tid));
        }
        for (size_t j = leaf_first.len; j > 0; j--) {
            id_push(&stack, leaf_first.ids[j - 1]);
        }
        if (sk->mode != MODE_NATIVE && rs->status == STATUS_NOPY) {
            id_push(&stack, marker_frame(sk, MARKER_NO_PYTHON,
                                         strlen(MARKER_NO_PYTHON)));
        }
        else if (sk->mode != MODE_NATIVE && rs->status == STATUS_FAULT) {
            id_push(&stack, marker_frame(sk, MARKER_READ_FAULT,
                                         strlen(MARKER_READ_FAULT)));
        }
        if (stack.len == 0) {
            id_push(&stack, marker_frame(sk, MARKER_NO_FRAMES,
                                         strlen(MARKER_NO_FRAMES)));
        }
        if (rs->off_cpu) {
            sb_clear(&leaf);
            wall_leaf(st, rs, &leaf);
            id_push(&stack, marker_frame(sk, leaf.data, leaf.len));
        }
        add_stack(sk, stack.ids, stack.len, wall_weight(st, rs));
        sk->sample_stacks[i] = intern_find(&sk->stacks, stack.ids,
                                           stack.len * sizeof(uint32_t));
    }
    free(leaf_first.ids);
    free(stack.ids);
    sb_free(&leaf);
}

size_t
stacks_resolve(struct stacks *sk, const struct stream *st,
               const char *tokens, size_t len, uint32_t **ids, size_t *cap)
{
    struct id_list leaf_first = {NULL, 0, 0};

    resolve_tokens(sk, st, tokens, tokens + len, &leaf_first);
    if (leaf_first.len == 0) {
        id_push(&leaf_first, marker_frame(sk, MARKER_NO_FRAMES,
                                          strlen(MARKER_NO_FRAMES)));
    }
    *ids = xgrow(*ids, cap, leaf_first.len, sizeof(uint32_t));
    for (size_t j = 0; j < leaf_first.len; j++) {
        (*ids)[j] = leaf_first.ids[leaf_first.len - 1 - j];
    }
    size_t n = leaf_first.len;
    free(leaf_first.ids);
    return n;
}

uint32_t
stacks_add(struct stacks *sk, const uint32_t *ids, size_t n, uint64_t count)
{
    add_stack(sk, ids, n, count);
    return intern_find(&sk->stacks, ids, n * sizeof(uint32_t));
}

uint32_t
stacks_named_frame(struct stacks *sk, enum frame_kind kind, const char *name,
                   size_t len, size_t base_len, size_t file_off,
                   size_t file_len, int64_t line)
{
    uint32_t func = INTERN_NONE;

    if (kind == FRAME_PYTHON && file_len > 0) {
        /* "QUALNAME (FILE)", as python_frame names the function */
        struct strbuf func_name = STRBUF_INIT;
        sb_append(&func_name, name, base_len);
        sb_append_str(&func_name, " (");
        sb_append(&func_name, name + file_off, file_len);
        sb_append_char(&func_name, ')');
        func = add_func(sk, kind, func_name.data, func_name.len);
        sb_free(&func_name);
    }
    else if (kind == FRAME_NATIVE || kind == FRAME_PYTHON) {
        /* a Python frame without a file: "[unknown code 0x...]" */
        func = add_func(sk, kind, name, len);
    }
    if (kind != FRAME_PYTHON) {
        base_len = len;
        file_off = 0;
        file_len = 0;
        line = -1;
    }
    return add_frame_parts(sk, kind, name, len, func, line, base_len,
                           file_off, file_len);
}

const char *
stacks_frame_base(const struct stacks *sk, uint32_t frame, size_t *len)
{
    *len = sk->frames[frame].base_len;
    return stacks_frame_name(sk, frame, NULL);
}

const char *
stacks_frame_file(const struct stacks *sk, uint32_t frame, size_t *len)
{
    const struct frame *f = &sk->frames[frame];
    *len = f->file_len;
    if (f->file_len == 0) {
        return NULL;
    }
    return stacks_frame_name(sk, frame, NULL) + f->file_off;
}

enum frame_kind
stacks_frame_kind(const struct stacks *sk, uint32_t frame)
{
    return sk->frames[frame].kind;
}

int64_t
stacks_frame_line(const struct stacks *sk, uint32_t frame)
{
    return sk->frames[frame].line;
}

uint32_t
stacks_frame_func(const struct stacks *sk, uint32_t frame)
{
    return sk->frames[frame].func;
}

size_t
stacks_count(const struct stacks *sk)
{
    return sk->stacks.count;
}

const uint32_t *
stacks_frames(const struct stacks *sk, size_t idx, size_t *depth)
{
    size_t len;
    const char *key = intern_key(&sk->stacks, (uint32_t)idx, &len);
    *depth = len / sizeof(uint32_t);
    /* Interned keys are 8-byte aligned. */
    return (const uint32_t *)(const void *)key;
}

const char *
stacks_frame_name(const struct stacks *sk, uint32_t frame, size_t *len)
{
    size_t n;
    const char *key = intern_key(&sk->names, frame, &n);
    if (len) {
        *len = n - 1;
    }
    return key + 1;
}

const char *
stacks_func_name(const struct stacks *sk, uint32_t func, size_t *len)
{
    size_t n;
    const char *key = intern_key(&sk->funcs, func, &n);
    if (len) {
        *len = n - 1;
    }
    return key + 1;
}

enum frame_kind
stacks_func_kind(const struct stacks *sk, uint32_t func)
{
    return (enum frame_kind)(intern_key(&sk->funcs, func, NULL)[0] - '0');
}

/* ---- folded output ---- */

static int
compare_text(const void *a, const void *b)
{
    const struct folded_line *x = a;
    const struct folded_line *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c != 0) {
        return c;
    }
    return (x->len > y->len) - (x->len < y->len);
}

static int
compare_count_then_text(const void *a, const void *b)
{
    const struct folded_line *x = a;
    const struct folded_line *y = b;
    if (x->count != y->count) {
        return x->count < y->count ? 1 : -1;
    }
    return compare_text(a, b);
}

size_t
stacks_folded(const struct stacks *sk, uint64_t min_count,
              struct folded_line **out)
{
    size_t n = stacks_count(sk);
    struct folded_line *lines = xcalloc(n, sizeof(struct folded_line));
    struct strbuf text = STRBUF_INIT;

    for (size_t i = 0; i < n; i++) {
        size_t depth;
        const uint32_t *ids = stacks_frames(sk, i, &depth);
        sb_clear(&text);
        for (size_t j = 0; j < depth; j++) {
            size_t len;
            const char *name = stacks_frame_name(sk, ids[j], &len);
            if (j > 0) {
                sb_append_char(&text, ';');
            }
            sb_append_folded(&text, name, len);
        }
        lines[i].text = xmemdup(sb_str(&text), text.len);
        lines[i].len = text.len;
        lines[i].count = sk->counts[i];
    }
    sb_free(&text);

    /* Different frames can print the same once ';' is escaped (a name
       containing a literal "\x3b"); merge such lines. */
    qsort(lines, n, sizeof(*lines), compare_text);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && compare_text(&lines[kept - 1], &lines[i]) == 0) {
            lines[kept - 1].count += lines[i].count;
            free(lines[i].text);
        }
        else {
            lines[kept++] = lines[i];
        }
    }
    n = kept;
    kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (lines[i].count >= min_count) {
            lines[kept++] = lines[i];
        }
        else {
            free(lines[i].text);
        }
    }
    qsort(lines, kept, sizeof(*lines), compare_count_then_text);
    *out = lines;
    return kept;
}

void
folded_lines_free(struct folded_line *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(lines[i].text);
    }
    free(lines);
}

int
stacks_write_folded(const struct stacks *sk, uint64_t min_count, FILE *f)
{
    struct folded_line *lines;
    size_t n = stacks_folded(sk, min_count, &lines);

    for (size_t i = 0; i < n; i++) {
        fwrite(lines[i].text, 1, lines[i].len, f);
        fprintf(f, " %" PRIu64 "\n", lines[i].count);
    }
    folded_lines_free(lines, n);
    return ferror(f) ? -1 : 0;
}
