/* flamegraph.h - a standalone interactive SVG flame graph.
 *
 * Same look as flamegraph.pl: root at the bottom, width proportional to
 * samples, children sorted by name, except that children too narrow to
 * draw (narrower than min_width of the view) are merged into one "…"
 * frame after their wide siblings, and zooming in redoes that merge for
 * the zoomed frame (flame_tree.h says which frames the SVG keeps for
 * that, and its bound).  Python file paths are drawn shortened
 * (flame_paths.h), the tooltip keeps them whole; a legend names the
 * colours.  The embedded script only reads names from the DOM (<title>
 * text and data-s attributes), so no input ever ends up inside
 * JavaScript source.
 */
#ifndef PYSCOPE_FLAMEGRAPH_H
#define PYSCOPE_FLAMEGRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stacks.h"

/* The default --minwidth, in pixels of the 1200-pixel-wide image. */
#define FLAME_MIN_WIDTH_PX 1.0

struct flame_options {
    const char *title;
    const char *mode;      /* shown in the subtitle */
    uint64_t min_count;    /* stacks with fewer samples are left out */
    double min_width;      /* fraction of the view's width */
    const char *cwd;       /* paths under it are drawn as ./PATH; NULL */
    const char *unit;      /* what a stack's count is: "samples", or "us"
                              (a wall-clock stream's microseconds) */
};

/* title NULL, mode "merged", min_count 1, min_width FLAME_MIN_WIDTH_PX,
   cwd NULL, unit "samples". */
void flame_options_init(struct flame_options *opt);

/* "N" (pixels of the image, flamegraph.pl's unit) or "N%" (of the view's
   width) into a fraction of the width, in [0, 1].  False when s is not
   such a number. */
bool flame_parse_min_width(const char *s, double *fraction);

/* Returns 0, or -1 on a write error. */
int flamegraph_write(const struct stacks *sk, const struct flame_options *opt,
                     FILE *out);

#endif
