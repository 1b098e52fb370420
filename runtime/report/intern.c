/* intern.c - a hash table that numbers distinct byte strings. */
#include "intern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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

static size_t
find_slot(const struct intern *t, const void *key, size_t len, uint64_t hash)
{
    size_t mask = t->nslots - 1;
    size_t i = (size_t)hash & mask;

    for (;;) {
        uint32_t s = t->slots[i];
        if (s == 0) {
            return i;
        }
        const struct intern_entry *e = &t->entries[s - 1];
        if (e->hash == hash && e->len == len
                && (len == 0 || memcmp(e->key, key, len) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void
rehash(struct intern *t, size_t nslots)
{
    free(t->slots);
    t->slots = xcalloc(nslots, sizeof(uint32_t));
    t->nslots = nslots;
    for (size_t idx = 0; idx < t->count; idx++) {
        size_t i = (size_t)t->entries[idx].hash & (nslots - 1);
        while (t->slots[i] != 0) {
            i = (i + 1) & (nslots - 1);
        }
        t->slots[i] = (uint32_t)(idx + 1);
    }
}

uint32_t
intern_find(const struct intern *t, const void *key, size_t len)
{
    if (t->nslots == 0) {
        return INTERN_NONE;
    }
    size_t i = find_slot(t, key, len, hash_bytes(key, len));
    return t->slots[i] ? t->slots[i] - 1 : INTERN_NONE;
}

uint32_t
intern_add(struct intern *t, const void *key, size_t len, bool *added)
{
    if (t->nslots == 0) {
        rehash(t, 64);
    }
    uint64_t hash = hash_bytes(key, len);
    size_t i = find_slot(t, key, len, hash);
    if (t->slots[i] != 0) {
        if (added) {
            *added = false;
        }
        return t->slots[i] - 1;
    }
    if (t->count >= UINT32_MAX - 1) {
        fputs("pyscope-report: too many distinct entries\n", stderr);
        exit(1);
    }
    t->entries = xgrow(t->entries, &t->entries_cap, t->count + 1,
                       sizeof(struct intern_entry));
    struct intern_entry *e = &t->entries[t->count];
    e->key = xmemdup(key, len);
    e->len = len;
    e->hash = hash;
    t->slots[i] = (uint32_t)(t->count + 1);
    t->count++;
    if (t->count * 2 > t->nslots) {
        rehash(t, t->nslots * 2);
    }
    if (added) {
        *added = true;
    }
    return (uint32_t)(t->count - 1);
}

const char *
intern_key(const struct intern *t, uint32_t idx, size_t *len)
{
    if (len) {
        *len = t->entries[idx].len;
    }
    return t->entries[idx].key;
}

void
intern_free(struct intern *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->entries[i].key);
    }
    free(t->entries);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}
