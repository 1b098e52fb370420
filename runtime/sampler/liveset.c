/*
 * liveset.c - the set of live sampled blocks (see liveset.h).
 *
 * Linear probing with backward-shift deletion: no tombstones, so the table
 * never needs rebuilding however long the process churns.  Entries move
 * when a neighbour is deleted, which is why lookups take the lock (the
 * lock-free filter in front of them, the bit per pair of home slots,
 * depends only on where blocks hash, not on where they sit).
 */
#include <pthread.h>

#include "liveset.h"

#define MASK (PYSCOPE_LIVESET_SLOTS - 1)

uint32_t pyscope_liveset_count;
uint64_t pyscope_liveset_bits[PYSCOPE_LIVESET_BITS_WORDS];

/* Live samples per home slot, under the lock: what the bits summarize. */
static uint16_t homes[PYSCOPE_LIVESET_SLOTS];

/* 1 MiB of zero pages until samples land in them. */
static struct pyscope_block slots[PYSCOPE_LIVESET_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

_Static_assert(PYSCOPE_LIVESET_MAX < UINT16_MAX,
               "a home counter must not overflow");

void
pyscope_liveset_lock(void)
{
    pthread_mutex_lock(&lock);
}

void
pyscope_liveset_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/* The slot holding addr, or the empty slot ending its probe sequence. */
static uint32_t
find(uintptr_t addr)
{
    uint32_t i = pyscope_liveset_home(addr);

    while (slots[i].addr != 0 && slots[i].addr != addr) {
        i = (i + 1) & MASK;
    }
    return i;
}

static void
home_add(uintptr_t addr, int delta)
{
    uint32_t h = pyscope_liveset_home(addr);
    uint32_t pair = h >> 1;
    uint64_t *word = &pyscope_liveset_bits[pair / 64];
    uint64_t bit = UINT64_C(1) << (pair % 64);

    homes[h] = (uint16_t)(homes[h] + delta);
    if (homes[h & ~1u] != 0 || homes[h | 1u] != 0) {
        __atomic_store_n(word, *word | bit, __ATOMIC_RELAXED);
    }
    else {
        __atomic_store_n(word, *word & ~bit, __ATOMIC_RELAXED);
    }
}

int
pyscope_liveset_insert(const struct pyscope_block *b,
                       struct pyscope_block *old)
{
    int result;

    pthread_mutex_lock(&lock);
    uint32_t i = find(b->addr);
    if (slots[i].addr == b->addr) {
        *old = slots[i];
        slots[i] = *b;
        result = 2;
    }
    else if (pyscope_liveset_count >= PYSCOPE_LIVESET_MAX) {
        result = 0;
    }
    else {
        slots[i] = *b;
        /* Relaxed is enough: a free of this block is ordered after this
           insert by the program itself (liveset.h). */
        home_add(b->addr, 1);
        __atomic_store_n(&pyscope_liveset_count, pyscope_liveset_count + 1,
                         __ATOMIC_RELAXED);
        result = 1;
    }
    pthread_mutex_unlock(&lock);
    return result;
}

/* May the entry at j, whose home slot is `home`, move back to the hole at
   i?  Only if i is still on its probe sequence, i.e. cyclically in
   [home, j). */
static int
may_fill(uint32_t i, uint32_t j, uint32_t home)
{
    return ((j - home) & MASK) >= ((j - i) & MASK);
}

int
pyscope_liveset_remove(uintptr_t addr, struct pyscope_block *out)
{
    int found = 0;

    if (addr == 0) {
        return 0;   /* free(NULL): 0 also marks an empty slot, never live */
    }
    pthread_mutex_lock(&lock);
    uint32_t i = find(addr);
    if (slots[i].addr == addr) {
        *out = slots[i];
        found = 1;
        /* Backward shift: pull later entries of the run into the hole. */
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & MASK;
            if (slots[j].addr == 0) {
                break;
            }
            if (may_fill(i, j, pyscope_liveset_home(slots[j].addr))) {
                slots[i] = slots[j];
                i = j;
            }
        }
        slots[i].addr = 0;
        home_add(addr, -1);
        __atomic_store_n(&pyscope_liveset_count, pyscope_liveset_count - 1,
                         __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&lock);
    return found;
}
