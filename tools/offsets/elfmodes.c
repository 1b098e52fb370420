/* elfmodes.c - --elf-only and --debug-offsets (see elfmodes.h). */
#include "elfmodes.h"

#include <stdio.h>
#include <string.h>

#include "debugoffsets.h"
#include "elffacts.h"
#include "elfinfo.h"
#include "procmem.h"
#include "table.h"

#define PROGRAM "pyscope-offsets"
#define ERROR_MAX 512

/* Open binary_path and read its ELF facts; check that they are enough
   for a table (a loadable file, _PyRuntime, a version).  Returns 0, or 1
   after one line on stderr (binary is then closed). */
static int
open_binary(const char *binary_path, ElfInfo *binary, ElfFacts *facts)
{
    const char *error;

    if (elfinfo_open(binary, binary_path, &error) != 0) {
        fprintf(stderr, PROGRAM ": %s: %s\n", binary_path, error);
        return 1;
    }
    elffacts_read(binary, NULL, facts);
    if (!facts->loadable) {
        fprintf(stderr, PROGRAM ": %s is neither an executable nor a shared "
                "object (ELF type %d)\n", binary_path, facts->elf_type);
    }
    else if (!facts->have_runtime && facts->version.hex == 0) {
        fprintf(stderr, PROGRAM ": %s is not CPython: no _PyRuntime symbol "
                "(in .symtab or .dynsym) and no CPython version\n",
                binary_path);
    }
    else if (!facts->have_runtime) {
        fprintf(stderr, PROGRAM ": %s has no _PyRuntime symbol (in .symtab "
                "or .dynsym; for a python executable that uses "
                "libpython3.X.so, pass that library)\n", binary_path);
    }
    else if (facts->version.hex == 0) {
        fprintf(stderr, PROGRAM ": cannot tell the CPython version of %s "
                "(no Py_Version, no version string, no python3.X name)\n",
                binary_path);
    }
    else {
        return 0;
    }
    elfinfo_close(binary);
    return 1;
}

int
run_elf_only(const char *binary_path, const char *out_path)
{
    ElfInfo binary;
    ElfFacts facts;
    static Table table;
    TableHeader header;
    int status;

    if (open_binary(binary_path, &binary, &facts) != 0) {
        return 1;
    }
    table_init(&table);
    elffacts_add_keys(&facts, &table);
    header.binary = &binary;
    header.dwarf = "none (--elf-only)";
    header.version_source = facts.version.source;
    status = table_output(out_path, &table, &header);
    elfinfo_close(&binary);
    return status;
}

/* The _Py_DebugOffsets bytes from the file: _PyRuntime's initial data. */
static bool
read_from_file(const ElfInfo *binary, const ElfFacts *facts,
               unsigned char *bytes, size_t size, char *error,
               size_t error_size)
{
    if (!elfinfo_read_at(binary, facts->runtime.st_value, bytes, size)) {
        snprintf(error, error_size, "%s does not hold %zu bytes of data "
                 "at _PyRuntime (0x%llx)", binary->path, size,
                 (unsigned long long)facts->runtime.st_value);
        return false;
    }
    return true;
}

/* The _Py_DebugOffsets bytes from process pid; *address is where. */
static bool
read_from_process(const ElfInfo *binary, const ElfFacts *facts, pid_t pid,
                  unsigned char *bytes, size_t size,
                  unsigned long long *address, char *error,
                  size_t error_size)
{
    unsigned long long load_base;

    if (!procmem_find_address(binary, pid, facts->runtime.st_value, address,
                              &load_base, error, error_size)) {
        return false;
    }
    if (facts->is_exec && load_base != 0) {
        snprintf(error, error_size, "%s is ET_EXEC but process %ld has it "
                 "0x%llx away from its link address", binary->path,
                 (long)pid, load_base);
        return false;
    }
    return procmem_read(pid, *address, bytes, size, error, error_size);
}

int
run_debug_offsets(const char *binary_path, pid_t pid, const char *out_path)
{
    ElfInfo binary;
    ElfFacts facts;
    const DebugOffsetsLayout *layout;
    unsigned char bytes[DEBUGOFFSETS_MAX_SIZE];
    unsigned long long address = 0;
    char where[64];
    char error[ERROR_MAX];
    static Table table;
    TableHeader header;
    int status = 1;
    bool ok;

    if (open_binary(binary_path, &binary, &facts) != 0) {
        return 1;
    }
    if (facts.version.minor < DEBUGOFFSETS_FIRST_MINOR) {
        fprintf(stderr, PROGRAM ": %s is CPython 3.%d: _Py_DebugOffsets "
                "exists from 3.%d on\n", binary_path, facts.version.minor,
                DEBUGOFFSETS_FIRST_MINOR);
        goto done;
    }
    layout = debugoffsets_layout(facts.version.minor);
    if (layout == NULL) {
        fprintf(stderr, PROGRAM ": %s is CPython 3.%d: its _Py_DebugOffsets "
                "layout is not known to this tool (3.13 and 3.14 are)\n",
                binary_path, facts.version.minor);
        goto done;
    }
    if (facts.runtime.st_size != 0 && facts.runtime.st_size < layout->size) {
        fprintf(stderr, PROGRAM ": %s: _PyRuntime is %llu bytes, smaller "
                "than 3.%d's _Py_DebugOffsets (%zu)\n", binary_path,
                (unsigned long long)facts.runtime.st_size, layout->minor,
                layout->size);
        goto done;
    }

    if (pid == 0) {
        snprintf(where, sizeof(where), "file");
        ok = read_from_file(&binary, &facts, bytes, layout->size, error,
                            sizeof(error));
    }
    else {
        snprintf(where, sizeof(where), "pid %ld", (long)pid);
        ok = read_from_process(&binary, &facts, pid, bytes, layout->size,
                               &address, error, sizeof(error));
    }
    if (!ok) {
        fprintf(stderr, PROGRAM ": %s\n", error);
        goto done;
    }
    if (!debugoffsets_check(&binary, layout, bytes, layout->size, error,
                            sizeof(error))) {
        fprintf(stderr, PROGRAM ": %s (%s): %s\n", binary_path, where,
                error);
        goto done;
    }

    table_init(&table);
    table_comment(&table, "source _Py_DebugOffsets (%s)", where);
    if (pid != 0) {
        table_comment(&table, "address 0x%llx (_PyRuntime in process %ld)",
                      address, (long)pid);
    }
    elffacts_add_keys(&facts, &table);
    debugoffsets_add_keys(&binary, layout, bytes, &table);
    header.binary = &binary;
    header.dwarf = "none (--debug-offsets)";
    header.version_source = facts.version.source;
    status = table_output(out_path, &table, &header);

done:
    elfinfo_close(&binary);
    return status;
}
