/* wall_report.c - the wall-clock tables and counts (wall_report.h). */
#include "wall_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "intern.h"
#include "labels.h"
#include "strbuf.h"
#include "util.h"
#include "wall.h"

/* ---- building a table ---- */

struct table_builder {
    struct intern groups;        /* key: the row's identity */
    struct wall_row *rows;       /* by group index */
    size_t rows_cap;
    struct intern pairs;         /* key: uint32_t row, reason bytes */
    uint64_t *pair_usec;
    size_t pair_cap;
};

static struct wall_row *
row_of(struct table_builder *b, const void *key, size_t key_len,
       const char *name, size_t name_len, uint64_t order)
{
    bool added;
    uint32_t idx = intern_add(&b->groups, key, key_len, &added);

    if (added) {
        b->rows = xgrow(b->rows, &b->rows_cap, b->groups.count,
                        sizeof(struct wall_row));
        memset(&b->rows[idx], 0, sizeof(struct wall_row));
        b->rows[idx].name = xmemdup(name, name_len);
        b->rows[idx].order = order;
    }
    return &b->rows[idx];
}

/* Charge one raw sample's weight to row. */
static void
charge(struct table_builder *b, struct wall_row *row,
       const struct stream *st, const struct raw_sample *rs,
       struct strbuf *tmp)
{
    uint64_t usec = wall_weight(st, rs);

    row->wall += usec;
    if (!rs->off_cpu) {
        row->on_cpu += usec;
        return;
    }
    size_t len;
    const char *reason = wall_reason(st, rs, &len);
    if (len == strlen(WALL_REASON_RUNNABLE)
        && memcmp(reason, WALL_REASON_RUNNABLE, len) == 0) {
        row->runnable += usec;
        return;
    }
    uint32_t r = (uint32_t)(row - b->rows);
    sb_clear(tmp);
    sb_append(tmp, (const char *)&r, sizeof(r));
    sb_append(tmp, reason, len);
    bool added;
    uint32_t idx = intern_add(&b->pairs, tmp->data, tmp->len, &added);
    b->pair_usec = xgrow(b->pair_usec, &b->pair_cap, b->pairs.count,
                         sizeof(uint64_t));
    if (added) {
        b->pair_usec[idx] = 0;
    }
    b->pair_usec[idx] += usec;
}

static int
compare_reasons(const void *a, const void *b)
{
    const struct wall_reason_time *x = a;
    const struct wall_reason_time *y = b;

    if (x->usec != y->usec) {
        return x->usec < y->usec ? 1 : -1;
    }
    return strcmp(x->reason, y->reason);
}

static int
compare_rows(const void *a, const void *b)
{
    const struct wall_row *x = a;
    const struct wall_row *y = b;

    if (x->wall != y->wall) {
        return x->wall < y->wall ? 1 : -1;
    }
    if (x->order != y->order) {
        return x->order < y->order ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Hand the rows to table, sorted, with their reasons. */
static void
table_finish(struct table_builder *b, struct wall_table *table)
{
    size_t *fill = xcalloc(b->groups.count + 1, sizeof(size_t));

    for (size_t i = 0; i < b->pairs.count; i++) {
        uint32_t r;
        memcpy(&r, intern_key(&b->pairs, (uint32_t)i, NULL), sizeof(r));
        b->rows[r].nreasons++;
    }
    for (size_t r = 0; r < b->groups.count; r++) {
        b->rows[r].reasons = xcalloc(b->rows[r].nreasons + 1,
                                     sizeof(struct wall_reason_time));
    }
    for (size_t i = 0; i < b->pairs.count; i++) {
        size_t len;
        const char *key = intern_key(&b->pairs, (uint32_t)i, &len);
        uint32_t r;
        memcpy(&r, key, sizeof(r));
        struct wall_reason_time *rt = &b->rows[r].reasons[fill[r]++];
        rt->reason = xmemdup(key + sizeof(r), len - sizeof(r));
        rt->usec = b->pair_usec[i];
    }
    for (size_t r = 0; r < b->groups.count; r++) {
        qsort(b->rows[r].reasons, b->rows[r].nreasons,
              sizeof(struct wall_reason_time), compare_reasons);
    }
    qsort(b->rows, b->groups.count, sizeof(struct wall_row), compare_rows);
    table->rows = b->rows;
    table->nrows = b->groups.count;
    free(fill);
    free(b->pair_usec);
    intern_free(&b->groups);
    intern_free(&b->pairs);
    memset(b, 0, sizeof(*b));
}

/* ---- the report ---- */

static bool
stream_has_labels(const struct stream *st)
{
    if (st->labels.count > 0) {
        return true;
    }
    for (size_t i = 0; i < st->samples.count; i++) {
        size_t key_len;
        const char *key = intern_key(&st->samples, (uint32_t)i, &key_len);
        uint64_t id;
        if (innermost_label(key + st->sample_info[i].tokens_off,
                            key + key_len, &id)) {
            return true;
        }
    }
    return false;
}

void
wall_report_compute(const struct stream *st, struct wall_report *rep)
{
    struct table_builder threads, labels;
    struct strbuf name = STRBUF_INIT;
    struct strbuf tmp = STRBUF_INIT;

    memset(rep, 0, sizeof(*rep));
    memset(&threads, 0, sizeof(threads));
    memset(&labels, 0, sizeof(labels));
    rep->has_labels = stream_has_labels(st);
    for (size_t i = 0; i < st->samples.count; i++) {
        const struct raw_sample *rs = &st->sample_info[i];
        size_t key_len;
        const char *key = intern_key(&st->samples, (uint32_t)i, &key_len);

        const char *comm = stream_thread_comm(st, rs->tid);
        sb_clear(&name);
        sb_printf(&name, "%s (tid %" PRIu64 ")",
                  comm != NULL && comm[0] != '\0' ? comm : "?", rs->tid);
        struct wall_row *row = row_of(&threads, &rs->tid, sizeof(rs->tid),
                                      name.data, name.len, rs->tid);
        charge(&threads, row, st, rs, &tmp);

        if (!rep->has_labels) {
            continue;
        }
        uint64_t id;
        sb_clear(&name);
        if (innermost_label(key + rs->tokens_off, key + key_len, &id)) {
            sb_append_char(&name, '1');
            label_text(st, id, &name);
        }
        else {
            sb_append_str(&name, "0" NO_LABEL);
        }
        row = row_of(&labels, name.data, name.len, name.data + 1,
                     name.len - 1, 0);
        charge(&labels, row, st, rs, &tmp);
    }
    table_finish(&threads, &rep->threads);
    table_finish(&labels, &rep->labels);
    sb_free(&name);
    sb_free(&tmp);
}

static void
print_table(const struct wall_table *table, const char *what,
            const char *column, FILE *out)
{
    struct strbuf text = STRBUF_INIT;
    size_t width = strlen(column);
    char wall[WALL_MS_SIZE], on_cpu[WALL_MS_SIZE], runnable[WALL_MS_SIZE];
    char ms[WALL_MS_SIZE];

    for (size_t i = 0; i < table->nrows; i++) {
        const char *name = table->rows[i].name;
        sb_clear(&text);
        sb_append_terminal(&text, name, strlen(name));
        size_t n = utf8_length(text.data, text.len);
        width = n > width ? n : width;
    }
    fprintf(out, "Wall-clock time by %s (ms):\n", what);
    fprintf(out, "  %-*s %9s %10s %10s  %s\n", (int)width, column, "WALL",
            "ON-CPU", "RUNNABLE", "OFF-CPU");
    for (size_t i = 0; i < table->nrows; i++) {
        const struct wall_row *row = &table->rows[i];
        sb_clear(&text);
        sb_append_str(&text, "  ");
        sb_append_terminal(&text, row->name, strlen(row->name));
        for (size_t n = utf8_length(text.data + 2, text.len - 2); n < width;
             n++) {
            sb_append_char(&text, ' ');
        }
        sb_printf(&text, " %9s %10s %10s  ", wall_format_ms(row->wall, wall),
                  wall_format_ms(row->on_cpu, on_cpu),
                  wall_format_ms(row->runnable, runnable));
        if (row->nreasons == 0) {
            sb_append_char(&text, '-');
        }
        for (size_t r = 0; r < row->nreasons; r++) {
            const struct wall_reason_time *rt = &row->reasons[r];
            if (r > 0) {
                sb_append_str(&text, ", ");
            }
            sb_append_terminal(&text, rt->reason, strlen(rt->reason));
            sb_printf(&text, " %s", wall_format_ms(rt->usec, ms));
        }
        fprintf(out, "%s\n", sb_str(&text));
    }
    sb_free(&text);
}

void
wall_report_print(const struct wall_report *rep, FILE *out)
{
    print_table(&rep->threads, "thread", "THREAD", out);
    if (rep->has_labels) {
        fputc('\n', out);
        print_table(&rep->labels, "label", "LABEL", out);
    }
}

static void
table_free(struct wall_table *table)
{
    for (size_t i = 0; i < table->nrows; i++) {
        struct wall_row *row = &table->rows[i];
        for (size_t r = 0; r < row->nreasons; r++) {
            free(row->reasons[r].reason);
        }
        free(row->reasons);
        free(row->name);
    }
    free(table->rows);
    memset(table, 0, sizeof(*table));
}

void
wall_report_free(struct wall_report *rep)
{
    table_free(&rep->threads);
    table_free(&rep->labels);
}

void
wall_print_counts(const struct stream *st, const struct stacks *sk,
                  FILE *out)
{
    uint64_t on_usec = 0, off_usec = 0;
    size_t off_stacks = 0;
    bool *seen = xcalloc(stacks_count(sk) + 1, sizeof(bool));
    char on_ms[WALL_MS_SIZE], off_ms[WALL_MS_SIZE];

    for (size_t i = 0; i < st->samples.count; i++) {
        const struct raw_sample *rs = &st->sample_info[i];
        if (!rs->off_cpu) {
            on_usec += wall_weight(st, rs);
            continue;
        }
        off_usec += rs->count;
        uint32_t s = sk->sample_stacks[i];
        if (!seen[s]) {
            seen[s] = true;
            off_stacks++;
        }
    }
    free(seen);
    fprintf(out, "pyscope: wall-clock: %" PRIu64 " on-CPU samples (%s ms), "
            "off-CPU %s ms in %zu stacks\n", st->total_samples,
            wall_format_ms(on_usec, on_ms), wall_format_ms(off_usec, off_ms),
            off_stacks);
    /* python_offcpu.stp's tables were full: time it could not charge */
    int64_t lost = stream_counter(st, "offcpu_lost_ms");
    if (lost > 0) {
        fprintf(out, "pyscope: warning: %" PRId64 " ms off the CPU could not "
                "be charged (the probes' tables were full): the off-CPU "
                "totals are lower bounds\n", lost);
    }
}
