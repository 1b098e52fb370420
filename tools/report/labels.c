/* labels.c - frame labels ("scope painting") and the per-label report. */
#include "labels.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"
#include "wall.h"

bool
label_mode_parse(const char *s, enum label_mode *mode)
{
    if (strcmp(s, "off") == 0) {
        *mode = LABELS_OFF;
    }
    else if (strcmp(s, "split") == 0) {
        *mode = LABELS_SPLIT;
    }
    else if (strcmp(s, "join") == 0) {
        *mode = LABELS_JOIN;
    }
    else {
        return false;
    }
    return true;
}

void
label_text(const struct stream *st, uint64_t id, struct strbuf *out)
{
    const char *text = stream_label_text(st, id);

    if (text != NULL) {
        sb_append_str(out, text);
    }
    else {
        sb_printf(out, "?%" PRIu64, id);
    }
}

bool
innermost_label(const char *pos, const char *end, uint64_t *id)
{
    bool after_python = false;
    const char *s;
    size_t len;

    while ((s = token_next(&pos, end, &len)) != NULL) {
        struct token tok;
        bool ok = token_parse(s, len, &tok);
        if (ok && tok.kind == TOKEN_LABEL && after_python) {
            *id = tok.addr;
            return true;
        }
        after_python = ok && tok.kind == TOKEN_PYTHON;
    }
    return false;
}

/* ---- the report ---- */

/* Used by the comparisons, which qsort gives no context argument. */
static const struct label_report *sort_report;
static const size_t *sort_rank;

static int
compare_names(uint32_t a, uint32_t b)
{
    size_t na, nb;
    const char *x = intern_key(&sort_report->names, a, &na);
    const char *y = intern_key(&sort_report->names, b, &nb);
    int c = memcmp(x + 1, y + 1, (na < nb ? na : nb) - 1);

    if (c != 0) {
        return c;
    }
    if (na != nb) {
        return na < nb ? -1 : 1;
    }
    return (unsigned char)x[0] - (unsigned char)y[0];
}

static int
compare_rows(const void *a, const void *b)
{
    const struct label_row *x = a;
    const struct label_row *y = b;

    if (x->samples != y->samples) {
        return x->samples < y->samples ? 1 : -1;
    }
    return compare_names(x->label, y->label);
}

static int
compare_pid_rows(const void *a, const void *b)
{
    const struct label_pid_row *x = a;
    const struct label_pid_row *y = b;

    if (x->label != y->label) {
        return sort_rank[x->label] < sort_rank[y->label] ? -1 : 1;
    }
    if (x->pid != y->pid) {
        return x->pid < y->pid ? -1 : 1;
    }
    return 0;
}

static uint32_t
sample_label(struct label_report *rep, const struct stream *st,
             const struct raw_sample *rs, const char *key, size_t key_len,
             struct strbuf *tmp)
{
    uint64_t id;

    sb_clear(tmp);
    if (innermost_label(key + rs->tokens_off, key + key_len, &id)) {
        sb_append_char(tmp, '1');
        label_text(st, id, tmp);
    }
    else {
        sb_append_str(tmp, "0" NO_LABEL);
    }
    return intern_add(&rep->names, tmp->data, tmp->len, NULL);
}

void
label_report_compute(const struct stream *st, struct label_report *rep)
{
    struct intern pairs = INTERN_INIT;   /* key: uint64_t label, pid */
    uint64_t *pair_counts = NULL;
    size_t pair_cap = 0;
    struct strbuf tmp = STRBUF_INIT;

    memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < st->samples.count; i++) {
        const struct raw_sample *rs = &st->sample_info[i];
        size_t key_len;
        const char *key = intern_key(&st->samples, (uint32_t)i, &key_len);
        uint64_t pair[2];

        pair[0] = sample_label(rep, st, rs, key, key_len, &tmp);
        if (!stream_thread_pid(st, rs->tid, &pair[1])) {
            pair[1] = rs->tid;
        }
        bool added;
        uint32_t idx = intern_add(&pairs, pair, sizeof(pair), &added);
        pair_counts = xgrow(pair_counts, &pair_cap, pairs.count,
                            sizeof(uint64_t));
        if (added) {
            pair_counts[idx] = 0;
        }
        pair_counts[idx] += wall_weight(st, rs);
        rep->samples += wall_weight(st, rs);
    }
    sb_free(&tmp);
    rep->usec = wall_stream(st);

    rep->nrows = rep->names.count;
    rep->rows = xcalloc(rep->nrows, sizeof(struct label_row));
    for (size_t i = 0; i < rep->nrows; i++) {
        rep->rows[i].label = (uint32_t)i;
    }
    rep->npids = pairs.count;
    rep->pids = xcalloc(rep->npids, sizeof(struct label_pid_row));
    for (size_t i = 0; i < rep->npids; i++) {
        uint64_t pair[2];
        struct label_pid_row *p = &rep->pids[i];

        /* Keys are only 4-byte aligned: copy. */
        memcpy(pair, intern_key(&pairs, (uint32_t)i, NULL), sizeof(pair));
        p->label = (uint32_t)pair[0];
        p->pid = pair[1];
        p->samples = pair_counts[i];
        rep->rows[p->label].samples += p->samples;
        rep->rows[p->label].procs++;
    }
    intern_free(&pairs);
    free(pair_counts);

    size_t *rank = xcalloc(rep->nrows, sizeof(size_t));
    sort_report = rep;
    qsort(rep->rows, rep->nrows, sizeof(struct label_row), compare_rows);
    for (size_t i = 0; i < rep->nrows; i++) {
        rank[rep->rows[i].label] = i;
    }
    sort_rank = rank;
    qsort(rep->pids, rep->npids, sizeof(struct label_pid_row),
          compare_pid_rows);
    sort_report = NULL;
    sort_rank = NULL;
    free(rank);
}

static double
percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static const char *
name_of(const struct label_report *rep, uint32_t label, size_t *len)
{
    size_t n;
    const char *key = intern_key(&rep->names, label, &n);
    *len = n - 1;
    return key + 1;
}

void
label_report_print(const struct label_report *rep, FILE *out)
{
    struct strbuf name = STRBUF_INIT;

    fprintf(out, "%9s %6s  %5s  %s\n", rep->usec ? "MS" : "SAMPLES", "%",
            "PROCS", "LABEL");
    for (size_t i = 0; i < rep->nrows; i++) {
        const struct label_row *row = &rep->rows[i];
        size_t len;
        const char *text = name_of(rep, row->label, &len);
        char amount[WALL_MS_SIZE];

        if (rep->usec) {
            wall_format_ms(row->samples, amount);
        }
        else {
            snprintf(amount, sizeof(amount), "%" PRIu64, row->samples);
        }
        sb_clear(&name);
        sb_append_terminal(&name, text, len);
        fprintf(out, "%9s %6.1f  %5zu  %s\n", amount,
                percent(row->samples, rep->samples), row->procs,
                sb_str(&name));
    }
    sb_free(&name);
}

int
label_report_write_csv(const struct label_report *rep, FILE *out)
{
    struct strbuf line = STRBUF_INIT;

    fputs(rep->usec ? "label,pid,usec,percent\n"
                    : "label,pid,samples,percent\n", out);
    for (size_t i = 0; i < rep->npids; i++) {
        const struct label_pid_row *p = &rep->pids[i];
        size_t len;
        const char *key = intern_key(&rep->names, p->label, NULL);
        const char *text = name_of(rep, p->label, &len);

        sb_clear(&line);
        if (key[0] == '0') {
            sb_append_str(&line, NO_LABEL);
        }
        else {
            sb_append_csv(&line, text, len);
        }
        sb_printf(&line, ",%" PRIu64 ",%" PRIu64 ",%.1f\n", p->pid,
                  p->samples, percent(p->samples, rep->samples));
        fwrite(sb_str(&line), 1, line.len, out);
    }
    sb_free(&line);
    return ferror(out) ? -1 : 0;
}

void
label_report_free(struct label_report *rep)
{
    intern_free(&rep->names);
    free(rep->rows);
    free(rep->pids);
    memset(rep, 0, sizeof(*rep));
}
