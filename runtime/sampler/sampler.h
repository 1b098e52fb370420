/*
 * sampler.h - the allocation sampler of leak-watch's sampled mode.
 *
 * One sampler per process samples allocations by bytes, like tcmalloc and
 * Go's MemProfileRate: every thread counts down "bytes until the next
 * sample", drawn from an exponential distribution of mean M bytes; an
 * allocation of s bytes that reaches the end of the count is sampled and
 * the count is drawn again.  So an allocation of s bytes is sampled with
 * probability 1 - exp(-s/M) whatever came before it (the exponential has
 * no memory), and weight_bytes = s / (1 - exp(-s/M)) is an unbiased
 * estimate of the bytes it stands for.
 *
 * Sampled blocks stay in a set of live blocks (liveset.h) until freed.  For
 * each sampled allocation and each free of a sampled block a USDT probe
 * fires (provider "pyscope"; nothing else fires, so SystemTap sees about
 * one event per M bytes allocated):
 *
 *   alloc(ptr, size, weight_bytes, domain, mean_bytes)
 *       a sampled allocation, after the allocator returned ptr.
 *   free(ptr, size, weight_bytes, domain)
 *       a sampled block is being freed (or moved by realloc): fired before
 *       the block goes back to the allocator, so no other thread can have
 *       been given the same address yet.  size, weight_bytes and domain
 *       are those of its alloc event.
 *   sample_dropped(ptr, size, weight_bytes, domain)
 *       an allocation was sampled but the live set was full: not recorded,
 *       no alloc event, counted in `dropped`.
 *
 * A realloc(p, n) is a free of p (if p was sampled) and then an allocation
 * of n bytes, sampled by the same rule.  A realloc that fails leaves p
 * alone: p's free event has fired by then (see above), so an alloc event
 * for p, with its original size and weight, is fired again.  An alloc
 * event for an address that is already live (its free happened where no
 * wrapper saw it) is preceded by a free event for the old block.
 *
 * Who calls the wrappers' helpers below: pymem_hooks.c (the Python
 * domains, in the extension and in the preload library) and
 * runtime/preload/preload.c (the C library's malloc family).  The same
 * sources are compiled into both products; every symbol here is hidden, so
 * the two copies never bind to each other (one process has at most one
 * active sampler, see pyscope_preload_api).
 */
#ifndef PYSCOPE_SAMPLER_H
#define PYSCOPE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "liveset.h"
/* The `domain` argument of the probes (PYSCOPE_DOMAIN_RAW, _MEM, _OBJ,
   _LIBC; PYSCOPE_NDOMAINS): shared with the tapsets. */
#include "pyscope_shared.h"

#define PYSCOPE_HIDDEN __attribute__((visibility("hidden")))

/* PYSCOPE_ALLOC_SAMPLE when unset (or not a number). */
#define PYSCOPE_DEFAULT_MEAN 524288u
/* Larger means are taken as this (2**40: about one sample per TiB). */
#define PYSCOPE_MAX_MEAN (UINT64_C(1) << 40)
#define PYSCOPE_ALLOC_SAMPLE_ENV "PYSCOPE_ALLOC_SAMPLE"
/* 1: the preload removes itself and these variables from the environment
   before main(), so that the program and its children see none of them
   (runtime/preload/preload.c) */
#define PYSCOPE_PRELOAD_PRIVATE_ENV "PYSCOPE_PRELOAD_PRIVATE"

/* Per-thread state.  Zero (a new thread) means: not seeded yet, count
   exhausted, so the thread's first allocation takes the slow path. */
struct pyscope_thread {
    size_t remaining;       /* bytes until the next sample, >= 1 once drawn */
    unsigned int depth;     /* allocator calls of ours running: 0 or 1,
                               nested ones leave it alone */
    int probing;            /* pymem_hooks.c's chain test is running */
    unsigned int probe_seen;    /* its result: 1 << domain of each hook
                                   that counted an allocation */
    uint64_t rng;           /* xorshift64* state; 0: not seeded */
};

/* The preload library is built with -ftls-model=initial-exec (a %fs
   offset, and no allocation on a thread's first access, which must not
   happen inside malloc).  The extension is dlopen()ed, so its TLS may not
   fit in the static block: it uses the dynamic model, through TLS
   descriptors on x86-64 (setup.py), which glibc turns into a %fs offset
   when it did fit. */
extern PYSCOPE_HIDDEN __thread struct pyscope_thread pyscope_tls;

/* Counters, for sampler_stats() and the tests. */
struct pyscope_sampler_stats {
    uint64_t mean;                  /* M in bytes; 0: sampling is off */
    uint64_t sampled;               /* sampled allocations recorded */
    uint64_t freed;                 /* frees of sampled blocks */
    uint64_t dropped;               /* samples lost: live set full */
    uint64_t replaced;              /* live samples whose free was missed */
    uint64_t live_samples;          /* sampled blocks live now */
    uint64_t live_estimate_bytes;   /* sum of their weight_bytes */
    uint64_t sampled_by_domain[PYSCOPE_NDOMAINS];
};

/* What a freed sampled block was, kept by realloc in case it fails. */
struct pyscope_taken {
    uintptr_t addr;
    uint64_t size;
    int domain;
};

/* PYSCOPE_ALLOC_SAMPLE's value as a mean: NULL, "" or not a number give
   the default, 0 turns sampling off. */
PYSCOPE_HIDDEN uint64_t pyscope_sampler_mean_from_env(const char *value);

/* Set the mean (0: off) and start sampling.  Once per process, before the
   wrappers can be reached from more than one thread.  Until then every
   allocation takes the slow path and none is sampled. */
PYSCOPE_HIDDEN void pyscope_sampler_configure(uint64_t mean);

PYSCOPE_HIDDEN void pyscope_sampler_stats(struct pyscope_sampler_stats *out);

/* weight_bytes of a sampled allocation of n bytes. */
PYSCOPE_HIDDEN uint64_t pyscope_weight(uint64_t n, uint64_t mean);

/* Slow paths of the helpers below. */
PYSCOPE_HIDDEN void pyscope_sample(struct pyscope_thread *t, void *p,
                                   size_t n, int domain);
PYSCOPE_HIDDEN int pyscope_take(void *p, struct pyscope_taken *taken);
PYSCOPE_HIDDEN void pyscope_sampled_free(void *p);
PYSCOPE_HIDDEN void pyscope_untake(const struct pyscope_taken *taken);

static inline struct pyscope_thread *
pyscope_thread(void)
{
    return &pyscope_tls;
}

/* The wrappers' fast paths.  An allocating wrapper does

       if (t->depth != 0) return the wrapped allocator's result;
       t->depth = 1;  call the wrapped allocator;  t->depth = 0;
       pyscope_allocated(...);

   so that allocators called inside it (pymalloc falling through to
   PyMem_RawMalloc, then to malloc) only pass the call on: an allocation
   is counted once, by the outermost wrapper.  Frees need no such flag:
   wherever a sampled block is freed, it is gone (the outermost wrapper
   sees it first and takes it out of the set; the inner ones then find
   nothing), so the free path touches no per-thread state.
   None of these touches errno, allocates or takes a lock unless a sample
   is taken or a sampled block is freed.  (The hooks of PyMem_Malloc and
   PyObject_Malloc have a shorter path still for small requests that
   pymalloc serves itself: pymem_hooks.c.) */

/* After the outermost allocator call on this thread returned p for n
   bytes. */
static inline void
pyscope_allocated(struct pyscope_thread *t, void *p, size_t n, int domain)
{
    if (p == NULL) {
        return;
    }
    if (n < t->remaining) {
        t->remaining -= n;
        return;
    }
    pyscope_sample(t, p, n, domain);
}

/* Before p is freed. */
static inline void
pyscope_freeing(void *p)
{
    if (pyscope_liveset_may_contain((uintptr_t)p)) {
        pyscope_sampled_free(p);
    }
}

/* Before realloc(p, n): 1 if p was sampled (its free event has fired;
   *taken says what it was), 0 if not. */
static inline int
pyscope_reallocating(void *p, struct pyscope_taken *taken)
{
    if (pyscope_liveset_may_contain((uintptr_t)p)) {
        return pyscope_take(p, taken);
    }
    return 0;
}

/* After the outermost realloc(p, n) returned q.  NULL with n == 0 means
   p was freed (glibc's realloc(p, 0)); NULL otherwise means p is
   untouched. */
static inline void
pyscope_reallocated(struct pyscope_thread *t, int was_sampled,
                    const struct pyscope_taken *taken, void *q, size_t n,
                    int domain)
{
    if (q == NULL) {
        if (was_sampled && n != 0) {
            pyscope_untake(taken);
        }
        return;
    }
    pyscope_allocated(t, q, n, domain);
}

/* Which wrappers does an allocation reach?  Between these two calls the
   sampler counts nothing: every wrapper that would count an allocation
   (the outermost) only sets its domain's bit in t->probe_seen.  The count
   of 1 byte sends each allocation of 1 byte or more there. */
static inline size_t
pyscope_probe_begin(struct pyscope_thread *t)
{
    size_t saved = t->remaining;

    t->probing = 1;
    t->probe_seen = 0;
    t->remaining = 1;
    return saved;
}

/* Returns the domains seen (1 << domain each). */
static inline unsigned int
pyscope_probe_end(struct pyscope_thread *t, size_t saved)
{
    t->probing = 0;
    t->remaining = saved;
    return t->probe_seen;
}

/* calloc's byte count; an overflowing product makes the allocator fail
   (so nothing is counted), and is passed as SIZE_MAX. */
static inline size_t
pyscope_calloc_size(size_t nelem, size_t elsize)
{
    size_t n;
    return __builtin_mul_overflow(nelem, elsize, &n) ? SIZE_MAX : n;
}

/*
 * How the extension finds a preload library's sampler: the preload exports
 * PYSCOPE_PRELOAD_API_SYMBOL (default visibility, found with
 * dlsym(RTLD_DEFAULT, ...)).  When it is there the extension neither
 * configures its own sampler nor wraps anything, and reports the
 * preload's counters.
 */
#define PYSCOPE_PRELOAD_API_SYMBOL "pyscope_alloc_preload_api"
#define PYSCOPE_PRELOAD_API_VERSION 1

struct pyscope_pymem_api;     /* pymem_hooks.h */

struct pyscope_preload_api {
    uint32_t version;           /* PYSCOPE_PRELOAD_API_VERSION */
    uint32_t size;              /* sizeof(struct pyscope_preload_api) */
    void (*stats)(struct pyscope_sampler_stats *out);
    /* Called by the extension at import, with the GIL: put the preload's
       hooks into every Python domain whose allocator chain lacks them
       (a PYTHONMALLOC or -X dev start-up replaces the allocators the
       preload wrapped in its constructor).  Returns how many domains it
       wrapped now (0: its start-up wrap is intact, or sampling is off),
       or -1 if the library is loaded but not preloaded: its malloc is
       not the process's, so the extension must sample on its own. */
    int (*wrap_python)(const struct pyscope_pymem_api *api);
};

#endif /* PYSCOPE_SAMPLER_H */
