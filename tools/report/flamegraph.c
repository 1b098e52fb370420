/* flamegraph.c - a standalone interactive SVG flame graph. */
#include "flamegraph.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "flame_assets.h"
#include "intern.h"
#include "strbuf.h"
#include "util.h"

/* The script in flame_assets.c repeats IMAGE_WIDTH, SIDE_PAD and
   CHAR_WIDTH: keep them in step. */
#define IMAGE_WIDTH 1200
#define SIDE_PAD 10
#define TOP_PAD 64
#define BOTTOM_PAD 32
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define CHAR_WIDTH (FONT_SIZE * 0.59)
#define MIN_FRACTION 0.001

/* ---- the tree of frames ---- */

struct node {
    uint32_t frame;     /* INTERN_NONE for the root */
    uint32_t depth;     /* 0 for the root */
    uint64_t count;
    uint64_t x;         /* samples left of this node */
};

struct tree {
    struct node *nodes;     /* nodes[0] is the root */
    size_t nnodes;
    size_t cap;
};

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
new_node(struct tree *t, uint32_t frame, uint32_t depth, uint64_t x)
{
    t->nodes = xgrow(t->nodes, &t->cap, t->nnodes + 1, sizeof(struct node));
    struct node *n = &t->nodes[t->nnodes];
    n->frame = frame;
    n->depth = depth;
    n->count = 0;
    n->x = x;
    return (uint32_t)t->nnodes++;
}

/* Build the tree the way flamegraph.pl does: with the stacks sorted, the
   stacks under any node are adjacent, so each stack shares the nodes of
   its common prefix with the previous one and starts new nodes after it,
   placed at the running sample offset.  Children end up sorted by name,
   left to right. */
static void
tree_build(struct tree *t, const struct stacks *sk, uint64_t min_count)
{
    size_t n = 0;
    size_t *order = xcalloc(stacks_count(sk), sizeof(size_t));
    uint32_t *path = NULL;       /* node of each depth of the last stack */
    size_t path_cap = 0;
    const uint32_t *prev = NULL;
    size_t prev_depth = 0;
    uint64_t offset = 0;

    memset(t, 0, sizeof(*t));
    new_node(t, INTERN_NONE, 0, 0);

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
            path[d] = new_node(t, ids[d], (uint32_t)(d + 1), offset);
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
}

static void
tree_free(struct tree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof(*t));
}

/* ---- SVG pieces ---- */

static void
write_xml(FILE *out, const char *s, size_t len)
{
    struct strbuf sb = STRBUF_INIT;
    sb_append_xml(&sb, s, len);
    fwrite(sb_str(&sb), 1, sb.len, out);
    sb_free(&sb);
}

/* A value in [0, 1) from 16 bits of the hash. */
static double
hash_part(uint64_t hash, int which)
{
    return (double)((hash >> (16 * which)) & 0xffff) / 65536.0;
}

/* Python frames yellow/green, native frames orange/red, markers gray,
   labels purple, thread roots and the "all" root pale blue. */
static void
frame_color(enum frame_kind kind, const char *name, size_t len,
            char *buf, size_t size)
{
    uint64_t h = hash_bytes(name, len);
    double v1 = hash_part(h, 0);
    double v2 = hash_part(h, 1);
    double v3 = hash_part(h, 2);
    int r, g, b;

    switch (kind) {
    case FRAME_PYTHON:
        r = 150 + (int)(80 * v1);
        g = 195 + (int)(45 * v2);
        b = 40 + (int)(60 * v3);
        break;
    case FRAME_NATIVE:
        r = 205 + (int)(50 * v1);
        g = 50 + (int)(120 * v2);
        b = (int)(50 * v3);
        break;
    case FRAME_MARKER:
        r = g = b = 170 + (int)(40 * v1);
        break;
    case FRAME_LABEL:
        r = 160 + (int)(50 * v1);
        g = 120 + (int)(40 * v2);
        b = 215 + (int)(40 * v3);
        break;
    default:
        r = 180 + (int)(20 * v1);
        g = 195 + (int)(20 * v1);
        b = 230 + (int)(20 * v2);
        break;
    }
    snprintf(buf, size, "rgb(%d,%d,%d)", r, g, b);
}

/* The visible text of a frame: as many characters as fit, cut with "..",
   nothing at all if fewer than three fit. */
static void
append_label(struct strbuf *out, const char *name, size_t len, double width)
{
    struct strbuf clean = STRBUF_INIT;
    double room = (width - 3) / CHAR_WIDTH;
    size_t fit = room > 0 ? (size_t)room : 0;

    sb_append_utf8(&clean, name, len);
    if (fit >= 3) {
        size_t chars = utf8_length(sb_str(&clean), clean.len);
        if (chars <= fit) {
            sb_append_xml(out, sb_str(&clean), clean.len);
        }
        else {
            size_t cut = utf8_offset(sb_str(&clean), clean.len, fit - 2);
            sb_append_xml(out, sb_str(&clean), cut);
            sb_append_str(out, "..");
        }
    }
    sb_free(&clean);
}

static void
write_frame(FILE *out, const struct tree *t, const struct stacks *sk,
            uint32_t index, long height)
{
    const struct node *node = &t->nodes[index];
    uint64_t total = t->nodes[0].count;
    double scale = (double)(IMAGE_WIDTH - 2 * SIDE_PAD) / (double)total;
    double x = SIDE_PAD + (double)node->x * scale;
    double width = (double)node->count * scale;
    long y = height - BOTTOM_PAD - (long)(node->depth + 1) * FRAME_HEIGHT;
    enum frame_kind kind = FRAME_THREAD;
    const char *name = "all";
    size_t len = 3;
    char color[32];
    struct strbuf label = STRBUF_INIT;

    if (node->frame != INTERN_NONE) {
        name = stacks_frame_name(sk, node->frame, &len);
        kind = sk->frames[node->frame].kind;
    }
    frame_color(kind, name, len, color, sizeof(color));
    append_label(&label, name, len, width);

    fprintf(out, "<g class=\"f\"%s data-x=\"%" PRIu64 "\" data-w=\"%"
            PRIu64 "\" data-d=\"%" PRIu32 "\">\n<title>",
            index == 0 ? " id=\"root\"" : "", node->x, node->count,
            node->depth);
    write_xml(out, name, len);
    fprintf(out, " (%" PRIu64 " samples, %.2f%%)</title>\n",
            node->count, 100.0 * (double)node->count / (double)total);
    fprintf(out, "<rect x=\"%.2f\" y=\"%ld\" width=\"%.2f\" height=\"%d\""
            " fill=\"%s\" rx=\"2\" ry=\"2\"/>\n",
            x, y, width, FRAME_HEIGHT - 1, color);
    fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">%s</text>\n</g>\n",
            x + 3, (double)y + 11.5, sb_str(&label));
    sb_free(&label);
}

static bool
is_drawn(const struct node *node, uint64_t total)
{
    return (double)node->count >= MIN_FRACTION * (double)total;
}

static void
write_header(FILE *out, long height, const struct flame_options *opt,
             uint64_t samples, uint64_t shown)
{
    const char *title = opt->title ? opt->title : "";

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" width=\"%d\" height=\"%ld\""
            " viewBox=\"0 0 %d %ld\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            IMAGE_WIDTH, height, IMAGE_WIDTH, height);
    fputs(FLAME_STYLE, out);
    fputs("<defs><linearGradient id=\"background\" x1=\"0\" y1=\"0\""
          " x2=\"0\" y2=\"1\"><stop stop-color=\"#eeeeee\" offset=\"5%\"/>"
          "<stop stop-color=\"#eeeeb0\" offset=\"95%\"/></linearGradient>"
          "</defs>\n", out);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%ld\""
            " fill=\"url(#background)\"/>\n", IMAGE_WIDTH, height);
    fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">",
            IMAGE_WIDTH / 2);
    write_xml(out, title, strlen(title));
    fprintf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"44\">"
            "%" PRIu64 " samples, mode ", IMAGE_WIDTH / 2, samples);
    write_xml(out, opt->mode, strlen(opt->mode));
    if (shown != samples) {
        fprintf(out, " (%" PRIu64 " shown with --min-count %" PRIu64 ")",
                shown, opt->min_count);
    }
    fputs("</text>\n", out);
    fprintf(out, "<text id=\"unzoom\" class=\"button hide\" x=\"%d\""
            " y=\"24\">Reset Zoom</text>\n", SIDE_PAD);
    fprintf(out, "<text id=\"search\" class=\"button\" x=\"%d\" y=\"24\">"
            "Search</text>\n", IMAGE_WIDTH - SIDE_PAD);
    fprintf(out, "<text id=\"details\" x=\"%d\" y=\"%ld\"> </text>\n",
            SIDE_PAD, height - 12);
    fprintf(out, "<text id=\"matched\" x=\"%d\" y=\"%ld\"> </text>\n",
            IMAGE_WIDTH - SIDE_PAD, height - 12);
}

int
flamegraph_write(const struct stacks *sk, const struct flame_options *opt,
                 FILE *out)
{
    struct tree t;

    tree_build(&t, sk, opt->min_count);
    uint64_t shown = t.nodes[0].count;

    if (shown == 0) {
        long height = TOP_PAD + 3 * FRAME_HEIGHT + BOTTOM_PAD;
        write_header(out, height, opt, sk->total, shown);
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                "no samples</text>\n", IMAGE_WIDTH / 2,
                TOP_PAD + 2 * FRAME_HEIGHT);
        fputs("</svg>\n", out);
        tree_free(&t);
        return ferror(out) ? -1 : 0;
    }

    uint32_t max_depth = 0;
    for (size_t i = 0; i < t.nnodes; i++) {
        if (is_drawn(&t.nodes[i], shown) && t.nodes[i].depth > max_depth) {
            max_depth = t.nodes[i].depth;
        }
    }
    long height = TOP_PAD + (long)(max_depth + 1) * FRAME_HEIGHT
                  + BOTTOM_PAD;

    write_header(out, height, opt, sk->total, shown);
    fputs("<g id=\"frames\">\n", out);
    for (size_t i = 0; i < t.nnodes; i++) {
        if (is_drawn(&t.nodes[i], shown)) {
            write_frame(out, &t, sk, (uint32_t)i, height);
        }
    }
    fputs("</g>\n", out);
    fputs(FLAME_SCRIPT, out);
    fputs("</svg>\n", out);
    tree_free(&t);
    return ferror(out) ? -1 : 0;
}
