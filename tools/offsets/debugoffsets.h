/* debugoffsets.h - CPython 3.13+'s _Py_DebugOffsets: the struct that
   starts _PyRuntime and holds offsetof/sizeof values of the interpreter's
   own structs, put there at build time for out-of-process debuggers.
 *
 * Every member is a uint64_t (in the target's byte order) except the
 * leading char cookie[8] = "xdebugpy".  The struct says neither its size
 * nor its layout: the layout is chosen by the minor version in its
 * version field (PY_VERSION_HEX).  The layouts are in debugoffsets.c,
 * from tools/offsets/tables/3.14-notes.md section 7 (3.13 also checked
 * against gdb's "ptype /o struct _Py_DebugOffsets" on pyenv's 3.13.0). */
#ifndef PYSCOPE_DEBUGOFFSETS_H
#define PYSCOPE_DEBUGOFFSETS_H

#include <stdbool.h>
#include <stddef.h>

#include "elfinfo.h"
#include "table.h"

#define DEBUGOFFSETS_COOKIE "xdebugpy"
#define DEBUGOFFSETS_COOKIE_SIZE 8
#define DEBUGOFFSETS_VERSION_OFFSET 8
#define DEBUGOFFSETS_FIRST_MINOR 13
/* At least the size of every layout, for buffers. */
#define DEBUGOFFSETS_MAX_SIZE 1024

/* One uint64_t member of _Py_DebugOffsets that is a keys.tsv key. */
typedef struct {
    const char *field;          /* CPython's name, "thread_state.next" */
    size_t offset;              /* bytes from the start of the struct */
    const char *key;            /* "tstate.next" */
} DebugOffsetsField;

typedef struct {
    int minor;                  /* 3.minor */
    size_t size;                /* sizeof(_Py_DebugOffsets) */
    const DebugOffsetsField *fields;
    size_t nfields;
} DebugOffsetsLayout;

/* The layout of 3.minor's struct, or NULL if this tool does not know
   it. */
const DebugOffsetsLayout *debugoffsets_layout(int minor);

/* Check that bytes[0..size) is a _Py_DebugOffsets of 3.minor: the size
   covers the layout, the cookie is there, the version field is 3.minor
   and not an alpha or beta (whose layout may differ from the release's).
   byte_order is the ELF file whose byte order the struct has.  On
   failure, writes a message (no "pyscope-offsets: ", no newline) to
   error and returns false. */
bool debugoffsets_check(const ElfInfo *byte_order,
                        const DebugOffsetsLayout *layout,
                        const unsigned char *bytes, size_t size,
                        char *error, size_t error_size);

/* Add every key the layout has to table, with the value in bytes
   (which passed debugoffsets_check). */
void debugoffsets_add_keys(const ElfInfo *byte_order,
                           const DebugOffsetsLayout *layout,
                           const unsigned char *bytes, Table *table);

#endif
