/*
 * pyscope_labels.h - the label table, as read from outside the process.
 *
 * This layout is a contract with out-of-process readers (the SystemTap
 * tapsets in tapsets/labels.stp; tests/py reads it with ctypes): they find
 * the exported object `pyscope_labels` in the extension's shared object
 * (built with -g) and take the offsets below from its DWARF, and the
 * constants from pyscope_shared.h (as tapsets/pyscope_shared.stpm).
 * Change it only together with them, and bump PYSCOPE_TABLE_VERSION when
 * you do.
 *
 * What a slot means
 * -----------------
 * A slot whose frame_obj is not 0 says "the frame whose PyFrameObject is at
 * frame_obj is painted with text".  The painting process holds a strong
 * reference to that frame object for as long as the slot holds it, so the
 * address cannot be reused by another frame object meanwhile.  A reader
 * walking a thread's running frames (the _PyInterpreterFrame chain; before
 * CPython 3.11 the frame objects themselves, through f_back) looks up each
 * frame's `frame_obj` pointer (before 3.11: the frame's own address): a
 * match on a running frame means that very frame is painted.  A slot may
 * outlive its frame (paint()'s slots are freed lazily); that frame object
 * then belongs to no running frame, so a frame walk never finds it.
 * Hence: do not list "all labels" by scanning the table without such a
 * walk; dead slots would show finished work.
 *
 * Where a frame's slot is
 * -----------------------
 *     h = ((frame_obj >> 4) * PYSCOPE_HASH_MULT) >> (64 - PYSCOPE_SLOTS_LOG2)
 * in 64-bit unsigned arithmetic, then slots (h + i) & (nslots - 1) for
 * i = 0 .. PYSCOPE_PROBES - 1.  Look at all of them: freeing a slot leaves
 * a hole, so a free slot does not end the search.
 *
 * Reading a slot (a seqlock: the writer never waits for readers)
 * --------------------------------------------------------------
 *     1. s1 = seq; if s1 is odd the slot is being written: retry or skip.
 *     2. copy frame_obj, text (and whatever else is wanted).
 *     3. s2 = seq; accept the copy only if s2 == s1.
 *     4. the copy is about frame F only if the copied frame_obj == F.
 * On x86-64 plain loads in this order suffice (loads are not reordered
 * with loads); elsewhere make step 1 a load-acquire and put an acquire
 * fence before step 3.  text is NUL-terminated, but bound the copy anyway
 * (at most PYSCOPE_TEXT_SIZE bytes) and treat the bytes as UTF-8.
 *
 * Writing a slot (always the thread holding the GIL, so one writer)
 * ----------------------------------------------------------------
 *     seq += 1 (now odd), release fence; write the fields; seq += 1 (now
 *     even) as a release store.  Freeing: seq odd, frame_obj = 0,
 *     text[0] = 0, seq even; only then is the frame reference dropped.
 */
#ifndef PYSCOPE_LABELS_H
#define PYSCOPE_LABELS_H

#include <stdint.h>

/* PYSCOPE_LABEL_MAX, PYSCOPE_SLOTS(_LOG2), PYSCOPE_PROBES,
   PYSCOPE_TEXT_SIZE, PYSCOPE_WHERE_SIZE, PYSCOPE_FLAG_TRUNCATED,
   PYSCOPE_TABLE_MAGIC, PYSCOPE_TABLE_VERSION, PYSCOPE_HASH_MULT: shared
   with the tapsets (tapsets/pyscope_shared.stpm is made from it). */
#include "pyscope_shared.h"

/* One painted frame.  sizeof 208; offsets: seq 0, frame_obj 8, tid 16,
   len 24, flags 28, where 32, text 80. */
struct pyscope_slot {
    volatile uint64_t seq;      /* seqlock: odd while being written */
    uint64_t frame_obj;         /* the painted PyFrameObject *; 0 = free */
    uint64_t tid;               /* native thread id (gettid) of the painter */
    uint32_t len;               /* bytes of text, NUL not counted */
    uint32_t flags;             /* PYSCOPE_FLAG_* */
    /* "qualname (file:line)" of the frame when it was painted (file: the
       base name; before CPython 3.11 the function's plain name, code
       objects having no qualname there), cut at a UTF-8 boundary to fit,
       NUL-terminated.  For reports made without the interpreter (the
       crash handler). */
    char where[PYSCOPE_WHERE_SIZE];
    /* The label: valid UTF-8 without NUL bytes, NUL-terminated. */
    char text[PYSCOPE_TEXT_SIZE];
};

/* The table.  sizeof 213032; offsets: magic 0, version 8, nslots 12,
   overflow 16, truncated 24, paints 32, slots 40. */
struct pyscope_table {
    char magic[8];              /* PYSCOPE_TABLE_MAGIC without its NUL;
                                   written last at import: no magic, no
                                   table yet */
    uint32_t version;           /* PYSCOPE_TABLE_VERSION */
    uint32_t nslots;            /* PYSCOPE_SLOTS */
    uint64_t overflow;          /* paints dropped: no free slot */
    uint64_t truncated;         /* paints whose text was cut */
    uint64_t paints;            /* paints stored (new or replacing) */
    struct pyscope_slot slots[PYSCOPE_SLOTS];
};

/* The one table of the process (all zero until the module is imported). */
extern struct pyscope_table pyscope_labels
    __attribute__((visibility("default")));

#endif /* PYSCOPE_LABELS_H */
