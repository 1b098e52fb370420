/* table.h - an offsets table being built ("key<TAB>value" lines plus
   comment lines) and how it is written: a fixed header, the comments,
   then the entries sorted by key. */
#ifndef PYSCOPE_TABLE_H
#define PYSCOPE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "elfinfo.h"

#define TABLE_FORMAT_VERSION 1
#define TABLE_MAX_ENTRIES 128
#define TABLE_MAX_COMMENTS 128
#define TABLE_MAX_KEY 64
#define TABLE_MAX_COMMENT 256

typedef struct {
    char key[TABLE_MAX_KEY];
    unsigned long long value;
} TableEntry;

typedef struct {
    TableEntry entries[TABLE_MAX_ENTRIES];
    size_t nentries;
    /* Comment lines after the header, without their "# ". */
    char comments[TABLE_MAX_COMMENTS][TABLE_MAX_COMMENT];
    size_t ncomments;
} Table;

/* The header lines every table starts with. */
typedef struct {
    const ElfInfo *binary;
    const char *dwarf;              /* "PATH (how found)" or "none (...)" */
    const char *version_source;     /* PyVersion.source */
} TableHeader;

void table_init(Table *table);

/* Add key = value; a key already there gets the new value.  Too many
   entries are dropped (TABLE_MAX_ENTRIES is well above keys.tsv). */
void table_set(Table *table, const char *key, unsigned long long value);

/* True and *value if the table has key. */
bool table_get(const Table *table, const char *key,
               unsigned long long *value);

/* Add a comment line (printf format, truncated to TABLE_MAX_COMMENT). */
void table_comment(Table *table, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Write the table to out_path, or to standard output if it is NULL.
   Returns 0, or 1 after printing one line to stderr. */
int table_output(const char *out_path, Table *table,
                 const TableHeader *header);

#endif
