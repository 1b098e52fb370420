/* leak.h - surviving allocations over time, from leak-watch.stp's stream.
 *
 * The stream (scripts/leak-watch.stp) names each allocation stack once
 * (K sid tokens), then at every snapshot gives the stacks whose surviving
 * bytes and blocks changed (A t sid bytes blocks) and closes the snapshot
 * (E t live dropped dropped_bytes missed_frees).  Dictionary records
 * (N C L B) and counters (X) are the CPU stream's (stream.h).
 *
 * Stacks are put in groups (by whole stack, innermost Python line, file,
 * or label) as they arrive, so the report can follow a running stream
 * snapshot by snapshot.
 */
#ifndef PYSCOPE_LEAK_H
#define PYSCOPE_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "intern.h"
#include "stacks.h"
#include "stream.h"

enum group_by {
    GROUP_STACK,
    GROUP_LINE,
    GROUP_FILE,
    GROUP_LABEL
};

bool group_by_parse(const char *s, enum group_by *by);
const char *group_by_name(enum group_by by);

struct leak_stack {             /* one K record, by sid */
    bool known;
    uint32_t group;             /* INTERN_NONE: filtered out */
    uint32_t stack;             /* index in leak.sk */
    int64_t bytes;
    int64_t blocks;
};

struct leak_group {
    char *title;                /* raw text (escape it on output) */
    uint32_t rep_sid;           /* its biggest stack, for the report */
    int64_t bytes;              /* now */
    int64_t blocks;
    int64_t *series;            /* bytes at each snapshot */
    int64_t *series_blocks;
    size_t series_len;
    size_t series_cap;
};

struct leak {
    enum group_by by;
    const char **includes;      /* fnmatch globs */
    size_t nincludes;
    const char **excludes;
    size_t nexcludes;

    struct stream st;
    struct stacks sk;           /* merged mode, stacks numbered as seen */

    struct leak_stack *stacks;  /* by sid */
    size_t stacks_cap;

    struct intern group_keys;
    struct leak_group *groups;
    size_t groups_cap;

    int64_t *snap_ms;           /* time of each snapshot */
    int64_t *snap_total;        /* bytes of every kept group */
    int64_t *snap_total_blocks;
    size_t nsnap;
    size_t snap_cap;

    int64_t live_blocks;        /* from the last E record */
    int64_t peak_live_blocks;   /* the most any E record gave */
    int64_t dropped;
    int64_t dropped_bytes;
    int64_t missed_frees;

    char *mode;                 /* I records */
    char *domains;
    int64_t interval_ms;
    int64_t min_age_intervals;

    struct intern runtime_pcs;  /* addresses in pyscope's own sampler */

    uint32_t *ids;              /* scratch */
    size_t ids_cap;
};

void leak_init(struct leak *lk, enum group_by by);
void leak_free(struct leak *lk);

/* Feed one line (without its newline).  Returns true when it closed a
   snapshot (an E record). */
bool leak_parse_line(struct leak *lk, const char *line, size_t len);

/* Bytes a group grew by since the first snapshot. */
int64_t leak_growth(const struct leak *lk, uint32_t group);

/* Group indices sorted by growth (by_growth) or by bytes now, largest
   first, ties by title; *n gets how many.  Free the result. */
uint32_t *leak_ranked(const struct leak *lk, bool by_growth, size_t *n);

/* One progress line (and up to three growers) after a snapshot. */
void leak_write_progress(const struct leak *lk, FILE *out);

/* The text report: top groups by growth and by surviving bytes, with the
   merged stack of each.  Returns 0, or -1 on a write error. */
int leak_write_report(const struct leak *lk, size_t top, FILE *out);

/* CSV time series (time_s,rank,group,bytes,blocks) of the top groups by
   growth, rank 0 being every tracked allocation. */
int leak_write_csv(const struct leak *lk, size_t top, FILE *out);

/* Whitespace-separated columns for gnuplot: a header line of quoted
   titles, then time and bytes of the top groups per snapshot. */
int leak_write_plot_data(const struct leak *lk, size_t top, FILE *out);

/* Folded stacks (root first, ';'-joined) weighted by surviving bytes. */
int leak_write_folded(const struct leak *lk, FILE *out);

#endif
