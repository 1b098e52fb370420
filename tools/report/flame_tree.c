/* flame_tree.c - the tree of frames behind the SVG flame graph. */
#include "flame_tree.h"

#include <stdlib.h>
#include <string.h>

#include "intern.h"
#include "util.h"

/* Used by compare_stacks, which qsort gives no context argument. */
static const struct stacks *sort_stacks;

/* Order stacks frame by frame by name (then frame id, for frames of
   different kinds that print the same), a shorter stack before the
   longer ones it is a prefix of. */
static int
compare_stacks(const void *a, const void *b)
{
    size_t na, nb;
    const uint32_t *x = stacks_frames(sort_stacks, *(const size_t *)a, &na);
    const uint32_t *y = stacks_frames(sort_stacks, *(const size_t *)b, &nb);

    for (size_t i = 0; i < na && i < nb; i++) {
        if (x[i] == y[i]) {
            continue;
        }
        int c = strcmp(stacks_frame_name(sort_stacks, x[i], NULL),
                       stacks_frame_name(sort_stacks, y[i], NULL));
        if (c != 0) {
            return c;
        }
        return x[i] < y[i] ? -1 : 1;
    }
    return (na > nb) - (na < nb);
}

static uint32_t
new_node(struct flame_tree *t, uint32_t frame, uint32_t depth,
         uint32_t parent, uint64_t x)
{
    t->nodes = xgrow(t->nodes, &t->cap, t->nnodes + 1,
                     sizeof(struct flame_node));
    struct flame_node *n = &t->nodes[t->nnodes];
    memset(n, 0, sizeof(*n));
    n->frame = frame;
    n->depth = depth;
    n->parent = parent;
    n->x = x;
    return (uint32_t)t->nnodes++;
}

/* Build the tree the way flamegraph.pl does: with the stacks sorted, the
   stacks under any node are adjacent, so each stack shares the nodes of
   its common prefix with the previous one and starts new nodes after it,
   placed at the running sample offset.  Children end up sorted by name,
   left to right, and the nodes in pre-order. */
void
flame_tree_build(struct flame_tree *t, const struct stacks *sk,
                 uint64_t min_count)
{
    size_t n = 0;
    size_t *order = xcalloc(stacks_count(sk) + 1, sizeof(size_t));
    uint32_t *path = NULL;       /* node of each depth of the last stack */
    size_t path_cap = 0;
    const uint32_t *prev = NULL;
    size_t prev_depth = 0;
    uint64_t offset = 0;

    memset(t, 0, sizeof(*t));
    new_node(t, INTERN_NONE, 0, 0, 0);

    for (size_t s = 0; s < stacks_count(sk); s++) {
        if (sk->counts[s] >= min_count) {
            order[n++] = s;
        }
    }
    sort_stacks = sk;
    qsort(order, n, sizeof(size_t), compare_stacks);
    sort_stacks = NULL;

    for (size_t i = 0; i < n; i++) {
        size_t depth;
        const uint32_t *ids = stacks_frames(sk, order[i], &depth);
        uint64_t count = sk->counts[order[i]];
        size_t common = 0;

        while (common < depth && common < prev_depth
                && ids[common] == prev[common]) {
            common++;
        }
        path = xgrow(path, &path_cap, depth, sizeof(uint32_t));
        for (size_t d = common; d < depth; d++) {
            uint32_t parent = d == 0 ? 0 : path[d - 1];
            path[d] = new_node(t, ids[d], (uint32_t)(d + 1), parent, offset);
        }
        t->nodes[0].count += count;
        for (size_t d = 0; d < depth; d++) {
            t->nodes[path[d]].count += count;
        }
        offset += count;
        prev = ids;
        prev_depth = depth;
    }
    free(order);
    free(path);

    /* A subtree is the run of nodes from its root to its end. */
    for (size_t i = 0; i < t->nnodes; i++) {
        t->nodes[i].end = (uint32_t)(i + 1);
    }
    for (size_t i = t->nnodes; i-- > 1;) {
        struct flame_node *p = &t->nodes[t->nodes[i].parent];
        if (t->nodes[i].end > p->end) {
            p->end = t->nodes[i].end;
        }
    }
}

static void
merge_add(struct flame_merge *m, const struct flame_node *child,
          size_t index)
{
    m->frames++;
    m->subtree += child->end - (uint32_t)index;
    m->samples += child->count;
}

static int
compare_counts_down(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* The smallest count a node needs to be kept: the count of the widest
   `limit` candidates, raised past ties at the cut. */
static uint64_t
keep_threshold(const struct flame_tree *t, const bool *candidate,
               size_t limit)
{
    uint64_t *counts = xcalloc(t->nnodes, sizeof(uint64_t));
    size_t n = 0;
    uint64_t threshold = 0;

    for (size_t i = 1; i < t->nnodes; i++) {
        if (candidate[i]) {
            counts[n++] = t->nodes[i].count;
        }
    }
    if (n > limit) {
        qsort(counts, n, sizeof(uint64_t), compare_counts_down);
        if (limit == 0) {
            threshold = UINT64_MAX;
        }
        else {
            threshold = counts[limit - 1];
            if (counts[limit] == threshold) {
                threshold++;
            }
        }
    }
    free(counts);
    return threshold;
}

static bool
wide_enough(uint64_t count, double min_fraction, uint64_t whole)
{
    return (double)count >= min_fraction * (double)whole;
}

void
flame_tree_select(struct flame_tree *t, double min_fraction,
                  size_t max_frames)
{
    struct flame_node *nodes = t->nodes;
    bool *candidate = xcalloc(t->nnodes, sizeof(bool));
    uint64_t *cursor = xcalloc(t->nnodes, sizeof(uint64_t));
    uint64_t total = nodes[0].count;

    candidate[0] = true;
    for (size_t i = 1; i < t->nnodes; i++) {
        const struct flame_node *p = &nodes[nodes[i].parent];
        candidate[i] = candidate[nodes[i].parent]
                       && wide_enough(nodes[i].count, min_fraction, p->count);
    }
    uint64_t threshold = keep_threshold(t, candidate,
                                        max_frames > 0 ? max_frames - 1 : 0);

    t->nkept = t->nshown = t->ndots = 0;
    t->max_depth = 0;
    for (size_t i = 0; i < t->nnodes; i++) {
        struct flame_node *n = &nodes[i];
        struct flame_node *p = &nodes[n->parent];

        n->kept = i == 0 || (candidate[i] && n->count >= threshold);
        n->shown = i == 0;
        memset(&n->rest, 0, sizeof(n->rest));
        memset(&n->narrow, 0, sizeof(n->narrow));
        if (n->kept) {
            n->kept_index = (uint32_t)t->nkept++;
            /* its own row, and one above for children or a "…" */
            uint32_t top = n->depth + (n->end > i + 1 ? 1 : 0);
            if (top > t->max_depth) {
                t->max_depth = top;
            }
        }
        if (i == 0) {
            n->view_x = 0;
            cursor[0] = 0;
            t->nshown++;
            continue;
        }
        if (p->kept && !n->kept) {
            merge_add(&p->rest, n, i);
        }
        if (!p->shown) {
            continue;
        }
        if (n->kept && wide_enough(n->count, min_fraction, total)) {
            n->shown = true;
            n->view_x = cursor[n->parent];
            cursor[n->parent] += n->count;
            cursor[i] = n->view_x;
            t->nshown++;
        }
        else {
            merge_add(&p->narrow, n, i);
        }
    }
    for (size_t i = 0; i < t->nnodes; i++) {
        if (nodes[i].shown) {
            nodes[i].dot_x = cursor[i];
            if (nodes[i].narrow.frames > 0) {
                t->ndots++;
            }
        }
    }
    free(candidate);
    free(cursor);
}

void
flame_tree_free(struct flame_tree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof(*t));
}
