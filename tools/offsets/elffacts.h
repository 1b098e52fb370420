/* elffacts.h - what pyscope-offsets learns from an ELF file without any
   DWARF: the CPython version (pyversion.h), the _PyRuntime and Py_Version
   symbols, and whether st_value is an absolute address (ET_EXEC) or an
   offset from the load base (ET_DYN).  These give the table keys
   version_hex, sym._PyRuntime, sym.Py_Version and elf.exec. */
#ifndef PYSCOPE_ELFFACTS_H
#define PYSCOPE_ELFFACTS_H

#include <stdbool.h>

#include "elfinfo.h"
#include "pyversion.h"
#include "table.h"

typedef struct {
    PyVersion version;
    bool loadable;              /* ET_EXEC or ET_DYN */
    bool is_exec;               /* ET_EXEC */
    int elf_type;               /* e_type, for messages */
    bool have_runtime;
    GElf_Sym runtime;           /* _PyRuntime */
    bool have_py_version;
    GElf_Sym py_version;        /* Py_Version (3.11+) */
} ElfFacts;

/* Fill *facts from binary; symbols are looked up as
   elfinfo_lookup_symbol() does (debug may be NULL). */
void elffacts_read(const ElfInfo *binary, const ElfInfo *debug,
                   ElfFacts *facts);

/* Add version_hex, sym._PyRuntime, sym.Py_Version and elf.exec, each
   only if known. */
void elffacts_add_keys(const ElfFacts *facts, Table *table);

#endif
