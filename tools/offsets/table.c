/* table.c - an offsets table being built, and how it is written. */
#include "table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROGRAM "pyscope-offsets"

void
table_init(Table *table)
{
    memset(table, 0, sizeof(*table));
}

void
table_set(Table *table, const char *key, unsigned long long value)
{
    TableEntry *e;

    for (size_t i = 0; i < table->nentries; i++) {
        if (strcmp(table->entries[i].key, key) == 0) {
            table->entries[i].value = value;
            return;
        }
    }
    if (table->nentries >= TABLE_MAX_ENTRIES) {
        return;
    }
    e = &table->entries[table->nentries++];
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->value = value;
}

bool
table_get(const Table *table, const char *key, unsigned long long *value)
{
    for (size_t i = 0; i < table->nentries; i++) {
        if (strcmp(table->entries[i].key, key) == 0) {
            *value = table->entries[i].value;
            return true;
        }
    }
    return false;
}

void
table_comment(Table *table, const char *format, ...)
{
    va_list args;

    if (table->ncomments >= TABLE_MAX_COMMENTS) {
        return;
    }
    va_start(args, format);
    vsnprintf(table->comments[table->ncomments++], TABLE_MAX_COMMENT,
              format, args);
    va_end(args);
}

static int
compare_entries(const void *a, const void *b)
{
    return strcmp(((const TableEntry *)a)->key,
                  ((const TableEntry *)b)->key);
}

static int
write_table(FILE *out, const Table *table, const TableHeader *header)
{
    char build_id[2 * ELFINFO_BUILD_ID_MAX + 1];

    elfinfo_build_id_hex(header->binary, build_id, sizeof(build_id));
    fprintf(out, "# pyscope-offsets %d\n", TABLE_FORMAT_VERSION);
    fprintf(out, "# binary %s\n", header->binary->path);
    fprintf(out, "# build-id %s\n", build_id[0] ? build_id : "none");
    fprintf(out, "# dwarf %s\n", header->dwarf);
    fprintf(out, "# version-source %s\n", header->version_source);
    for (size_t i = 0; i < table->ncomments; i++) {
        fprintf(out, "# %s\n", table->comments[i]);
    }
    for (size_t i = 0; i < table->nentries; i++) {
        fprintf(out, "%s\t%llu\n", table->entries[i].key,
                table->entries[i].value);
    }
    return ferror(out) ? -1 : 0;
}

int
table_output(const char *out_path, Table *table, const TableHeader *header)
{
    FILE *out = stdout;
    int status;

    qsort(table->entries, table->nentries, sizeof(TableEntry),
          compare_entries);
    if (out_path != NULL) {
        out = fopen(out_path, "w");
        if (out == NULL) {
            fprintf(stderr, PROGRAM ": %s: %s\n", out_path, strerror(errno));
            return 1;
        }
    }
    status = write_table(out, table, header);
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
