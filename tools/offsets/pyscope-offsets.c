/* pyscope-offsets.c - print the pyscope offsets table of one CPython build
   (the keys of tools/offsets/keys.tsv).
 *
 *   pyscope-offsets [-o FILE] [--debug-file DEBUGFILE] BINARY
 *   pyscope-offsets [-o FILE] --elf-only BINARY
 *   pyscope-offsets [-o FILE] --debug-offsets [--pid PID] BINARY
 *
 * BINARY is a python executable or a libpython3.X.so.  By default every
 * key comes from its DWARF, read from BINARY itself, from DEBUGFILE, or
 * (stripped binary) from the debug file its build-id or .gnu_debuglink
 * names under /usr/lib/debug: struct offsets and sizes from DWARF;
 * version_hex from the ELF data (see pyversion.h); sym.* and elf.exec from
 * the ELF file (elffacts.h).  --elf-only and --debug-offsets need no DWARF
 * (elfmodes.h).  Exit status: 0 done, 1 no DWARF, an unreadable file or
 * (the other modes) missing data, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "debugfile.h"
#include "dwarftypes.h"
#include "elffacts.h"
#include "elfinfo.h"
#include "elfmodes.h"
#include "keytable.h"
#include "table.h"

#define PROGRAM "pyscope-offsets"
#define MAX_TYPES 32
#define MAX_DWARF_LINE 4200     /* "# dwarf PATH (how found)" */

static const char usage_line[] =
    "usage: " PROGRAM " [-o FILE] [--debug-file DEBUGFILE | --elf-only"
    " | --debug-offsets [--pid PID]] BINARY\n";

/* A "# missing ..." comment: a key that applies but was not found. */
static void
add_missing(Table *table, const OffsetKey *key)
{
    table_comment(table, "missing %s (%s.%s not in the DWARF)", key->key,
                  key->type, key->paths[0] != NULL ? key->paths[0] : "<size>");
}

/* The distinct type names of the key table, for one DWARF walk. */
static size_t
collect_types(DwarfType *types)
{
    size_t ntypes = 0;

    memset(types, 0, sizeof(DwarfType) * MAX_TYPES);
    types[ntypes++].name = "PyObject";      /* for free_threaded */
    for (size_t i = 0; i < offset_keys_count; i++) {
        size_t j;

        for (j = 0; j < ntypes; j++) {
            if (strcmp(types[j].name, offset_keys[i].type) == 0) {
                break;
            }
        }
        if (j == ntypes && ntypes < MAX_TYPES) {
            types[ntypes++].name = offset_keys[i].type;
        }
    }
    return ntypes;
}

static DwarfType *
type_named(DwarfType *types, size_t ntypes, const char *name)
{
    for (size_t i = 0; i < ntypes; i++) {
        if (strcmp(types[i].name, name) == 0) {
            return types[i].found ? &types[i] : NULL;
        }
    }
    return NULL;
}

/* The value of one key from DWARF; false if the DWARF does not have it. */
static bool
key_value(const OffsetKey *key, DwarfType *type, bool big_endian,
          unsigned long long *value)
{
    if (key->kind == KEY_SIZE) {
        Dwarf_Word size;

        if (!dwarftypes_size(&type->die, &size)) {
            return false;
        }
        *value = size;
        return true;
    }
    for (int i = 0; i < KEY_MAX_PATHS && key->paths[i] != NULL; i++) {
        MemberPlace place;

        if (!dwarftypes_member(&type->die, key->paths[i], big_endian,
                               &place)) {
            continue;
        }
        if (key->kind == KEY_BIT) {
            *value = place.bit_offset - place.parent_offset * 8;
        }
        else {
            *value = place.offset;
        }
        return true;
    }
    return false;
}

static void
add_struct_keys(Table *table, DwarfType *types, size_t ntypes, int minor,
                bool big_endian)
{
    for (size_t i = 0; i < offset_keys_count; i++) {
        const OffsetKey *key = &offset_keys[i];
        DwarfType *type;
        unsigned long long value;

        if (!key_applies(key, minor)) {
            continue;
        }
        type = type_named(types, ntypes, key->type);
        if (type != NULL && key_value(key, type, big_endian, &value)) {
            table_set(table, key->key, value);
        }
        else if (!key->optional && minor >= 0) {
            add_missing(table, key);
        }
    }
}

/* The DWARF mode, after the arguments are parsed.  Returns the exit
   status. */
static int
run_dwarf(const char *binary_path, const char *debug_path,
          const char *out_path)
{
    ElfInfo binary, debug;
    DebugFileSource source;
    const char *error;
    char errbuf[1024];
    Dwarf *dwarf;
    DwarfType types[MAX_TYPES];
    DwarfType *object;
    size_t ntypes;
    ElfFacts facts;
    static Table table;
    TableHeader header;
    char dwarf_line[MAX_DWARF_LINE];
    const char *ident;
    bool big_endian;
    int status = 1;

    if (elfinfo_open(&binary, binary_path, &error) != 0) {
        fprintf(stderr, PROGRAM ": %s: %s\n", binary_path, error);
        return 1;
    }
    source = debugfile_find(&binary, debug_path, &debug, errbuf,
                            sizeof(errbuf), &error);
    if (source == DEBUGFILE_ERROR) {
        fprintf(stderr, PROGRAM ": %s\n", error);
        elfinfo_close(&binary);
        return 1;
    }
    if (source == DEBUGFILE_NOT_FOUND) {
        fprintf(stderr, PROGRAM ": no DWARF for %s (install its -dbg/-dbgsym"
                " package or pass --debug-file)\n", binary_path);
        elfinfo_close(&binary);
        return 1;
    }
    dwarf = dwarf_begin_elf(debug.elf, DWARF_C_READ, NULL);
    if (dwarf == NULL) {
        fprintf(stderr, PROGRAM ": cannot read the DWARF in %s: %s\n",
                debug.path, dwarf_errmsg(-1));
        goto done;
    }

    ntypes = collect_types(types);
    dwarftypes_find(dwarf, types, ntypes);
    object = type_named(types, ntypes, "PyObject");
    if (object == NULL) {
        fprintf(stderr, PROGRAM ": the DWARF in %s has no CPython structs "
                "(for a python executable that uses libpython3.X.so, pass "
                "that library)\n", debug.path);
        goto done;
    }

    elffacts_read(&binary, &debug, &facts);
    if (facts.version.minor < 0) {
        fprintf(stderr, PROGRAM ": warning: cannot tell the CPython version "
                "of %s; no version_hex, and every key its DWARF has\n",
                binary_path);
    }
    ident = elf_getident(binary.elf, NULL);
    big_endian = ident != NULL && ident[EI_DATA] == ELFDATA2MSB;

    table_init(&table);
    elffacts_add_keys(&facts, &table);
    table_set(&table, "free_threaded",
              dwarftypes_has_member(&object->die, "ob_tid") ? 1 : 0);
    add_struct_keys(&table, types, ntypes, facts.version.minor, big_endian);
    if (table.ncomments > 0) {
        fprintf(stderr, PROGRAM ": warning: %zu keys not found in the DWARF "
                "(see the '# missing' lines)\n", table.ncomments);
    }
    snprintf(dwarf_line, sizeof(dwarf_line), "%s (%s)", debug.path,
             debugfile_source_name(source));
    header.binary = &binary;
    header.dwarf = dwarf_line;
    header.version_source = facts.version.source;
    status = table_output(out_path, &table, &header);

done:
    if (dwarf != NULL) {
        dwarf_end(dwarf);
    }
    elfinfo_close(&debug);
    elfinfo_close(&binary);
    return status;
}

/* A --pid argument: a decimal process id > 0, or 0 if it is not one. */
static pid_t
parse_pid(const char *text)
{
    char *end;
    long value;

    if (text[0] < '0' || text[0] > '9') {
        return 0;
    }
    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0' || value <= 0 || value > INT_MAX) {
        return 0;
    }
    return (pid_t)value;
}

enum {
    OPT_DEBUG_FILE = 256,
    OPT_ELF_ONLY,
    OPT_DEBUG_OFFSETS,
    OPT_PID
};

int
main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},
        {"debug-file", required_argument, NULL, OPT_DEBUG_FILE},
        {"elf-only", no_argument, NULL, OPT_ELF_ONLY},
        {"debug-offsets", no_argument, NULL, OPT_DEBUG_OFFSETS},
        {"pid", required_argument, NULL, OPT_PID},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL, *debug_path = NULL, *pid_text = NULL;
    bool elf_only = false, debug_offsets = false;
    pid_t pid = 0;
    int opt;

    while ((opt = getopt_long(argc, argv, "o:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            out_path = optarg;
            break;
        case OPT_DEBUG_FILE:
            debug_path = optarg;
            break;
        case OPT_ELF_ONLY:
            elf_only = true;
            break;
        case OPT_DEBUG_OFFSETS:
            debug_offsets = true;
            break;
        case OPT_PID:
            pid_text = optarg;
            break;
        case 'h':
            fputs(usage_line, stdout);
            return 0;
        default:
            fputs(usage_line, stderr);
            return 2;
        }
    }
    if (pid_text != NULL) {
        pid = parse_pid(pid_text);
    }
    if (optind != argc - 1 || argv[optind][0] == '\0'
        || (out_path != NULL && out_path[0] == '\0')
        || (debug_path != NULL && debug_path[0] == '\0')
        || (elf_only && debug_offsets)
        || (debug_path != NULL && (elf_only || debug_offsets))
        || (pid_text != NULL && (!debug_offsets || pid == 0))) {
        fputs(usage_line, stderr);
        return 2;
    }
    if (elf_only) {
        return run_elf_only(argv[optind], out_path);
    }
    if (debug_offsets) {
        return run_debug_offsets(argv[optind], pid, out_path);
    }
    return run_dwarf(argv[optind], debug_path, out_path);
}
