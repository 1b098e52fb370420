/*
 * liveset.h - the set of live sampled blocks: which addresses' frees are
 * events.
 *
 * A fixed table (no allocation, ever: it lives inside malloc's wrappers)
 * with open addressing and linear probing, changed under one lock.  Every
 * free has to ask "is this block sampled?", almost always to hear "no", so
 * that question is answered without the lock by two loads: the number of
 * live samples (0 in a process that has sampled nothing yet) and a
 * bit per two home slots, set while a live sample hashes to either.  Only
 * when both are non-zero does the free take the lock to look the block up.
 *
 * A free never misses its block: the block was inserted by the thread
 * that allocated it before the allocator returned it, and the program
 * itself orders that return before the free (on another thread, through
 * whatever handed the pointer over).  A home slot's bit is never clear
 * while a block that hashes there is in the table.
 */
#ifndef PYSCOPE_LIVESET_H
#define PYSCOPE_LIVESET_H

#include <stdint.h>

#define PYSCOPE_LIVESET_LOG2 16
#define PYSCOPE_LIVESET_SLOTS (1u << PYSCOPE_LIVESET_LOG2)
/* At most 3/4 full, so that probe sequences stay short; a sample that
   finds no room is dropped. */
#define PYSCOPE_LIVESET_MAX (PYSCOPE_LIVESET_SLOTS / 4 * 3)

struct pyscope_block {
    uintptr_t addr;         /* 0: an empty slot */
    uint64_t size;          /* bytes asked for */
    int domain;             /* PYSCOPE_DOMAIN_* (pyscope_shared.h) */
};

/* The lock-free part: the number of live samples, and, read by every
   free, one bit per pair of home slots, set while a live sample hashes to
   either (4 KiB: stays in the L1 cache, where the per-home counters
   behind it, 128 KiB, would not; all clear when the set is empty, so a
   free needs no test of the count first). */
#define PYSCOPE_LIVESET_BITS_WORDS (PYSCOPE_LIVESET_SLOTS / 2 / 64)
extern __attribute__((visibility("hidden"))) uint32_t pyscope_liveset_count;
extern __attribute__((visibility("hidden")))
uint64_t pyscope_liveset_bits[PYSCOPE_LIVESET_BITS_WORDS];

static inline uint32_t
pyscope_liveset_home(uintptr_t addr)
{
    /* Blocks are 16-byte aligned; Fibonacci hashing spreads the rest. */
    return (uint32_t)((((uint64_t)addr >> 4) * UINT64_C(0x9E3779B97F4A7C15))
                      >> (64 - PYSCOPE_LIVESET_LOG2));
}

/* 0 if addr is certainly not in the set; 1 if it may be. */
static inline int
pyscope_liveset_may_contain(uintptr_t addr)
{
    uint32_t pair = pyscope_liveset_home(addr) >> 1;
    uint64_t word = __atomic_load_n(&pyscope_liveset_bits[pair / 64],
                                    __ATOMIC_RELAXED);
    return (word >> (pair % 64)) & 1;
}

/* Insert b.  Returns 1, or 2 if b->addr was in the set already (the free
   of that older block was never seen: *old is set to it, and it is
   replaced), or 0 if the set is full (nothing inserted). */
__attribute__((visibility("hidden")))
int pyscope_liveset_insert(const struct pyscope_block *b,
                           struct pyscope_block *old);

/* Remove addr: 1 and *out set if it was there, else 0. */
__attribute__((visibility("hidden")))
int pyscope_liveset_remove(uintptr_t addr, struct pyscope_block *out);

/* fork(): the set is locked across it, so that the child gets a
   consistent one; parent and child then unlock it.  Registered with pthread_atfork()
   by pyscope_sampler_configure(). */
__attribute__((visibility("hidden"))) void pyscope_liveset_lock(void);
__attribute__((visibility("hidden"))) void pyscope_liveset_unlock(void);

#endif /* PYSCOPE_LIVESET_H */
