/* loadbase.c - an ELF file's load base in a live process. */
#include "loadbase.h"

#include <stdio.h>

#include "procmem.h"

bool
load_base(const ElfInfo *ei, pid_t pid, unsigned long long *base,
          char *error, size_t error_size)
{
    size_t phnum = 0;
    unsigned long long address;
    char msg[512];

    if (elf_getphdrnum(ei->elf, &phnum) != 0) {
        phnum = 0;
    }
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;

        if (gelf_getphdr(ei->elf, (int)i, &ph) == NULL
            || ph.p_type != PT_LOAD || ph.p_filesz == 0) {
            continue;
        }
        if (procmem_find_address(ei, pid, ph.p_vaddr, &address, base, msg,
                                 sizeof(msg))) {
            return true;
        }
        if (error != NULL) {
            snprintf(error, error_size, "%s", msg);
        }
        return false;
    }
    if (error != NULL) {
        snprintf(error, error_size, "%s has no PT_LOAD segment", ei->path);
    }
    return false;
}
