/* elfmodes.h - the pyscope-offsets modes that need no DWARF:
 *
 *   --elf-only BINARY: version_hex, sym._PyRuntime, sym.Py_Version and
 *     elf.exec, from the ELF file alone (its .symtab, else its .dynsym).
 *   --debug-offsets [--pid PID] BINARY: the same, plus every key that
 *     CPython 3.13+'s _Py_DebugOffsets struct (debugoffsets.h) holds, read
 *     from the file's initial data of _PyRuntime or from process PID.
 *
 * Each returns the exit status: 0 done, 1 after one line on stderr. */
#ifndef PYSCOPE_ELFMODES_H
#define PYSCOPE_ELFMODES_H

#include <sys/types.h>

int run_elf_only(const char *binary_path, const char *out_path);

/* pid 0: read the file. */
int run_debug_offsets(const char *binary_path, pid_t pid,
                      const char *out_path);

#endif
