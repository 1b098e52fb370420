/* pyversion.h - which CPython version a binary is.  PY_VERSION_HEX is a
   macro, so DWARF does not have it; it comes from, in order:
     - the data of the Py_Version symbol (3.11+),
     - a "3.X.Y" string in .rodata (PY_VERSION, which the linker may have
       merged into the tail of a longer string such as the install
       prefix), preferring one whose 3.X agrees with the file name,
     - the soname or file name (3.X only; micro version unknown). */
#ifndef PYSCOPE_PYVERSION_H
#define PYSCOPE_PYVERSION_H

#include <stdbool.h>
#include <stddef.h>

#include "elfinfo.h"

typedef struct {
    unsigned long hex;      /* PY_VERSION_HEX, or 0 if unknown */
    int minor;              /* X of 3.X, or -1 if unknown */
    char source[200];       /* how it was found, for "# version-source" */
} PyVersion;

/* debug is the file holding the DWARF (its .symtab may be the only one
   naming Py_Version); it may be binary itself. */
void pyversion_find(const ElfInfo *binary, const ElfInfo *debug,
                    PyVersion *version);

/* Parse exactly n bytes "3.X.Y" with an optional "aN", "bN" or "rcN"
   and an optional "+", into PY_VERSION_HEX form. */
bool pyversion_parse(const char *s, size_t n, unsigned long *hex);

/* X from a name containing "python3.X" ("libpython3.11.so.1.0",
   "python3.13t"), or -1. */
int pyversion_minor_from_name(const char *name);

#endif
