/* keytable.h - the struct keys of runtime/offsets/keys.tsv: for each, the
   CPython versions it applies to and where DWARF has it.  version_hex,
   free_threaded and the sym.* keys are not here: pyscope-offsets.c
   computes them from the ELF file. */
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
bool key_applies(const OffsetKey *key, int minor);

#endif
