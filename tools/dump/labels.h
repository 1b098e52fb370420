/* labels.h - frame labels painted by pyscope's runtime (runtime/pyscope),
   read from another process: the table `pyscope_labels` the extension
   exports, each slot under its seqlock, the rules of
   runtime/pyscope/pyscope_labels.h (the contract) and tapsets/labels.stp
   (the same lookup from a probe).  The layout is the header's own struct,
   compiled in: it is a contract with readers, versioned
   (PYSCOPE_TABLE_VERSION), and checked on the table found. */
#ifndef PYSCOPE_DUMP_LABELS_H
#define PYSCOPE_DUMP_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "mem.h"
#include "pyscope_shared.h"    /* PYSCOPE_TEXT_SIZE */

/* The table of process pid (which mapped the extension), or 0: it never
   imported pyscope (or another version of the table). */
uint64_t labels_table(const Target *t);

/* The label of the frame at frame (a _PyInterpreterFrame, or before 3.11
   a PyFrameObject) into out: its length, 0 when the frame has none. */
size_t labels_of_frame(const DumpLayout *L, const Target *t, uint64_t table,
                       uint64_t frame, char *out, size_t out_size);

#endif
