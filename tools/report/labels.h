/* labels.h - frame labels ("scope painting") and the per-label report.
 *
 * A sample token l<id> is the label painted on the Python frame whose p
 * token comes right before it (tokens are leaf first); an l token after
 * anything else is ignored.  B records give the ids their text, which is
 * shown as the producer wrote it (still escaped); an id without a B
 * record reads as "?<id>".
 *
 * --labels split turns each label into a frame of its own (see
 * stacks.c); --labels join leaves the stacks alone and adds the report
 * below: every sample belongs to the label of its innermost labelled
 * frame, or to "(no label)".  Samples count by their weight (wall.h): in
 * a wall stream microseconds, which the table shows as milliseconds
 * with one decimal under "MS" and the CSV as microseconds under "usec".
 */
#ifndef PYSCOPE_LABELS_H
#define PYSCOPE_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "intern.h"
#include "strbuf.h"
#include "stream.h"

enum label_mode {
    LABELS_OFF,     /* l tokens are ignored */
    LABELS_SPLIT,   /* a "[label TEXT]" parent frame per labelled frame */
    LABELS_JOIN     /* stacks as with off, plus the per-label report */
};

#define NO_LABEL "(no label)"

bool label_mode_parse(const char *s, enum label_mode *mode);

/* Append the text of label id: its B record's text, or "?<id>". */
void label_text(const struct stream *st, uint64_t id, struct strbuf *out);

/* The id of the innermost labelled frame among the tokens [pos, end);
   false when no frame is labelled. */
bool innermost_label(const char *pos, const char *end, uint64_t *id);

struct label_row {
    uint32_t label;     /* index in label_report.names */
    uint64_t samples;   /* their weight: samples, or microseconds */
    size_t procs;       /* distinct pids */
};

struct label_pid_row {
    uint32_t label;
    uint64_t pid;       /* from the T record; the tid when it has none */
    uint64_t samples;
};

struct label_report {
    struct intern names;         /* key: '0' NO_LABEL, or '1' + text */
    struct label_row *rows;      /* samples descending, then text */
    size_t nrows;
    struct label_pid_row *pids;  /* in the order of rows, then pid */
    size_t npids;
    uint64_t samples;
    bool usec;                   /* weights are microseconds (wall.h) */
};

void label_report_compute(const struct stream *st, struct label_report *rep);

/* The table for stdout: a header and one row per label. */
void label_report_print(const struct label_report *rep, FILE *out);

/* CSV label,pid,samples,percent (label,pid,usec,percent in a wall
   stream) with one row per (label, pid); returns 0, or -1 on a write
   error. */
int label_report_write_csv(const struct label_report *rep, FILE *out);

void label_report_free(struct label_report *rep);

#endif
