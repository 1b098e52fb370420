/* procmem.h - an ELF file's data in a live process: where the loader put
   one of the file's virtual addresses (from /proc/PID/maps and the file's
   program headers), and reading the process's memory there
   (process_vm_readv, else /proc/PID/mem). */
#ifndef PYSCOPE_PROCMEM_H
#define PYSCOPE_PROCMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "elfinfo.h"

/* Where vaddr (inside the file contents of one of binary's PT_LOAD
   segments) is in process pid.  The file's mappings are found by the
   device and inode of binary->path, or, if no mapping has them, by its
   path.  *address is the address in the process, *load_base the
   difference address - vaddr (0 for an ET_EXEC file).  On failure,
   writes a message (no "pyscope-offsets: ", no newline) to error and
   returns false. */
bool procmem_find_address(const ElfInfo *binary, pid_t pid, GElf_Addr vaddr,
                          unsigned long long *address,
                          unsigned long long *load_base,
                          char *error, size_t error_size);

/* Copy size bytes at address in process pid to buf.  False, with a
   message in error, unless all of them were read. */
bool procmem_read(pid_t pid, unsigned long long address, void *buf,
                  size_t size, char *error, size_t error_size);

#endif
