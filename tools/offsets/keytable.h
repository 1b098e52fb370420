/* keytable.h - the struct keys of tools/offsets/keys.tsv: for each, the
   CPython versions it applies to and where DWARF has it.  The table,
   offset_keys[], is generated from keys.tsv at build time
   (tools/offsets/gen-keys.sh keytable, into $(BUILD)/offsets/keytable.c;
   see offsets.mk).  The build and elf keys (version_hex, free_threaded,
   sym.*, elf.exec) are not in it: pyscope-offsets.c computes them from the
   ELF file. */
#ifndef PYSCOPE_KEYTABLE_H
#define PYSCOPE_KEYTABLE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    KEY_OFFSET,     /* offsetof(type, path) */
    KEY_BIT,        /* bit position of the bitfield path in its word */
    KEY_SIZE        /* sizeof(type); no path */
} KeyKind;

#define KEY_MAX_PATHS 3
#define KEY_NO_LAST_MINOR 99

typedef struct {
    const char *key;
    KeyKind kind;
    int first_minor;        /* applies to 3.first_minor ... */
    int last_minor;         /* ... up to 3.last_minor */
    const char *type;       /* typedef name in CPython's headers */
    /* Member paths to try, first match wins (the member was renamed or
       moved between versions); NULL-terminated. */
    const char *paths[KEY_MAX_PATHS + 1];
    bool optional;          /* keys.tsv: "where present" */
} OffsetKey;

extern const OffsetKey offset_keys[];
extern const size_t offset_keys_count;

/* Does the key apply to 3.minor?  (minor < 0: unknown version, yes.) */
static inline bool
key_applies(const OffsetKey *key, int minor)
{
    return minor < 0 || (minor >= key->first_minor
                         && minor <= key->last_minor);
}

#endif
