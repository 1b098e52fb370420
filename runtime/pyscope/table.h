/*
 * table.h - painting frames in the label table (pyscope_labels.h).
 *
 * Every function here except pyscope_table_find() must be called with the
 * GIL held: holding it is what makes the caller the table's only writer.
 */
#ifndef PYSCOPE_TABLE_H
#define PYSCOPE_TABLE_H

#include <Python.h>
#include <stdint.h>

#include "frames.h"
#include "pyscope_labels.h"

/* What a slot says about its frame, prepared before it is written (and
   kept by `with pyscope.label()` to restore an outer label). */
struct pyscope_label_data {
    uint32_t len;                       /* bytes of text */
    uint32_t flags;                     /* PYSCOPE_FLAG_* */
    char where[PYSCOPE_WHERE_SIZE];     /* NUL-terminated */
    char text[PYSCOPE_TEXT_SIZE];       /* NUL-terminated */
};

/* Fill in the table's header; called once, when the module is imported. */
void pyscope_table_init(void);
void pyscope_table_published(struct pyscope_table *table);

/* The slot painted with frame_obj, or -1.  Reads memory only, so the crash
   handler may call it too. */
int pyscope_table_find(const void *frame_obj);

/* Paint frame f with d, replacing its label if it has one, else taking a
   free slot (or a dead one) near its home.  Returns 1 if f was painted
   already (its previous label is then copied to *previous, unless that is
   NULL), 0 if it was not, or -1 when no slot was free: the paint is then
   dropped and counted as overflow.  count_paint is 0 when putting back a
   saved label: not a new paint, not counted. */
int pyscope_table_paint(PyFrameObject *f, const struct pyscope_label_data *d,
                        int count_paint, struct pyscope_label_data *previous);

/* Copy slot idx's label into d. */
void pyscope_table_read(int idx, struct pyscope_label_data *d);

/* Free slot idx and drop its frame reference, which may run arbitrary code
   (the finished frame's locals can die with it): do it last. */
void pyscope_table_free(int idx);

/* Free up to `n` slots' worth of dead paints, resuming where the previous
   sweep stopped.  May run arbitrary code, like pyscope_table_free(). */
void pyscope_table_sweep(unsigned int n);

/* After fork(), in the child: drop the paints of threads that do not exist
   there, and give the forking thread's paints their new thread id. */
void pyscope_table_after_fork(uint64_t parent_tid, uint64_t child_tid);

/* Slots in use (dead ones not yet swept included). */
Py_ssize_t pyscope_table_used(void);

#endif /* PYSCOPE_TABLE_H */
