/* loadbase.h - where the loader put an ELF file in a live process. */
#ifndef PYSCOPE_DUMP_LOADBASE_H
#define PYSCOPE_DUMP_LOADBASE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "elfinfo.h"

/* The load base of ei in process pid (0 for an ET_EXEC file): a symbol's
   st_value plus it is its address there.  Found through the file's first
   PT_LOAD segment (tools/offsets/procmem.c), not the symbol's own: a
   symbol in .bss (_PyRuntime in 3.8-3.9, pyscope_labels) is in no
   mapping of the file.  False, with a message in error (if not NULL). */
bool load_base(const ElfInfo *ei, pid_t pid, unsigned long long *base,
               char *error, size_t error_size);

#endif
