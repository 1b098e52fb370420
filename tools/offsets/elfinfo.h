/* elfinfo.h - the parts of an ELF file pyscope-offsets reads: build-id,
   symbols, the bytes at an address, the soname, a section's contents
   (libelf). */
#ifndef PYSCOPE_ELFINFO_H
#define PYSCOPE_ELFINFO_H

#include <stdbool.h>
#include <stddef.h>

#include <gelf.h>

#define ELFINFO_BUILD_ID_MAX 64

typedef struct {
    char *path;
    int fd;
    Elf *elf;
    unsigned char build_id[ELFINFO_BUILD_ID_MAX];
    size_t build_id_len;        /* 0: the file has no build-id note */
} ElfInfo;

/* Open path as an ELF file.  Returns 0, or -1 with *error set to a
   static description (errno-style, for "pyscope-offsets: PATH: ..."). */
int elfinfo_open(ElfInfo *ei, const char *path, const char **error);
void elfinfo_close(ElfInfo *ei);

/* The build-id as lowercase hex ("" when there is none). */
void elfinfo_build_id_hex(const ElfInfo *ei, char *buf, size_t size);

/* True if both files have a build-id and the two differ. */
bool elfinfo_build_ids_differ(const ElfInfo *a, const ElfInfo *b);

/* True if the file holds the contents of a section called name (not just
   its header, as a stripped file keeps for .bss-like NOBITS sections). */
bool elfinfo_has_section_data(const ElfInfo *ei, const char *name);

/* Find a defined symbol in the table of the given type (SHT_SYMTAB or
   SHT_DYNSYM).  Returns true and fills *sym if found. */
bool elfinfo_find_symbol(const ElfInfo *ei, GElf_Word table_type,
                         const char *name, GElf_Sym *sym);

/* A symbol the way pyscope-offsets looks it up: the .symtab of binary,
   then the .symtab of its debug file (debug may be NULL, or binary
   itself), then the .dynsym of binary. */
bool elfinfo_lookup_symbol(const ElfInfo *binary, const ElfInfo *debug,
                           const char *name, GElf_Sym *sym);

/* Copy size bytes at virtual address addr, as the loader would map them
   (from a PT_LOAD segment's file contents).  False if they are not all
   in the file. */
bool elfinfo_read_at(const ElfInfo *ei, GElf_Addr addr, void *buf,
                     size_t size);

/* Unsigned little- or big-endian integer of size 1, 2, 4 or 8 bytes, in
   the file's byte order. */
bool elfinfo_decode_uint(const ElfInfo *ei, const unsigned char *bytes,
                         size_t size, unsigned long long *value);

/* DT_SONAME, or NULL.  Points into libelf's copy of the file. */
const char *elfinfo_soname(const ElfInfo *ei);

/* The contents of the first section called name, or NULL. */
const unsigned char *elfinfo_section_data(const ElfInfo *ei,
                                          const char *name, size_t *size);

#endif
