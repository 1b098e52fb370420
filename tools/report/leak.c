/* leak.c - surviving allocations over time, grouped (see leak.h). */
#include "leak.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "labels.h"
#include "strbuf.h"
#include "util.h"

#define MAX_FIELDS 8
/* Frames of a stack group's one-line title: leaf first, up to and
   including the innermost Python frame. */
#define TITLE_FRAMES 6

static const char *const group_names[] = {"stack", "line", "file", "label"};

bool
group_by_parse(const char *s, enum group_by *by)
{
    for (size_t i = 0; i < sizeof(group_names) / sizeof(*group_names); i++) {
        if (strcmp(s, group_names[i]) == 0) {
            *by = (enum group_by)i;
            return true;
        }
    }
    return false;
}

const char *
group_by_name(enum group_by by)
{
    return group_names[by];
}

void
leak_init(struct leak *lk, enum group_by by)
{
    memset(lk, 0, sizeof(*lk));
    lk->by = by;
    stream_init(&lk->st);
    stacks_init(&lk->sk, MODE_MERGED, false);
    lk->group_keys = (struct intern)INTERN_INIT;
    lk->runtime_pcs = (struct intern)INTERN_INIT;
    lk->mode = xmemdup("trace", 5);
    lk->domains = xmemdup("", 0);
}

void
leak_free(struct leak *lk)
{
    for (size_t g = 0; g < lk->group_keys.count; g++) {
        free(lk->groups[g].title);
        free(lk->groups[g].series);
        free(lk->groups[g].series_blocks);
    }
    free(lk->groups);
    intern_free(&lk->group_keys);
    intern_free(&lk->runtime_pcs);
    free(lk->stacks);
    free(lk->snap_ms);
    free(lk->snap_total);
    free(lk->snap_total_blocks);
    free(lk->mode);
    free(lk->domains);
    free(lk->ids);
    stacks_free(&lk->sk);
    stream_free(&lk->st);
}

/* ---- fields ---- */

struct field {
    const char *s;
    size_t len;
};

static size_t
split(const char *line, size_t len, struct field *f, size_t max)
{
    size_t n = 0;
    const char *p = line;
    const char *end = line + len;

    while (n < max) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        /* the last field takes the rest of the line */
        if (tab == NULL || n == max - 1) {
            f[n].s = p;
            f[n].len = (size_t)(end - p);
            return n + 1;
        }
        f[n].s = p;
        f[n].len = (size_t)(tab - p);
        n++;
        p = tab + 1;
    }
    return n;
}

/* ---- grouping ---- */

/* The innermost Python frame's code and lasti among the tokens. */
static bool
innermost_python(const char *pos, const char *end, struct token *out)
{
    const char *s;
    size_t len;

    while ((s = token_next(&pos, end, &len)) != NULL) {
        if (s[0] == 'p' && token_parse(s, len, out)) {
            return true;
        }
    }
    return false;
}

static void
leaf_native(const struct leak *lk, const char *pos, const char *end,
            struct strbuf *key)
{
    const char *s;
    size_t len;
    struct token tok;

    sb_append_str(key, "[native] ");
    if ((s = token_next(&pos, end, &len)) != NULL && s[0] == 'n'
        && token_parse(s, len, &tok)) {
        const char *sym = stream_native_symbol(&lk->st, tok.addr);
        if (sym != NULL && sym[0] != '\0') {
            sb_append_str(key, sym);
        }
        else {
            sb_printf(key, "0x%" PRIx64, tok.addr);
        }
    }
    else {
        sb_append_str(key, "?");
    }
}

/* Title of a whole-stack group: leaf first, up to the innermost Python
   frame, " < " between frames. */
static void
stack_title(const struct leak *lk, const uint32_t *ids, size_t n,
            struct strbuf *out)
{
    size_t shown = 0;

    for (size_t j = n; j > 0 && shown < TITLE_FRAMES; j--) {
        size_t len;
        const char *name = stacks_frame_name(&lk->sk, ids[j - 1], &len);
        if (shown > 0) {
            sb_append_str(out, " < ");
        }
        sb_append(out, name, len);
        shown++;
        if (stacks_frame_kind(&lk->sk, ids[j - 1]) == FRAME_PYTHON) {
            return;
        }
    }
    if (shown < n) {
        sb_append_str(out, " < ...");
    }
}

/* Does glob match a frame of the stack (its name, a Python frame's file,
   a native frame's symbol)? */
static bool
stack_matches(const struct leak *lk, const char *pos, const char *end,
              const uint32_t *ids, size_t n, const char *glob)
{
    for (size_t j = 0; j < n; j++) {
        const char *name = stacks_frame_name(&lk->sk, ids[j], NULL);
        if (fnmatch(glob, name, 0) == 0) {
            return true;
        }
    }
    const char *s;
    size_t len;
    struct token tok;
    while ((s = token_next(&pos, end, &len)) != NULL) {
        if (s[0] == 'p' && token_parse(s, len, &tok)) {
            const struct code_info *ci = stream_code(&lk->st, tok.addr,
                                                     tok.generation);
            if (ci != NULL && (fnmatch(glob, ci->filename, 0) == 0
                               || fnmatch(glob, ci->qualname, 0) == 0)) {
                return true;
            }
        }
    }
    return false;
}

static bool
stack_kept(const struct leak *lk, const char *pos, const char *end,
           const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < lk->nexcludes; i++) {
        if (stack_matches(lk, pos, end, ids, n, lk->excludes[i])) {
            return false;
        }
    }
    if (lk->nincludes == 0) {
        return true;
    }
    for (size_t i = 0; i < lk->nincludes; i++) {
        if (stack_matches(lk, pos, end, ids, n, lk->includes[i])) {
            return true;
        }
    }
    return false;
}

/* The group of a new stack (creating it), or INTERN_NONE if filtered. */
static uint32_t
group_of(struct leak *lk, const char *tokens, size_t len, uint32_t *stack)
{
    const char *end = tokens + len;
    size_t n = stacks_resolve(&lk->sk, &lk->st, tokens, len, &lk->ids,
                              &lk->ids_cap);
    *stack = stacks_add(&lk->sk, lk->ids, n, 0);
    if (!stack_kept(lk, tokens, end, lk->ids, n)) {
        return INTERN_NONE;
    }

    struct strbuf key = STRBUF_INIT;
    struct strbuf title = STRBUF_INIT;
    struct token tok;
    uint64_t label;

    switch (lk->by) {
    case GROUP_STACK:
        sb_append(&key, (const char *)lk->ids, n * sizeof(uint32_t));
        stack_title(lk, lk->ids, n, &title);
        break;
    case GROUP_LINE:
    case GROUP_FILE:
        if (innermost_python(tokens, end, &tok)) {
            const struct code_info *ci = stream_code(&lk->st, tok.addr,
                                                     tok.generation);
            int64_t line = -1;
            sb_append_str(&key, ci != NULL ? ci->filename : "?");
            if (lk->by == GROUP_LINE) {
                if (!stream_line(&lk->st, tok.addr, tok.generation,
                                 tok.lasti, &line)) {
                    line = -1;
                }
                sb_printf(&key, ":%" PRId64, line);
            }
        }
        else {
            leaf_native(lk, tokens, end, &key);
        }
        sb_append(&title, key.data, key.len);
        break;
    case GROUP_LABEL:
        if (innermost_label(tokens, end, &label)) {
            label_text(&lk->st, label, &key);
        }
        else {
            sb_append_str(&key, NO_LABEL);
        }
        sb_append(&title, key.data, key.len);
        break;
    }

    bool added;
    uint32_t g = intern_add(&lk->group_keys, sb_str(&key), key.len, &added);
    if (added) {
        size_t old = lk->groups_cap;
        lk->groups = xgrow(lk->groups, &lk->groups_cap, g + 1,
                           sizeof(struct leak_group));
        memset(lk->groups + old, 0,
               (lk->groups_cap - old) * sizeof(struct leak_group));
        lk->groups[g].title = xmemdup(sb_str(&title), title.len);
        lk->groups[g].rep_sid = UINT32_MAX;
    }
    sb_free(&key);
    sb_free(&title);
    return g;
}

static struct leak_stack *
stack_slot(struct leak *lk, uint64_t sid)
{
    if (sid > 100000000) {
        return NULL;
    }
    size_t old = lk->stacks_cap;
    lk->stacks = xgrow(lk->stacks, &lk->stacks_cap, (size_t)sid + 1,
                       sizeof(struct leak_stack));
    if (lk->stacks_cap > old) {
        memset(lk->stacks + old, 0,
               (lk->stacks_cap - old) * sizeof(struct leak_stack));
    }
    return &lk->stacks[sid];
}

/* ---- records ---- */

static void
parse_stack(struct leak *lk, const struct field *f, size_t n)
{
    uint64_t sid;

    if (n != 3 || !parse_u64(f[1].s, f[1].len, &sid)) {
        return;
    }
    struct leak_stack *ls = stack_slot(lk, sid);
    if (ls == NULL || ls->known) {
        return;
    }
    /* In sampled mode a stack starts inside pyscope's sampler (the USDT
       probe's site): those frames say nothing about the allocation. */
    const char *pos = f[2].s;
    const char *end = f[2].s + f[2].len;
    const char *tok;
    size_t len;
    struct token t;
    const char *rest = pos;
    while ((tok = token_next(&pos, end, &len)) != NULL && tok[0] == 'n'
           && token_parse(tok, len, &t)
           && intern_find(&lk->runtime_pcs, &t.addr, sizeof(t.addr))
              != INTERN_NONE) {
        rest = pos;
    }
    ls->known = true;
    /* its code objects are the ones the stream has defined so far */
    size_t qlen;
    rest = stream_qualify(&lk->st, rest, (size_t)(end - rest), &qlen);
    ls->group = group_of(lk, rest, qlen, &ls->stack);
}

/* Is a shared object pyscope's own runtime (the sampler lives there)? */
static bool
is_runtime_module(const char *s, size_t len)
{
    static const char preload[] = "/libpyscope-alloc.so";
    size_t pl = sizeof(preload) - 1;
    if (len >= pl && memcmp(s + len - pl, preload, pl) == 0) {
        return true;
    }
    static const char ext[] = "/pyscope/_pyscope.";
    for (size_t i = 0; i + sizeof(ext) - 1 <= len; i++) {
        if (memcmp(s + i, ext, sizeof(ext) - 1) == 0) {
            return true;
        }
    }
    return false;
}

static void
note_native(struct leak *lk, const struct field *f, size_t n)
{
    uint64_t addr;
    if (n == 4 && is_runtime_module(f[3].s, f[3].len)
        && parse_hex(f[1].s, f[1].len, &addr)) {
        intern_add(&lk->runtime_pcs, &addr, sizeof(addr), NULL);
    }
}

static void
parse_amount(struct leak *lk, const struct field *f, size_t n)
{
    uint64_t sid;
    int64_t t, bytes, blocks;

    if (n != 5 || !parse_i64(f[1].s, f[1].len, &t)
        || !parse_u64(f[2].s, f[2].len, &sid)
        || !parse_i64(f[3].s, f[3].len, &bytes)
        || !parse_i64(f[4].s, f[4].len, &blocks)) {
        return;
    }
    struct leak_stack *ls = stack_slot(lk, sid);
    if (ls == NULL || !ls->known) {
        return;
    }
    if (ls->group != INTERN_NONE) {
        struct leak_group *g = &lk->groups[ls->group];
        g->bytes += bytes - ls->bytes;
        g->blocks += blocks - ls->blocks;
        if (g->rep_sid == UINT32_MAX
            || bytes > lk->stacks[g->rep_sid].bytes) {
            g->rep_sid = (uint32_t)sid;
        }
    }
    ls->bytes = bytes;
    ls->blocks = blocks;
}

static void
close_snapshot(struct leak *lk, const struct field *f, size_t n)
{
    int64_t v[5];

    if (n != 6) {
        return;
    }
    for (size_t i = 0; i < 5; i++) {
        if (!parse_i64(f[i + 1].s, f[i + 1].len, &v[i])) {
            return;
        }
    }
    size_t cap = lk->snap_cap;
    lk->snap_ms = xgrow(lk->snap_ms, &cap, lk->nsnap + 1, sizeof(int64_t));
    cap = lk->snap_cap;
    lk->snap_total = xgrow(lk->snap_total, &cap, lk->nsnap + 1,
                           sizeof(int64_t));
    lk->snap_total_blocks = xgrow(lk->snap_total_blocks, &lk->snap_cap,
                                  lk->nsnap + 1, sizeof(int64_t));
    int64_t total = 0, total_blocks = 0;
    for (size_t gi = 0; gi < lk->group_keys.count; gi++) {
        struct leak_group *g = &lk->groups[gi];
        size_t c = g->series_cap;
        g->series = xgrow(g->series, &c, lk->nsnap + 1, sizeof(int64_t));
        g->series_blocks = xgrow(g->series_blocks, &g->series_cap,
                                 lk->nsnap + 1, sizeof(int64_t));
        while (g->series_len < lk->nsnap) {     /* a group born late */
            g->series[g->series_len] = 0;
            g->series_blocks[g->series_len++] = 0;
        }
        g->series[g->series_len] = g->bytes;
        g->series_blocks[g->series_len++] = g->blocks;
        total += g->bytes;
        total_blocks += g->blocks;
    }
    lk->snap_ms[lk->nsnap] = v[0];
    lk->snap_total[lk->nsnap] = total;
    lk->snap_total_blocks[lk->nsnap] = total_blocks;
    lk->nsnap++;
    lk->live_blocks = v[1];
    if (v[1] > lk->peak_live_blocks) {
        lk->peak_live_blocks = v[1];
    }
    lk->dropped = v[2];
    lk->dropped_bytes = v[3];
    lk->missed_frees = v[4];
}

static void
parse_info(struct leak *lk, const struct field *f, size_t n)
{
    if (n != 3) {
        return;
    }
    if (f[1].len == 4 && memcmp(f[1].s, "mode", 4) == 0) {
        free(lk->mode);
        lk->mode = xmemdup(f[2].s, f[2].len);
    }
    else if (f[1].len == 7 && memcmp(f[1].s, "domains", 7) == 0) {
        free(lk->domains);
        lk->domains = xmemdup(f[2].s, f[2].len);
    }
    else if (f[1].len == 11 && memcmp(f[1].s, "interval_ms", 11) == 0) {
        parse_i64(f[2].s, f[2].len, &lk->interval_ms);
    }
    else if (f[1].len == 17 && memcmp(f[1].s, "min_age_intervals", 17) == 0) {
        parse_i64(f[2].s, f[2].len, &lk->min_age_intervals);
    }
}

bool
leak_parse_line(struct leak *lk, const char *line, size_t len)
{
    struct field f[MAX_FIELDS];

    if (len < 2 || line[1] != '\t') {
        return false;
    }
    switch (line[0]) {
    case 'K':
        parse_stack(lk, f, split(line, len, f, 3));
        return false;
    case 'A':
        parse_amount(lk, f, split(line, len, f, MAX_FIELDS));
        return false;
    case 'E':
        close_snapshot(lk, f, split(line, len, f, MAX_FIELDS));
        return true;
    case 'I':
        parse_info(lk, f, split(line, len, f, 3));
        return false;
    case 'N':
        note_native(lk, f, split(line, len, f, 4));
        stream_parse_line(&lk->st, line, len);
        return false;
    default:
        stream_parse_line(&lk->st, line, len);
        return false;
    }
}

/* ---- ranking ---- */

int64_t
leak_growth(const struct leak *lk, uint32_t group)
{
    const struct leak_group *g = &lk->groups[group];
    if (g->series_len == 0) {
        return g->bytes;
    }
    /* a group born after the first snapshot started from 0 */
    int64_t first = g->series_len == lk->nsnap ? g->series[0] : 0;
    return g->series[g->series_len - 1] - first;
}

static const struct leak *rank_leak;
static bool rank_growth;

static int
compare_groups(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;
    int64_t vx = rank_growth ? leak_growth(rank_leak, x)
                             : rank_leak->groups[x].bytes;
    int64_t vy = rank_growth ? leak_growth(rank_leak, y)
                             : rank_leak->groups[y].bytes;
    if (vx != vy) {
        return vx < vy ? 1 : -1;
    }
    return strcmp(rank_leak->groups[x].title, rank_leak->groups[y].title);
}

uint32_t *
leak_ranked(const struct leak *lk, bool by_growth, size_t *n)
{
    size_t count = lk->group_keys.count;
    uint32_t *order = xmalloc((count + 1) * sizeof(uint32_t));
    for (size_t i = 0; i < count; i++) {
        order[i] = (uint32_t)i;
    }
    rank_leak = lk;
    rank_growth = by_growth;
    qsort(order, count, sizeof(uint32_t), compare_groups);
    *n = count;
    return order;
}

/* ---- output ---- */

static void
human_bytes(struct strbuf *sb, int64_t v)
{
    const char *sign = v < 0 ? "-" : "";
    double a = v < 0 ? -(double)v : (double)v;

    if (a >= 1024.0 * 1024 * 1024) {
        sb_printf(sb, "%s%.1f GiB", sign, a / (1024.0 * 1024 * 1024));
    }
    else if (a >= 1024.0 * 1024) {
        sb_printf(sb, "%s%.1f MiB", sign, a / (1024.0 * 1024));
    }
    else if (a >= 1024.0) {
        sb_printf(sb, "%s%.1f KiB", sign, a / 1024.0);
    }
    else {
        sb_printf(sb, "%s%.0f B", sign, a);
    }
}

static bool
estimated(const struct leak *lk)
{
    return strcmp(lk->mode, "sampled") == 0;
}

void
leak_write_progress(const struct leak *lk, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    size_t last = lk->nsnap - 1;
    int64_t grew = lk->snap_total[last] - lk->snap_total[0];

    sb_printf(&sb, "leak-watch: %6.1f s  %s", lk->snap_ms[last] / 1000.0,
              estimated(lk) ? "~" : "");
    human_bytes(&sb, lk->snap_total[last]);
    sb_printf(&sb, " surviving in %" PRId64 " blocks (", lk->snap_total_blocks[last]);
    if (grew >= 0) {
        sb_append_char(&sb, '+');
    }
    human_bytes(&sb, grew);
    sb_append_str(&sb, " since the first snapshot)");
    if (lk->dropped > 0) {
        sb_printf(&sb, ", %" PRId64 " dropped", lk->dropped);
    }
    sb_append_char(&sb, '\n');

    size_t n;
    uint32_t *order = leak_ranked(lk, true, &n);
    for (size_t i = 0; i < n && i < 3; i++) {
        int64_t g = leak_growth(lk, order[i]);
        if (g <= 0) {
            break;
        }
        sb_append_str(&sb, "    +");
        human_bytes(&sb, g);
        sb_append_str(&sb, "  ");
        const char *t = lk->groups[order[i]].title;
        size_t tl = strlen(t);
        sb_append_terminal(&sb, t, utf8_offset(t, tl, 100) < tl
                                   ? utf8_offset(t, tl, 100) : tl);
        sb_append_char(&sb, '\n');
    }
    free(order);
    fwrite(sb.data, 1, sb.len, out);
    fflush(out);
    sb_free(&sb);
}

static void
write_stack(const struct leak *lk, uint32_t sid, struct strbuf *sb)
{
    size_t depth;
    const uint32_t *ids = stacks_frames(&lk->sk, lk->stacks[sid].stack,
                                        &depth);
    for (size_t j = depth; j > 0; j--) {
        size_t len;
        const char *name = stacks_frame_name(&lk->sk, ids[j - 1], &len);
        sb_append_str(sb, "        ");
        sb_append_terminal(sb, name, len);
        sb_append_char(sb, '\n');
    }
}

static void
write_table(const struct leak *lk, const uint32_t *order, size_t n,
            size_t top, struct strbuf *sb)
{
    sb_printf(sb, "  %4s  %14s  %14s  %9s  %s\n", "RANK", "GROWTH_BYTES",
              "LIVE_BYTES", "BLOCKS", "GROUP");
    for (size_t i = 0; i < n && i < top; i++) {
        const struct leak_group *g = &lk->groups[order[i]];
        if (g->bytes == 0 && leak_growth(lk, order[i]) == 0) {
            break;
        }
        sb_printf(sb, "  %4zu  %+14" PRId64 "  %14" PRId64 "  %9" PRId64 "  ",
                  i + 1, leak_growth(lk, order[i]), g->bytes, g->blocks);
        sb_append_terminal(sb, g->title, strlen(g->title));
        sb_append_char(sb, '\n');
    }
}

/* What the last snapshot shows (leak-watch.stp's X final_reason). */
static const char *
final_reason_text(int64_t reason)
{
    switch (reason) {
    case 1:
        return "when the duration (-d) ended";
    case 2:
        return "when the process had exited";
    case 3:
        return "when the watch was interrupted";
    case 4:
        return "when the interpreter began finalizing (the program's own "
               "state, before the teardown freed its objects)";
    case 5:
        return "when the process exec'd another program (its heap went "
               "with it; the watch ended there)";
    default:
        return "for an unknown reason";
    }
}

int
leak_write_report(const struct leak *lk, size_t top, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    int64_t seconds_ms = lk->nsnap ? lk->snap_ms[lk->nsnap - 1] : 0;

    sb_append_str(&sb, "pyscope leak-watch report\n");
    if (estimated(lk)) {
        sb_printf(&sb, "mode: sampled (the target's pyscope runtime sampled "
                  "allocations, one per %" PRId64 " bytes on average; "
                  "bytes and blocks are estimates)\n",
                  stream_counter(&lk->st, "sampled_mean"));
    }
    else {
        sb_append_str(&sb, "mode: trace (every allocation of the domains: ");
        sb_append_terminal(&sb, lk->domains, strlen(lk->domains));
        sb_append_str(&sb, ")\n");
    }
    sb_printf(&sb, "grouped by: %s; %zu snapshots every %.1f s over %.1f s; "
              "min-age %.1f s\n", group_by_name(lk->by), lk->nsnap,
              lk->interval_ms / 1000.0, seconds_ms / 1000.0,
              lk->min_age_intervals * lk->interval_ms / 1000.0);
    if (lk->nsnap > 0 && stream_has_counter(&lk->st, "final_reason")) {
        sb_printf(&sb, "last snapshot: at %.1f s, %s\n",
                  stream_counter(&lk->st, "final_ms") / 1000.0,
                  final_reason_text(stream_counter(&lk->st, "final_reason")));
    }
    if (lk->nsnap > 0) {
        sb_printf(&sb, "surviving at the last snapshot: %" PRId64 " bytes in %"
                  PRId64 " blocks (at the first snapshot: %" PRId64
                  " bytes)\n", lk->snap_total[lk->nsnap - 1],
                  lk->snap_total_blocks[lk->nsnap - 1], lk->snap_total[0]);
    }
    else {
        sb_append_str(&sb, "no snapshot was taken: nothing to report\n");
    }
    if (stream_has_counter(&lk->st, "max_live")) {
        sb_printf(&sb, "tables: %" PRId64 " of %" PRId64 " live blocks at "
                  "the fullest snapshot, %" PRId64 " of %" PRId64 " stacks "
                  "(their memory is fixed when the probes load)\n",
                  lk->peak_live_blocks, stream_counter(&lk->st, "max_live"),
                  stream_counter(&lk->st, "stacks"),
                  stream_counter(&lk->st, "max_stacks"));
    }
    if (!stream_has_counter(&lk->st, "events")) {
        sb_append_str(&sb, "WARNING: the tracer's closing records never "
                      "arrived (its output was cut short): the last "
                      "snapshot may be incomplete\n");
    }
    if (lk->dropped > 0) {
        sb_printf(&sb, "WARNING: %" PRId64 " allocations (%" PRId64
                  " bytes) were not tracked because the live-block table "
                  "was full: every total is a lower bound\n",
                  lk->dropped, lk->dropped_bytes);
    }
    int64_t full = stream_counter(&lk->st, "stacks_full");
    if (full > 0) {
        sb_printf(&sb, "WARNING: %" PRId64 " allocations had a stack the "
                  "stack table had no room for: they are counted under "
                  "[stack-table-full]\n", full);
    }
    int64_t skipped = stream_counter(&lk->st, "skipped_probes");
    if (skipped > 0) {
        sb_printf(&sb, "WARNING: SystemTap skipped %" PRId64 " probe hits "
                  "(allocations or frees not seen): totals may be off by "
                  "that many blocks\n", skipped);
    }
    int64_t lost = stream_counter(&lk->st, "transport_failures");
    if (lost > 0) {
        sb_printf(&sb, "WARNING: %" PRId64 " batches of the tracer's output "
                  "were lost in transport: stacks or snapshot lines may be "
                  "missing, totals may be incomplete\n", lost);
    }
    if (lk->missed_frees > 0) {
        sb_printf(&sb, "note: %" PRId64 " blocks were handed out again "
                  "while thought alive (their free was not seen, e.g. "
                  "freed by code the probes cannot see); they were counted "
                  "as freed then\n", lk->missed_frees);
    }

    uint32_t *order = leak_ranked(lk, true, &n);
    sb_append_str(&sb, "\nTop groups by growth since the first snapshot:\n");
    write_table(lk, order, n, top, &sb);
    free(order);
    order = leak_ranked(lk, false, &n);
    sb_append_str(&sb, "\nTop groups by surviving bytes:\n");
    write_table(lk, order, n, top, &sb);
    free(order);

    order = leak_ranked(lk, true, &n);
    sb_append_str(&sb, "\nStacks (innermost first) of the top growers, "
                  "the biggest stack of each group:\n");
    for (size_t i = 0; i < n && i < top; i++) {
        const struct leak_group *g = &lk->groups[order[i]];
        if (leak_growth(lk, order[i]) <= 0 || g->rep_sid == UINT32_MAX) {
            break;
        }
        sb_printf(&sb, "  [%zu] %+" PRId64 " bytes, ", i + 1,
                  leak_growth(lk, order[i]));
        sb_append_terminal(&sb, g->title, strlen(g->title));
        sb_append_char(&sb, '\n');
        write_stack(lk, g->rep_sid, &sb);
    }
    free(order);
    size_t w = fwrite(sb.data, 1, sb.len, out);
    int rc = w == sb.len ? 0 : -1;
    sb_free(&sb);
    return rc;
}

int
leak_write_csv(const struct leak *lk, size_t top, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    uint32_t *order = leak_ranked(lk, true, &n);

    if (n > top) {
        n = top;
    }
    sb_append_str(&sb, "time_s,rank,group,bytes,blocks\n");
    for (size_t s = 0; s < lk->nsnap; s++) {
        sb_printf(&sb, "%.3f,0,[all tracked],%" PRId64 ",%" PRId64 "\n",
                  lk->snap_ms[s] / 1000.0, lk->snap_total[s],
                  lk->snap_total_blocks[s]);
        for (size_t i = 0; i < n; i++) {
            const struct leak_group *g = &lk->groups[order[i]];
            int64_t b = s < g->series_len ? g->series[s] : 0;
            int64_t k = s < g->series_len ? g->series_blocks[s] : 0;
            sb_printf(&sb, "%.3f,%zu,", lk->snap_ms[s] / 1000.0, i + 1);
            sb_append_csv(&sb, g->title, strlen(g->title));
            sb_printf(&sb, ",%" PRId64 ",%" PRId64 "\n", b, k);
        }
    }
    free(order);
    size_t w = fwrite(sb.data, 1, sb.len, out);
    int rc = w == sb.len ? 0 : -1;
    sb_free(&sb);
    return rc;
}

/* A title gnuplot reads as a quoted column header: valid UTF-8, no quote,
   backslash or control character (gnuplot's SVG output escapes < and &
   itself; enhanced text is off in the script). */
static void
plot_title(struct strbuf *sb, const char *t)
{
    struct strbuf tmp = STRBUF_INIT;
    size_t len = strlen(t);

    sb_append_terminal(&tmp, t, utf8_offset(t, len, 70));
    sb_append_char(sb, '"');
    for (size_t i = 0; i < tmp.len; i++) {
        char c = tmp.data[i];
        sb_append_char(sb, c == '"' || c == '\\' ? '\'' : c);
    }
    sb_append_char(sb, '"');
    sb_free(&tmp);
}

int
leak_write_plot_data(const struct leak *lk, size_t top, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;
    size_t n;
    uint32_t *order = leak_ranked(lk, true, &n);

    if (n > top) {
        n = top;
    }
    sb_append_str(&sb, "\"time\" \"all tracked\"");
    for (size_t i = 0; i < n; i++) {
        sb_append_char(&sb, ' ');
        plot_title(&sb, lk->groups[order[i]].title);
    }
    sb_append_char(&sb, '\n');
    for (size_t s = 0; s < lk->nsnap; s++) {
        sb_printf(&sb, "%.3f %" PRId64, lk->snap_ms[s] / 1000.0,
                  lk->snap_total[s]);
        for (size_t i = 0; i < n; i++) {
            const struct leak_group *g = &lk->groups[order[i]];
            sb_printf(&sb, " %" PRId64, s < g->series_len ? g->series[s] : 0);
        }
        sb_append_char(&sb, '\n');
    }
    free(order);
    size_t w = fwrite(sb.data, 1, sb.len, out);
    int rc = w == sb.len ? 0 : -1;
    sb_free(&sb);
    return rc;
}

int
leak_write_folded(const struct leak *lk, FILE *out)
{
    struct strbuf sb = STRBUF_INIT;

    for (size_t sid = 0; sid < lk->stacks_cap; sid++) {
        const struct leak_stack *ls = &lk->stacks[sid];
        if (!ls->known || ls->group == INTERN_NONE || ls->bytes <= 0) {
            continue;
        }
        size_t depth;
        const uint32_t *ids = stacks_frames(&lk->sk, ls->stack, &depth);
        for (size_t j = 0; j < depth; j++) {
            size_t len;
            const char *name = stacks_frame_name(&lk->sk, ids[j], &len);
            if (j > 0) {
                sb_append_char(&sb, ';');
            }
            sb_append_folded(&sb, name, len);
        }
        sb_printf(&sb, " %" PRId64 "\n", ls->bytes);
    }
    size_t w = fwrite(sb.data, 1, sb.len, out);
    int rc = w == sb.len ? 0 : -1;
    sb_free(&sb);
    return rc;
}
