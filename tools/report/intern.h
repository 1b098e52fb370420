/* intern.h - a hash table that numbers distinct byte strings.
 *
 * Every distinct key gets a small index (0, 1, 2, ... in insertion order).
 * Callers keep their values in plain arrays indexed by it.  Keys are
 * copied and stored NUL-terminated, so string keys can be read back as C
 * strings, and stay where they are for the life of the table (also as
 * arrays of uint32_t: they are 8-byte aligned).  Open addressing with
 * linear probing, at most half full.
 */
#ifndef PYSCOPE_INTERN_H
#define PYSCOPE_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTERN_NONE UINT32_MAX

/* A key and its bookkeeping, stored together so that a lookup touches
   one slot and one record. */
struct intern_record {
    uint64_t hash;
    size_t len;
    uint32_t index;
    char key[];         /* len bytes and a NUL; 8-byte aligned */
};

struct intern_block;    /* arena memory for records; never moves */

struct intern {
    struct intern_record **records;  /* by index */
    size_t count;
    size_t records_cap;
    struct intern_record **slots;    /* NULL means empty */
    size_t nslots;                   /* power of two */
    struct intern_block *blocks;
};

#define INTERN_INIT {NULL, 0, 0, NULL, 0, NULL}

uint64_t hash_bytes(const void *key, size_t len);

/* Index of key, or INTERN_NONE. */
uint32_t intern_find(const struct intern *t, const void *key, size_t len);

/* Index of key, adding it first if needed (*added tells which; may be
   NULL). */
uint32_t intern_add(struct intern *t, const void *key, size_t len,
                    bool *added);

/* The stored key of an index; *len (if not NULL) gets its length. */
const char *intern_key(const struct intern *t, uint32_t idx, size_t *len);

void intern_free(struct intern *t);

#endif
