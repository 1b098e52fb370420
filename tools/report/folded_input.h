/* folded_input.h - reading folded stacks ("frame;frame;frame COUNT").
 *
 * The format flamegraph.pl's stackcollapse scripts, py-spy and
 * pyscope-report --folded write: one stack per line, root first, frames
 * joined by ';', a space and a decimal sample count at the end, no TAB.
 * Lines of the same stack add up.  Empty lines are skipped; any other
 * line that is not of that form makes the whole input an error.
 *
 * Each frame is read back as pyscope-report names them:
 * - "\x3b" (pyscope's escape of ';' in a name) becomes ';';
 * - the first frame "COMM (tid N)" is a thread root (left out with
 *   --no-threads);
 * - "[label TEXT]" is a label frame, any other "[...]" a marker;
 * - "NAME (FILE:LINE)" (pyscope's and py-spy's Python frames) and
 *   "NAME (FILE)" are Python frames: function NAME, file FILE, line LINE
 *   (split at the last " (": a file name that has one splits wrong,
 *   which only names the parts differently);
 * - anything else is a native frame (a function of its own name).
 */
#ifndef PYSCOPE_FOLDED_INPUT_H
#define PYSCOPE_FOLDED_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "stacks.h"
#include "strbuf.h"

struct folded_reader {
    struct stacks *sk;
    uint64_t lineno;        /* lines read so far */
    uint64_t bad_lineno;    /* the first bad line, 0 if none */
    struct strbuf name;     /* scratch */
    uint32_t *ids;
    size_t ids_cap;
};

void folded_reader_init(struct folded_reader *r, struct stacks *sk);
void folded_reader_free(struct folded_reader *r);

/* Add one line (without its newline; a trailing CR is ignored).  Returns
   false when it is not a folded stack (r->bad_lineno says which). */
bool folded_parse_line(struct folded_reader *r, const char *line,
                       size_t len);

/* Whether a line looks like a folded stack rather than a record of the
   raw stream (a record's second byte is a TAB). */
bool folded_line_looks_folded(const char *line, size_t len);

#endif
