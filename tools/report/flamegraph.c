/* flamegraph.c - a standalone interactive SVG flame graph. */
#include "flamegraph.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "flame_assets.h"
#include "flame_paths.h"
#include "flame_tree.h"
#include "intern.h"
#include "strbuf.h"
#include "util.h"

/* The script in flame_assets.c repeats IMAGE_WIDTH, SIDE_PAD,
   FRAME_HEIGHT, CHAR_WIDTH, DOT_FILL and the "…" tooltip: keep them in
   step. */
#define IMAGE_WIDTH 1200
#define SIDE_PAD 10
#define TOP_PAD 76
#define BOTTOM_PAD 32
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
#define CHAR_WIDTH (FONT_SIZE * 0.59)
#define AVAIL_WIDTH (IMAGE_WIDTH - 2 * SIDE_PAD)
#define LEGEND_Y 56
#define DOT_FILL "rgb(238,238,238)"
#define DOT_TEXT "\xe2\x80\xa6"     /* U+2026 HORIZONTAL ELLIPSIS */

void
flame_options_init(struct flame_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->mode = "merged";
    opt->min_count = 1;
    opt->min_width = FLAME_MIN_WIDTH_PX / AVAIL_WIDTH;
    opt->unit = "samples";
}

bool
flame_parse_min_width(const char *s, double *fraction)
{
    char *end;
    double value;

    /* no sign, no space, no "inf" or "nan" */
    if ((s[0] < '0' || s[0] > '9') && s[0] != '.') {
        return false;
    }
    value = strtod(s, &end);
    if (end == s || !isfinite(value)) {
        return false;
    }
    if (strcmp(end, "%") == 0) {
        value /= 100.0;
    }
    else if (*end == '\0') {
        value /= AVAIL_WIDTH;
    }
    else {
        return false;
    }
    if (value > 1.0) {
        return false;
    }
    *fraction = value;
    return true;
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
   labels purple, thread roots and the "all" root pale blue; the legend
   shows the middle of each range. */
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

static long
row_y(long height, uint32_t depth)
{
    return height - BOTTOM_PAD - (long)(depth + 1) * FRAME_HEIGHT;
}

static double
percent(uint64_t part, uint64_t whole)
{
    return 100.0 * (double)part / (double)whole;
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* A kept frame: data-x, data-w (samples), data-d (depth), data-t (frames
   in its subtree), data-r (its children not kept: frames, frames with
   their subtrees, samples), data-s (the drawn name, when shortened). */
static void
write_frame(FILE *out, const struct flame_tree *t, const struct stacks *sk,
            const struct flame_options *opt, uint32_t index, long height)
{
    const struct flame_node *node = &t->nodes[index];
    uint64_t total = t->nodes[0].count;
    double scale = (double)AVAIL_WIDTH / (double)total;
    double x = SIDE_PAD + (double)node->view_x * scale;
    double width = (double)node->count * scale;
    long y = row_y(height, node->depth);
    enum frame_kind kind = FRAME_THREAD;
    const char *name = "all";
    size_t len = 3;
    char color[32];
    struct strbuf label = STRBUF_INIT;
    struct strbuf shown = STRBUF_INIT;
    bool shortened = false;

    if (node->frame != INTERN_NONE) {
        name = stacks_frame_name(sk, node->frame, &len);
        kind = sk->frames[node->frame].kind;
    }
    if (kind == FRAME_PYTHON) {
        shortened = flame_short_name(name, len, opt->cwd, &shown);
    }
    else {
        sb_append(&shown, name, len);
    }
    if (!node->shown) {
        x = SIDE_PAD;
        width = 0;
    }
    frame_color(kind, name, len, color, sizeof(color));
    append_label(&label, sb_str(&shown), shown.len, width);

    fprintf(out, "<g class=\"%s\"%s data-x=\"%" PRIu64 "\" data-w=\"%"
            PRIu64 "\" data-d=\"%" PRIu32 "\" data-t=\"%" PRIu32 "\"",
            node->shown ? "f" : "f hide", index == 0 ? " id=\"root\"" : "",
            node->x, node->count, node->depth, node->end - index);
    if (node->rest.frames > 0) {
        fprintf(out, " data-r=\"%" PRIu32 " %" PRIu32 " %" PRIu64 "\"",
                node->rest.frames, node->rest.subtree, node->rest.samples);
    }
    if (shortened) {
        fputs(" data-s=\"", out);
        write_xml(out, sb_str(&shown), shown.len);
        fputc('"', out);
    }
    fputs(">\n<title>", out);
    write_xml(out, name, len);
    fprintf(out, " (%" PRIu64 " %s, %.2f%%)</title>\n",
            node->count, opt->unit, percent(node->count, total));
    fprintf(out, "<rect x=\"%.2f\" y=\"%ld\" width=\"%.2f\" height=\"%d\""
            " fill=\"%s\" rx=\"2\" ry=\"2\"/>\n",
            x, y, width, FRAME_HEIGHT - 1, color);
    fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">%s</text>\n</g>\n",
            x + 3, (double)y + 11.5, sb_str(&label));
    sb_free(&label);
    sb_free(&shown);
}

/* The "…" above a shown frame, holding its children too narrow to draw
   in the full view; data-p is its parent's place among the kept frames
   (the script redraws these for every view). */
static void
write_dot(FILE *out, const struct flame_tree *t, uint32_t parent,
          long height, const char *unit)
{
    const struct flame_node *p = &t->nodes[parent];
    const struct flame_merge *m = &p->narrow;
    uint64_t total = t->nodes[0].count;
    double scale = (double)AVAIL_WIDTH / (double)total;
    double x = SIDE_PAD + (double)p->dot_x * scale;
    double width = (double)m->samples * scale;
    long y = row_y(height, p->depth + 1);

    fprintf(out, "<g class=\"f m\" data-p=\"%" PRIu32 "\" data-d=\"%" PRIu32
            "\" data-w=\"%" PRIu64 "\" data-n=\"%" PRIu32 "\" data-t=\"%"
            PRIu32 "\">\n<title>" DOT_TEXT " %" PRIu32 " %s merged",
            p->kept_index, p->depth + 1, m->samples, m->frames, m->subtree,
            m->frames, plural(m->frames, "frame", "frames"));
    if (m->subtree > m->frames) {
        fprintf(out, ", %" PRIu32 " with their callees", m->subtree);
    }
    fprintf(out, " (%" PRIu64 " %s, %.2f%%)</title>\n", m->samples, unit,
            percent(m->samples, total));
    fprintf(out, "<rect x=\"%.2f\" y=\"%ld\" width=\"%.2f\" height=\"%d\""
            " fill=\"" DOT_FILL "\" rx=\"2\" ry=\"2\"/>\n",
            x, y, width, FRAME_HEIGHT - 1);
    fprintf(out, "<text x=\"%.2f\" y=\"%.1f\">%s</text>\n</g>\n", x + 3,
            (double)y + 11.5, width - 3 >= CHAR_WIDTH ? DOT_TEXT : "");
}

struct legend_entry {
    const char *text;
    const char *color;
    bool present;
};

/* One swatch per kind of frame the graph holds, and the "…". */
static void
write_legend(FILE *out, const struct flame_tree *t, const struct stacks *sk)
{
    struct legend_entry entries[] = {
        {"Python", "rgb(190,217,70)", false},
        {"native (C)", "rgb(230,110,25)", false},
        {"frame label", "rgb(185,140,235)", false},
        {"marker", "rgb(190,190,190)", false},
        {"thread, all", "rgb(190,205,240)", true},
        {DOT_TEXT " merged narrow frames", DOT_FILL, true},
    };
    size_t n = sizeof(entries) / sizeof(entries[0]);
    double x = SIDE_PAD;

    for (size_t i = 1; i < t->nnodes; i++) {
        if (!t->nodes[i].kept) {
            continue;
        }
        switch (sk->frames[t->nodes[i].frame].kind) {
        case FRAME_PYTHON:
            entries[0].present = true;
            break;
        case FRAME_NATIVE:
            entries[1].present = true;
            break;
        case FRAME_LABEL:
            entries[2].present = true;
            break;
        case FRAME_MARKER:
            entries[3].present = true;
            break;
        default:
            break;
        }
    }
    fputs("<g id=\"legend\">\n", out);
    for (size_t i = 0; i < n; i++) {
        if (!entries[i].present) {
            continue;
        }
        fprintf(out, "<rect class=\"%s\" x=\"%.2f\" y=\"%d\" width=\"10\""
                " height=\"10\" fill=\"%s\"/><text x=\"%.2f\" y=\"%d\">%s"
                "</text>\n", i == n - 1 ? "swatch m" : "swatch", x,
                LEGEND_Y - 9, entries[i].color, x + 14, LEGEND_Y,
                entries[i].text);
        x += 14 + CHAR_WIDTH * (double)utf8_length(entries[i].text,
                                                   strlen(entries[i].text))
             + 16;
    }
    fputs("</g>\n", out);
}

static void
write_header(FILE *out, long height, const struct flame_options *opt,
             uint64_t samples, uint64_t shown)
{
    const char *title = opt->title ? opt->title : "";

    fprintf(out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" width=\"%d\" height=\"%ld\""
            " viewBox=\"0 0 %d %ld\" xmlns=\"http://www.w3.org/2000/svg\""
            " data-unit=\"%s\">\n",
            IMAGE_WIDTH, height, IMAGE_WIDTH, height, opt->unit);
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
            "%" PRIu64 " %s, mode ", IMAGE_WIDTH / 2, samples, opt->unit);
    write_xml(out, opt->mode, strlen(opt->mode));
    if (shown != samples) {
        fprintf(out, " (%" PRIu64 " shown with --min-count %" PRIu64 ")",
                shown, opt->min_count);
    }
}

/* The rest of the subtitle: how many frames the view merged (the script
   rewrites the tspan for each view, with data-what). */
static void
write_merged_note(FILE *out, const struct flame_tree *t,
                  const struct flame_options *opt)
{
    uint64_t merged = 0;
    char what[64];

    snprintf(what, sizeof(what), "narrower than %g px",
             opt->min_width * AVAIL_WIDTH);
    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->nodes[i].shown) {
            merged += t->nodes[i].narrow.subtree;
        }
    }
    fprintf(out, "<tspan id=\"merged\" data-what=\"%s\">", what);
    if (merged > 0) {
        fprintf(out, "; %" PRIu64 " %s %s merged into %zu " DOT_TEXT,
                merged, plural(merged, "frame", "frames"), what, t->ndots);
    }
    fputs("</tspan></text>\n", out);
}

static void
write_controls(FILE *out, long height)
{
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
    struct flame_tree t;

    flame_tree_build(&t, sk, opt->min_count);
    uint64_t shown = t.nodes[0].count;

    if (shown == 0) {
        long height = TOP_PAD + 3 * FRAME_HEIGHT + BOTTOM_PAD;
        write_header(out, height, opt, sk->total, shown);
        fputs("</text>\n", out);
        write_controls(out, height);
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                "no samples</text>\n", IMAGE_WIDTH / 2,
                TOP_PAD + 2 * FRAME_HEIGHT);
        fputs("</svg>\n", out);
        flame_tree_free(&t);
        return ferror(out) ? -1 : 0;
    }

    flame_tree_select(&t, opt->min_width, FLAME_MAX_FRAMES);
    long height = TOP_PAD + (long)(t.max_depth + 1) * FRAME_HEIGHT
                  + BOTTOM_PAD;

    write_header(out, height, opt, sk->total, shown);
    write_merged_note(out, &t, opt);
    write_legend(out, &t, sk);
    write_controls(out, height);
    fprintf(out, "<g id=\"frames\" data-minwidth=\"%.17g\">\n",
            opt->min_width);
    for (size_t i = 0; i < t.nnodes; i++) {
        if (t.nodes[i].kept) {
            write_frame(out, &t, sk, opt, (uint32_t)i, height);
        }
    }
    for (size_t i = 0; i < t.nnodes; i++) {
        if (t.nodes[i].shown && t.nodes[i].narrow.frames > 0) {
            write_dot(out, &t, (uint32_t)i, height, opt->unit);
        }
    }
    fputs("</g>\n", out);
    fputs(FLAME_SCRIPT, out);
    fputs("</svg>\n", out);
    flame_tree_free(&t);
    return ferror(out) ? -1 : 0;
}
