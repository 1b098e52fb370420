/* intern.c - a hash table that numbers distinct byte strings. */
#include "intern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BLOCK_SIZE (64 * 1024)

struct intern_block {
    struct intern_block *next;
    size_t used;
    size_t size;
    char data[];         /* 8-byte aligned: it follows three 8-byte fields */
};

/* Hash 8 bytes at a time, then mix (the finaliser of MurmurHash3). */
uint64_t
hash_bytes(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);
    uint64_t word;

    while (len >= 8) {
        memcpy(&word, p, 8);
        h = (h ^ word) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    word = 0;
    for (size_t i = 0; i < len; i++) {
        word |= (uint64_t)p[i] << (8 * i);
    }
    h = (h ^ word) * 0x100000001b3ULL;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Room for a record with a key of len bytes, from the arena. */
static struct intern_record *
new_record(struct intern *t, size_t len)
{
    if (len > SIZE_MAX - sizeof(struct intern_record) - 16) {
        fputs("pyscope-report: out of memory\n", stderr);
        exit(1);
    }
    size_t size = (sizeof(struct intern_record) + len + 1 + 7) & ~(size_t)7;
    struct intern_block *b = t->blocks;

    if (b == NULL || b->size - b->used < size) {
        size_t data_size = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        b = xmalloc(sizeof(struct intern_block) + data_size);
        b->next = t->blocks;
        b->used = 0;
        b->size = data_size;
        t->blocks = b;
    }
    struct intern_record *r = (struct intern_record *)(void *)
                              (b->data + b->used);
    b->used += size;
    return r;
}

static size_t
find_slot(const struct intern *t, const void *key, size_t len, uint64_t hash)
{
    size_t mask = t->nslots - 1;
    size_t i = (size_t)hash & mask;

    for (;;) {
        const struct intern_record *r = t->slots[i];
        if (r == NULL) {
            return i;
        }
        if (r->hash == hash && r->len == len
                && (len == 0 || memcmp(r->key, key, len) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void
rehash(struct intern *t, size_t nslots)
{
    free(t->slots);
    t->slots = xcalloc(nslots, sizeof(struct intern_record *));
    t->nslots = nslots;
    for (size_t idx = 0; idx < t->count; idx++) {
        struct intern_record *r = t->records[idx];
        size_t i = (size_t)r->hash & (nslots - 1);
        while (t->slots[i] != NULL) {
            i = (i + 1) & (nslots - 1);
        }
        t->slots[i] = r;
    }
}

uint32_t
intern_find(const struct intern *t, const void *key, size_t len)
{
    if (t->nslots == 0) {
        return INTERN_NONE;
    }
    size_t i = find_slot(t, key, len, hash_bytes(key, len));
    return t->slots[i] ? t->slots[i]->index : INTERN_NONE;
}

uint32_t
intern_add(struct intern *t, const void *key, size_t len, bool *added)
{
    if (t->nslots == 0) {
        rehash(t, 64);
    }
    uint64_t hash = hash_bytes(key, len);
    size_t i = find_slot(t, key, len, hash);
    if (t->slots[i] != NULL) {
        if (added) {
            *added = false;
        }
        return t->slots[i]->index;
    }
    if (t->count >= UINT32_MAX - 1) {
        fputs("pyscope-report: too many distinct entries\n", stderr);
        exit(1);
    }
    struct intern_record *r = new_record(t, len);
    r->hash = hash;
    r->len = len;
    r->index = (uint32_t)t->count;
    if (len > 0) {
        memcpy(r->key, key, len);
    }
    r->key[len] = '\0';

    t->records = xgrow(t->records, &t->records_cap, t->count + 1,
                       sizeof(struct intern_record *));
    t->records[t->count] = r;
    t->slots[i] = r;
    t->count++;
    if (t->count * 2 > t->nslots) {
        rehash(t, t->nslots * 2);
    }
    if (added) {
        *added = true;
    }
    return r->index;
}

const char *
intern_key(const struct intern *t, uint32_t idx, size_t *len)
{
    if (len) {
        *len = t->records[idx]->len;
    }
    return t->records[idx]->key;
}

void
intern_free(struct intern *t)
{
    struct intern_block *b = t->blocks;
    while (b != NULL) {
        struct intern_block *next = b->next;
        free(b);
        b = next;
    }
    free(t->records);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
