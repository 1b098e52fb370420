/* summary.c - the top-N table of functions by self samples. */
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "strbuf.h"
#include "util.h"
#include "wall.h"

static bool
is_function(const struct frame *f)
{
    return f->kind == FRAME_PYTHON || f->kind == FRAME_NATIVE;
}

/* Used by compare_rows, which qsort gives no context argument. */
static const struct stacks *sort_stacks;

static int
compare_rows(const void *a, const void *b)
{
    const struct func_stat *x = a;
    const struct func_stat *y = b;

    if (x->self != y->self) {
        return x->self < y->self ? 1 : -1;
    }
    if (x->total != y->total) {
        return x->total < y->total ? 1 : -1;
    }
    return strcmp(stacks_func_name(sort_stacks, x->func, NULL),
                  stacks_func_name(sort_stacks, y->func, NULL));
}

void
summary_compute(const struct stacks *sk, struct summary *sum)
{
    size_t nfuncs = sk->funcs.count;
    size_t nframes = sk->names.count;
    uint64_t *self_by_frame = xcalloc(nframes, sizeof(uint64_t));
    uint64_t *total_by_frame = xcalloc(nframes, sizeof(uint64_t));
    size_t *last_stack = xcalloc(nfuncs, sizeof(size_t));
    size_t *last_frame_stack = xcalloc(nframes, sizeof(size_t));

    memset(sum, 0, sizeof(*sum));
    sum->rows = xcalloc(nfuncs, sizeof(struct func_stat));
    for (size_t i = 0; i < nfuncs; i++) {
        sum->rows[i].func = (uint32_t)i;
        sum->rows[i].hot_line = -1;
    }

    for (size_t s = 0; s < stacks_count(sk); s++) {
        size_t depth;
        const uint32_t *ids = stacks_frames(sk, s, &depth);
        uint64_t count = sk->counts[s];
        bool have_self = false;

        sum->samples += count;
        for (size_t j = depth; j > 0; j--) {
            const struct frame *f = &sk->frames[ids[j - 1]];
            if (!is_function(f)) {
                continue;
            }
            if (!have_self) {
                have_self = true;
                sum->rows[f->func].self += count;
                self_by_frame[ids[j - 1]] += count;
            }
            /* last_stack and last_frame_stack hold s + 1 so that 0
               means "not yet". */
            if (last_frame_stack[ids[j - 1]] != s + 1) {
                last_frame_stack[ids[j - 1]] = s + 1;
                total_by_frame[ids[j - 1]] += count;
            }
            if (last_stack[f->func] != s + 1) {
                last_stack[f->func] = s + 1;
                sum->rows[f->func].total += count;
            }
        }
    }

    /* Hot line: the line of the function's frame with most self samples;
       for a function without any, the line with most samples through it
       (where it calls what takes the time).  The lowest line on a tie. */
    uint64_t *hot_count = xcalloc(nfuncs, sizeof(uint64_t));
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t *by_frame = pass == 0 ? self_by_frame : total_by_frame;
        for (size_t id = 0; id < nframes; id++) {
            const struct frame *f = &sk->frames[id];
            uint64_t n = by_frame[id];
            if (f->kind != FRAME_PYTHON || f->line < 0 || n == 0) {
                continue;
            }
            struct func_stat *row = &sum->rows[f->func];
            if (pass == 1 && row->self > 0) {
                continue;
            }
            if (n > hot_count[f->func]
                    || (n == hot_count[f->func] && f->line < row->hot_line)) {
                hot_count[f->func] = n;
                row->hot_line = f->line;
            }
        }
    }
    free(hot_count);
    free(self_by_frame);
    free(total_by_frame);
    free(last_stack);
    free(last_frame_stack);

    /* Keep the functions that occur in some stack, then sort. */
    size_t kept = 0;
    for (size_t i = 0; i < nfuncs; i++) {
        if (sum->rows[i].total > 0) {
            sum->rows[kept++] = sum->rows[i];
        }
    }
    sum->nrows = kept;
    sort_stacks = sk;
    qsort(sum->rows, sum->nrows, sizeof(struct func_stat), compare_rows);
    sort_stacks = NULL;
}

static double
percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

void
summary_print(const struct summary *sum, const struct stacks *sk,
              size_t top, FILE *out)
{
    fprintf(out, "%7s %7s %8s  %8s  %s\n",
            "SELF%", "TOTAL%", sk->usec ? "MS" : "SAMPLES", "HOT LINE",
            "FUNCTION");
    struct strbuf name = STRBUF_INIT;

    for (size_t i = 0; i < sum->nrows && i < top; i++) {
        const struct func_stat *row = &sum->rows[i];
        char line[32];
        size_t len;
        const char *raw = stacks_func_name(sk, row->func, &len);

        if (row->hot_line >= 0) {
            snprintf(line, sizeof(line), "%" PRId64, row->hot_line);
        }
        else {
            strcpy(line, "-");
        }
        char self[WALL_MS_SIZE];
        if (sk->usec) {
            wall_format_ms(row->self, self);
        }
        else {
            snprintf(self, sizeof(self), "%" PRIu64, row->self);
        }
        fprintf(out, "%7.1f %7.1f %8s  %8s  ",
                percent(row->self, sum->samples),
                percent(row->total, sum->samples), self, line);
        sb_clear(&name);
        sb_append_terminal(&name, raw, len);
        fprintf(out, "%s\n", sb_str(&name));
    }
    sb_free(&name);
}

void
summary_free(struct summary *sum)
{
    free(sum->rows);
    memset(sum, 0, sizeof(*sum));
}
