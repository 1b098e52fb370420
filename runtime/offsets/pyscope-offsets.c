/* pyscope-offsets.c - print the pyscope offsets table of one CPython build
   (the keys of runtime/offsets/keys.tsv) from its DWARF.
 *
 *   pyscope-offsets [-o FILE] [--debug-file DEBUGFILE] BINARY
 *
 * BINARY is a python executable or a libpython3.X.so.  Its DWARF is read
 * from BINARY itself, from DEBUGFILE, or (stripped binary) from the debug
 * file its build-id or .gnu_debuglink names under /usr/lib/debug.  Struct
 * offsets and sizes come from DWARF; version_hex from the ELF data (see
 * pyversion.h); sym.* from the symbol tables.  Exit status: 0 done, 1 no
 * DWARF or an unreadable file, 2 bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elfutils/libdw.h>

#include "debugfile.h"
#include "dwarftypes.h"
#include "elfinfo.h"
#include "keytable.h"
#include "pyversion.h"

#define PROGRAM "pyscope-offsets"
#define FORMAT_VERSION 1
#define MAX_TYPES 32
#define MAX_LINES 128
#define MAX_KEY 64

static const char usage_line[] =
    "usage: " PROGRAM " [-o FILE] [--debug-file DEBUGFILE] BINARY\n";

/* One "key<TAB>value" line of the table. */
typedef struct {
    char key[MAX_KEY];
    unsigned long long value;
} Entry;

typedef struct {
    Entry entries[MAX_LINES];
    size_t nentries;
    /* "# missing ..." comments: keys that apply but were not found. */
    char missing[MAX_LINES][MAX_KEY + 96];
    size_t nmissing;
} Table;

static void
add_entry(Table *table, const char *key, unsigned long long value)
{
    if (table->nentries < MAX_LINES) {
        Entry *e = &table->entries[table->nentries++];

        snprintf(e->key, sizeof(e->key), "%s", key);
        e->value = value;
    }
}

static void
add_missing(Table *table, const OffsetKey *key)
{
    if (table->nmissing < MAX_LINES) {
        snprintf(table->missing[table->nmissing++], MAX_KEY + 96,
                 "%s (%s.%s not in the DWARF)", key->key, key->type,
                 key->paths[0] != NULL ? key->paths[0] : "<size>");
    }
}

static int
compare_entries(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->key, ((const Entry *)b)->key);
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
            add_entry(table, key->key, value);
        }
        else if (!key->optional && minor >= 0) {
            add_missing(table, key);
        }
    }
}

static void
add_symbol_keys(Table *table, const ElfInfo *binary, const ElfInfo *debug,
                int minor)
{
    GElf_Sym sym;

    if (elfinfo_lookup_symbol(binary, debug, "_PyRuntime", &sym)) {
        add_entry(table, "sym._PyRuntime", sym.st_value);
    }
    if ((minor < 0 || minor >= 11)
        && elfinfo_lookup_symbol(binary, debug, "Py_Version", &sym)) {
        add_entry(table, "sym.Py_Version", sym.st_value);
    }
}

static int
write_table(FILE *out, const Table *table, const ElfInfo *binary,
            const ElfInfo *debug, DebugFileSource source,
            const PyVersion *version)
{
    char build_id[2 * ELFINFO_BUILD_ID_MAX + 1];

    elfinfo_build_id_hex(binary, build_id, sizeof(build_id));
    fprintf(out, "# pyscope-offsets %d\n", FORMAT_VERSION);
    fprintf(out, "# binary %s\n", binary->path);
    fprintf(out, "# build-id %s\n", build_id[0] ? build_id : "none");
    fprintf(out, "# dwarf %s (%s)\n", debug->path,
            debugfile_source_name(source));
    fprintf(out, "# version-source %s\n", version->source);
    for (size_t i = 0; i < table->nmissing; i++) {
        fprintf(out, "# missing %s\n", table->missing[i]);
    }
    for (size_t i = 0; i < table->nentries; i++) {
        fprintf(out, "%s\t%llu\n", table->entries[i].key,
                table->entries[i].value);
    }
    return ferror(out) ? -1 : 0;
}

static int
output(const char *out_path, const Table *table, const ElfInfo *binary,
       const ElfInfo *debug, DebugFileSource source,
       const PyVersion *version)
{
    FILE *out = stdout;
    int status;

    if (out_path != NULL) {
        out = fopen(out_path, "w");
        if (out == NULL) {
            fprintf(stderr, PROGRAM ": %s: %s\n", out_path, strerror(errno));
            return 1;
        }
    }
    status = write_table(out, table, binary, debug, source, version);
    if (out != stdout) {
        status |= fclose(out);
    }
    else {
        status |= fflush(out);
    }
    if (status != 0) {
        fprintf(stderr, PROGRAM ": cannot write %s\n",
                out_path != NULL ? out_path : "standard output");
        return 1;
    }
    return 0;
}

/* Everything after the arguments are parsed.  Returns the exit status. */
static int
run(const char *binary_path, const char *debug_path, const char *out_path)
{
    ElfInfo binary, debug;
    DebugFileSource source;
    const char *error;
    char errbuf[1024];
    Dwarf *dwarf;
    DwarfType types[MAX_TYPES];
    DwarfType *object;
    size_t ntypes;
    PyVersion version;
    static Table table;
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

    pyversion_find(&binary, &debug, &version);
    if (version.minor < 0) {
        fprintf(stderr, PROGRAM ": warning: cannot tell the CPython version "
                "of %s; no version_hex, and every key its DWARF has\n",
                binary_path);
    }
    ident = elf_getident(binary.elf, NULL);
    big_endian = ident != NULL && ident[EI_DATA] == ELFDATA2MSB;

    memset(&table, 0, sizeof(table));
    if (version.hex != 0) {
        add_entry(&table, "version_hex", version.hex);
    }
    add_entry(&table, "free_threaded",
              dwarftypes_has_member(&object->die, "ob_tid") ? 1 : 0);
    add_symbol_keys(&table, &binary, &debug, version.minor);
    add_struct_keys(&table, types, ntypes, version.minor, big_endian);
    qsort(table.entries, table.nentries, sizeof(Entry), compare_entries);
    if (table.nmissing > 0) {
        fprintf(stderr, PROGRAM ": warning: %zu keys not found in the DWARF "
                "(see the '# missing' lines)\n", table.nmissing);
    }
    status = output(out_path, &table, &binary, &debug, source, &version);

done:
    if (dwarf != NULL) {
        dwarf_end(dwarf);
    }
    elfinfo_close(&debug);
    elfinfo_close(&binary);
    return status;
}

int
main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},
        {"debug-file", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL, *debug_path = NULL;
    int opt;

    while ((opt = getopt_long(argc, argv, "o:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            out_path = optarg;
            break;
        case 'd':
            debug_path = optarg;
            break;
        case 'h':
            fputs(usage_line, stdout);
            return 0;
        default:
            fputs(usage_line, stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || argv[optind][0] == '\0'
        || (out_path != NULL && out_path[0] == '\0')
        || (debug_path != NULL && debug_path[0] == '\0')) {
        fputs(usage_line, stderr);
        return 2;
    }
    return run(argv[optind], debug_path, out_path);
}
