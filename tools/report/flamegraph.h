/* flamegraph.h - a standalone interactive SVG flame graph.
 *
 * Same look as flamegraph.pl: root at the bottom, children sorted by
 * name, width proportional to samples.  Frames narrower than 0.1% of the
 * total are not drawn (their samples still count in their parent).  The
 * embedded script only reads names from the DOM (<title> text), so no
 * input ever ends up inside JavaScript source.
 */
#ifndef PYSCOPE_FLAMEGRAPH_H
#define PYSCOPE_FLAMEGRAPH_H

#include <stdint.h>
#include <stdio.h>

#include "stacks.h"

struct flame_options {
    const char *title;
    const char *mode;      /* shown in the subtitle */
    uint64_t min_count;    /* stacks with fewer samples are left out */
};

/* Returns 0, or -1 on a write error. */
int flamegraph_write(const struct stacks *sk, const struct flame_options *opt,
                     FILE *out);

#endif
