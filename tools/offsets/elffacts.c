/* elffacts.c - the table keys an ELF file gives without DWARF. */
#include "elffacts.h"

#include <string.h>

void
elffacts_read(const ElfInfo *binary, const ElfInfo *debug, ElfFacts *facts)
{
    GElf_Ehdr ehdr;

    memset(facts, 0, sizeof(*facts));
    facts->elf_type = ET_NONE;
    if (gelf_getehdr(binary->elf, &ehdr) != NULL) {
        facts->elf_type = ehdr.e_type;
    }
    facts->loadable = facts->elf_type == ET_EXEC
                      || facts->elf_type == ET_DYN;
    facts->is_exec = facts->elf_type == ET_EXEC;

    pyversion_find(binary, debug, &facts->version);
    facts->have_runtime = elfinfo_lookup_symbol(binary, debug, "_PyRuntime",
                                                &facts->runtime);
    facts->have_py_version = elfinfo_lookup_symbol(binary, debug,
                                                   "Py_Version",
                                                   &facts->py_version);
}

void
elffacts_add_keys(const ElfFacts *facts, Table *table)
{
    int minor = facts->version.minor;

    if (facts->version.hex != 0) {
        table_set(table, "version_hex", facts->version.hex);
    }
    if (facts->have_runtime) {
        table_set(table, "sym._PyRuntime", facts->runtime.st_value);
    }
    if (facts->have_py_version && (minor < 0 || minor >= 11)) {
        table_set(table, "sym.Py_Version", facts->py_version.st_value);
    }
    if (facts->loadable) {
        table_set(table, "elf.exec", facts->is_exec ? 1 : 0);
    }
}
