/* wall_report.h - where the time of a wall stream went (wall.h): by
 * thread and by label, and the counts line on stderr.
 *
 * The tables, after pyscope-report's function table:
 *
 *  Wall-clock time by thread (ms):
 *    THREAD                 WALL     ON-CPU   RUNNABLE  OFF-CPU
 *    worker (tid 4250)    2011.2       10.0        0.1  read 2000.9, futex 0.2
 *
 * - One row per thread (tid), named as its root frame is: "COMM (tid N)",
 *   "?" for an unknown comm.  ON-CPU is the weight of its S samples,
 *   RUNNABLE of its W records of reason runnable, OFF-CPU lists every
 *   other reason (wall_reason: gil for a futex wait in take_gil) as
 *   "REASON MS", by time descending then reason, joined by ", " ("-"
 *   when none), and WALL is the sum of all three.
 * - "Wall-clock time by label (ms):", with LABEL for THREAD, only when the
 *   stream has labels (a B record, or a labelled frame in some stack):
 *   one row per innermost label of the stack (labels.h), "(no label)"
 *   for the stacks without one.
 * - Rows by WALL descending, then tid (threads) or text (labels).
 *   Milliseconds with one decimal (wall_format_ms), each rounded on its
 *   own, so a row's columns can miss its WALL by 0.1.  Names and reasons
 *   go through sb_append_terminal; the first column is as wide as its
 *   widest name (in characters).
 */
#ifndef PYSCOPE_WALL_REPORT_H
#define PYSCOPE_WALL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stacks.h"
#include "stream.h"

struct wall_reason_time {
    char *reason;            /* as written (still escaped) */
    uint64_t usec;
};

struct wall_row {
    char *name;              /* thread or label text (still escaped) */
    uint64_t order;          /* threads: the tid; labels: 0 */
    uint64_t wall;
    uint64_t on_cpu;
    uint64_t runnable;
    struct wall_reason_time *reasons;   /* the OFF-CPU column, sorted */
    size_t nreasons;
};

struct wall_table {
    struct wall_row *rows;   /* sorted */
    size_t nrows;
};

struct wall_report {
    struct wall_table threads;
    struct wall_table labels;
    bool has_labels;
};

/* Of a wall stream, after reading it. */
void wall_report_compute(const struct stream *st, struct wall_report *rep);

/* The thread table and, when the stream has labels, a blank line and the
   label table. */
void wall_report_print(const struct wall_report *rep, FILE *out);

void wall_report_free(struct wall_report *rep);

/* The line "pyscope: wall-clock: N on-CPU samples (X ms), off-CPU Y ms in
   Z stacks" of a wall stream, after stacks_build(sk, st): N the S
   records, X their weight, Y the W records' microseconds, Z the distinct
   stacks (of sk, leaf frame included) that hold off-CPU time. */
void wall_print_counts(const struct stream *st, const struct stacks *sk,
                       FILE *out);

#endif
