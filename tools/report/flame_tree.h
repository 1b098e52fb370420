/* flame_tree.h - the tree of frames behind the SVG flame graph, and which
 * of its frames the SVG keeps and draws.
 *
 * How narrow frames are merged (and why the SVG stays bounded):
 *
 * A view is one frame zoomed to the full width (the root at first).  In
 * a view, a frame narrower than min_fraction of the width is not drawn:
 * it and its siblings that are too narrow are merged into one "…" frame
 * placed after their wide siblings, whose tooltip says how many frames
 * (and frames below them) and samples it holds.  Nothing is dropped: the
 * widths of a frame's drawn children and its "…" add up to theirs.
 *
 * So that zooming in shows what the full view merged, the SVG keeps more
 * frames than the full view draws, and the script redoes the merge for
 * each view.  A frame is kept when
 *   - its parent is kept, and it is at least min_fraction of its parent
 *     (a frame below that is narrow in every view, even with its parent
 *     zoomed to the full width), and
 *   - it is among the max_frames - 1 widest such frames (ties at the
 *     cut all left out).
 * So the SVG holds at most max_frames frames and at most one "…" per
 * frame: with FLAME_MAX_FRAMES, at most 40,000 frame elements, about
 * 350 bytes each plus the frame's name, whatever the input.  A frame
 * that is not kept is counted in its parent's "rest" and shows inside a
 * "…" in every view.
 */
#ifndef PYSCOPE_FLAME_TREE_H
#define PYSCOPE_FLAME_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks.h"

#define FLAME_MAX_FRAMES 20000

/* Children of one frame merged into a "…". */
struct flame_merge {
    uint32_t frames;    /* the children merged */
    uint32_t subtree;   /* those and every frame below them */
    uint64_t samples;
};

struct flame_node {
    uint32_t frame;     /* INTERN_NONE for the root */
    uint32_t depth;     /* 0 for the root */
    uint32_t parent;    /* 0 for the root */
    uint32_t end;       /* index past its subtree (nodes are in pre-order) */
    uint64_t count;
    uint64_t x;         /* samples left of it, all children by name */
    bool kept;          /* written to the SVG */
    bool shown;         /* drawn in the full view */
    uint32_t kept_index;        /* kept: its place among the kept nodes */
    uint64_t view_x;            /* shown: samples left of it in the full
                                   view, where drawn children come first */
    uint64_t dot_x;             /* shown: where its "…" starts */
    struct flame_merge rest;    /* kept: its children that are not kept */
    struct flame_merge narrow;  /* shown: its children not shown */
};

struct flame_tree {
    struct flame_node *nodes;   /* nodes[0] is the root; pre-order,
                                   children sorted by name */
    size_t nnodes;
    size_t cap;
    size_t nkept;
    size_t nshown;
    size_t ndots;               /* "…" frames in the full view */
    uint32_t max_depth;         /* deepest row the SVG can draw */
};

/* Build the tree of the stacks with at least min_count samples. */
void flame_tree_build(struct flame_tree *t, const struct stacks *sk,
                      uint64_t min_count);

/* Choose the kept and shown nodes and lay out the full view (see
   above); min_fraction in [0, 1]. */
void flame_tree_select(struct flame_tree *t, double min_fraction,
                       size_t max_frames);

void flame_tree_free(struct flame_tree *t);

#endif
