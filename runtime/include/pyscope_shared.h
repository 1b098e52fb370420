/*
 * pyscope_shared.h - the constants pyscope's C runtime and its SystemTap
 * tapsets share, written once.
 *
 * The C side includes this file (pyscope_labels.h, sampler.h); `make`
 * turns every #define below into a tapset macro of the same name,
 * @PYSCOPE_NAME, in tapsets/pyscope_shared.stpm
 * (scripts/lib/shared-stpm.sh).  So that it can, a value here is one of:
 * an integer literal (decimal or hex, an optional u suffix), UINT64_C() of
 * one, a string literal, or a parenthesized sum or difference of those and
 * other PYSCOPE_ names.  A string of exactly 8 bytes also gets
 * @PYSCOPE_NAME_U64: its bytes read as one little-endian 64-bit word, what
 * a reader of the first 8 bytes sees on x86-64.  Nothing else goes here.
 */
#ifndef PYSCOPE_SHARED_H
#define PYSCOPE_SHARED_H

#include <stdint.h>     /* UINT64_C */

/* The label table (pyscope_labels.h says what each means). */

/* Longest label text kept, in bytes of UTF-8.  Longer labels are cut at a
   character boundary and flagged PYSCOPE_FLAG_TRUNCATED. */
#define PYSCOPE_LABEL_MAX 120

/* Slots in the table; a power of two (the hash keeps the top bits). */
#define PYSCOPE_SLOTS 1024
#define PYSCOPE_SLOTS_LOG2 10

/* Consecutive slots a frame may occupy (linear probing).  A paint that
   finds all of them taken by running frames is dropped (overflow). */
#define PYSCOPE_PROBES 8

/* Sizes of the text fields, NUL included. */
#define PYSCOPE_TEXT_SIZE (PYSCOPE_LABEL_MAX + 8)
#define PYSCOPE_WHERE_SIZE 48

/* slot.flags */
#define PYSCOPE_FLAG_TRUNCATED 1u

#define PYSCOPE_TABLE_MAGIC "pyscope1"
#define PYSCOPE_TABLE_VERSION 1

/* The hash's multiplier: 2^64 divided by the golden ratio. */
#define PYSCOPE_HASH_MULT UINT64_C(0x9E3779B97F4A7C15)

/* The allocation sampler (sampler.h): the `domain` argument of its probes,
   which allocator API was called.  0-2 are CPython's PYMEM_DOMAIN_*
   values. */
#define PYSCOPE_DOMAIN_RAW 0        /* PyMem_RawMalloc() ... */
#define PYSCOPE_DOMAIN_MEM 1        /* PyMem_Malloc() ... */
#define PYSCOPE_DOMAIN_OBJ 2        /* PyObject_Malloc() ... */
#define PYSCOPE_DOMAIN_LIBC 3       /* malloc() ... (the preload library) */
#define PYSCOPE_NDOMAINS 4

#endif /* PYSCOPE_SHARED_H */
