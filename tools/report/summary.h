/* summary.h - the top-N table of functions by self samples. */
#ifndef PYSCOPE_SUMMARY_H
#define PYSCOPE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stacks.h"

struct func_stat {
    uint32_t func;
    uint64_t self;       /* samples where it is the innermost function */
    uint64_t total;      /* samples where it appears at all (once each) */
    int64_t hot_line;    /* line with most self samples (none: with most
                            samples through it), or -1 */
};

struct summary {
    struct func_stat *rows;   /* sorted: self, then total, descending */
    size_t nrows;
    uint64_t samples;
};

/* Thread roots, markers and labels are not functions and are left out; a
   sample's self time goes to its innermost function frame. */
void summary_compute(const struct stacks *sk, struct summary *sum);

/* Header and at most top rows.  Stacks of microseconds (sk->usec, a
   wall stream) show milliseconds with one decimal under "MS" where
   others show samples under "SAMPLES". */
void summary_print(const struct summary *sum, const struct stacks *sk,
                   size_t top, FILE *out);

void summary_free(struct summary *sum);

#endif
