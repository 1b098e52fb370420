/*
 * pymem_hooks.c - the sampler's hooks on CPython's allocator domains (see
 * pymem_hooks.h).
 *
 * The hooks ignore their ctx argument and call the previous allocator
 * they saved; the ctx they are installed with is the previous one's.
 * Why: PyMem_SetAllocator() copies a struct without any lock, and the raw
 * domain is called without the GIL, so a thread may read the new malloc
 * pointer with the old ctx (or the reverse).  With the same ctx in both,
 * either mix is a valid call.
 *
 * Hooks come in two generations of separate functions with separate saved
 * allocators.  The preload hooks in its constructor (generation 0); at
 * import the extension asks it to hook again any domain whose chain lost
 * the hooks (generation 1).  Should generation 0 still be buried in that
 * chain after all (under some other hook that did not pass the test
 * allocation down), the two still cannot call each other in a loop, and
 * only the outer one counts the allocation (the depth in sampler.h).
 */
#include <Python.h>

#include "pymem_hooks.h"

#define GENERATIONS 2
#define NDOMAINS 3      /* the Python ones */

/* What each hook calls: the domain's allocator before it was hooked. */
static PyMemAllocatorEx prev[GENERATIONS][NDOMAINS];

/* The fast path (PyMem_Malloc and PyObject_Malloc, GIL domains): requests
   of at most direct_max[g][d] bytes that will not be sampled are counted
   and passed on by a tail call, without the depth bookkeeping that stops
   allocators called inside this one from counting the same block again.
   That is safe when small requests through the previous allocator reach
   none of our wrappers: pymalloc serves them from its pools (what it may
   take from the raw domain for itself, arena bookkeeping, are other
   blocks, rightly counted as such; only an allocation pymalloc fails and
   hands to the raw domain is counted twice).  Whether it is so is found
   out once, by trying, at the hook's first call (the preload hooks before
   Python can be called).  It takes 16 instructions per allocation
   instead of 22 and no stack frame, on code that may allocate every few
   hundred instructions (examples/alloc_churn.py: runtime hooks 1.11x ->
   1.09x by instruction count, make bench-leak). */
#define DIRECT_SIZES {1, 8, 64, 256, 512}
static size_t direct_max[GENERATIONS][NDOMAINS];
static int probed[GENERATIONS][NDOMAINS];

/* Does one malloc and one calloc of n bytes through `a` reach none of our
   wrappers?  -1: an allocation failed. */
static int
passes_by(const PyMemAllocatorEx *a, size_t n)
{
    struct pyscope_thread *t = pyscope_thread();
    size_t saved = pyscope_probe_begin(t);
    void *p = a->malloc(a->ctx, n);
    void *q = a->calloc(a->ctx, 1, n);
    unsigned int seen = pyscope_probe_end(t, saved);

    if (p != NULL) {
        a->free(a->ctx, p);
    }
    if (q != NULL) {
        a->free(a->ctx, q);
    }
    if (p == NULL || q == NULL) {
        return -1;
    }
    return seen == 0;
}

/* Do requests of each of DIRECT_SIZES bytes through `a` reach none of our
   wrappers?  Then the largest of them, else 0.  A few tries each: the
   request that finds pymalloc without a free pool makes it grow its arena
   table (a raw-domain allocation of its own, seen by a wrapper); one that
   is passed on to another allocator reaches a wrapper every time. */
static size_t
find_direct_max(const PyMemAllocatorEx *a)
{
    static const size_t sizes[] = DIRECT_SIZES;

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int ok = 0;
        for (int try = 0; try < 4 && !ok; try++) {
            int r = passes_by(a, sizes[i]);
            if (r < 0) {
                return 0;
            }
            ok = r;
        }
        if (!ok) {
            return 0;
        }
    }
    return sizes[sizeof sizes / sizeof sizes[0] - 1];
}

/* The slow path: nested calls, samples, large requests, the first call
   (out of line, so that the fast path needs no stack frame). */
static __attribute__((noinline)) void *
hook_malloc_slow(const PyMemAllocatorEx *a, int g, int domain, size_t n)
{
    struct pyscope_thread *t = pyscope_thread();

    if (t->depth != 0) {
        return a->malloc(a->ctx, n);
    }
    if (domain != PYMEM_DOMAIN_RAW && !t->probing
        && !__atomic_load_n(&probed[g][domain], __ATOMIC_RELAXED))
    {
        __atomic_store_n(&probed[g][domain], 1, __ATOMIC_RELAXED);
        __atomic_store_n(&direct_max[g][domain], find_direct_max(a),
                         __ATOMIC_RELAXED);
    }
    t->depth = 1;
    void *p = a->malloc(a->ctx, n);
    t->depth = 0;
    pyscope_allocated(t, p, n, domain);
    return p;
}

static inline void *
hook_malloc(const PyMemAllocatorEx *a, int g, int domain, size_t n)
{
    struct pyscope_thread *t = pyscope_thread();

    if (n <= __atomic_load_n(&direct_max[g][domain], __ATOMIC_RELAXED)
        && n < t->remaining && t->depth == 0)
    {
        t->remaining -= n;
        return a->malloc(a->ctx, n);
    }
    return hook_malloc_slow(a, g, domain, n);
}

static __attribute__((noinline)) void *
hook_calloc_slow(const PyMemAllocatorEx *a, int domain, size_t nelem,
                 size_t elsize)
{
    struct pyscope_thread *t = pyscope_thread();

    if (t->depth != 0) {
        return a->calloc(a->ctx, nelem, elsize);
    }
    t->depth = 1;
    void *p = a->calloc(a->ctx, nelem, elsize);
    t->depth = 0;
    pyscope_allocated(t, p, pyscope_calloc_size(nelem, elsize), domain);
    return p;
}

static inline void *
hook_calloc(const PyMemAllocatorEx *a, int g, int domain, size_t nelem,
            size_t elsize)
{
    struct pyscope_thread *t = pyscope_thread();
    size_t n = pyscope_calloc_size(nelem, elsize);

    if (n <= __atomic_load_n(&direct_max[g][domain], __ATOMIC_RELAXED)
        && n < t->remaining && t->depth == 0)
    {
        t->remaining -= n;
        return a->calloc(a->ctx, nelem, elsize);
    }
    return hook_calloc_slow(a, domain, nelem, elsize);
}

static inline void *
hook_realloc(const PyMemAllocatorEx *a, int domain, void *p, size_t n)
{
    struct pyscope_thread *t = pyscope_thread();
    struct pyscope_taken taken;
    int was_sampled = pyscope_reallocating(p, &taken);

    if (t->depth != 0) {
        /* Nested: p is gone if it was sampled, and q not ours to count. */
        void *q = a->realloc(a->ctx, p, n);
        if (q == NULL && was_sampled && n != 0) {
            pyscope_untake(&taken);
        }
        return q;
    }
    t->depth = 1;
    void *q = a->realloc(a->ctx, p, n);
    t->depth = 0;
    pyscope_reallocated(t, was_sampled, &taken, q, n, domain);
    return q;
}

static inline void
hook_free(const PyMemAllocatorEx *a, void *p)
{
    pyscope_freeing(p);
    a->free(a->ctx, p);
}

/* One set of four functions per generation and domain. */
#define HOOKS(G, D)                                                         \
    static void *                                                           \
    malloc_##G##_##D(void *ctx, size_t n)                                   \
    {                                                                       \
        (void)ctx;                                                          \
        return hook_malloc(&prev[G][D], G, D, n);                              \
    }                                                                       \
    static void *                                                           \
    calloc_##G##_##D(void *ctx, size_t nelem, size_t elsize)                \
    {                                                                       \
        (void)ctx;                                                          \
        return hook_calloc(&prev[G][D], G, D, nelem, elsize);                  \
    }                                                                       \
    static void *                                                           \
    realloc_##G##_##D(void *ctx, void *p, size_t n)                         \
    {                                                                       \
        (void)ctx;                                                          \
        return hook_realloc(&prev[G][D], D, p, n);                          \
    }                                                                       \
    static void                                                             \
    free_##G##_##D(void *ctx, void *p)                                      \
    {                                                                       \
        (void)ctx;                                                          \
        hook_free(&prev[G][D], p);                                          \
    }

HOOKS(0, 0)
HOOKS(0, 1)
HOOKS(0, 2)
HOOKS(1, 0)
HOOKS(1, 1)
HOOKS(1, 2)

#define ENTRY(G, D) \
    {NULL, malloc_##G##_##D, calloc_##G##_##D, realloc_##G##_##D, \
     free_##G##_##D}

static const PyMemAllocatorEx hooks[GENERATIONS][NDOMAINS] = {
    {ENTRY(0, 0), ENTRY(0, 1), ENTRY(0, 2)},
    {ENTRY(1, 0), ENTRY(1, 1), ENTRY(1, 2)},
};

/* Generations used so far, per domain. */
static int used[NDOMAINS];

static int
is_ours(const PyMemAllocatorEx *a, int domain)
{
    for (int g = 0; g < GENERATIONS; g++) {
        if (a->malloc == hooks[g][domain].malloc) {
            return 1;
        }
    }
    return 0;
}

/* Does an allocation through `a` reach one of our hooks for `domain` at
   the outermost level?  1 yes, 0 no, -1 cannot tell (it failed). */
static int
chain_runs_hook(const PyMemAllocatorEx *a, int domain)
{
    struct pyscope_thread *t = pyscope_thread();
    size_t saved = pyscope_probe_begin(t);
    void *p = a->malloc(a->ctx, 1);
    unsigned int seen = pyscope_probe_end(t, saved);

    if (p == NULL) {
        return -1;
    }
    a->free(a->ctx, p);
    return (seen >> domain) & 1;
}

int
pyscope_pymem_hook(const struct pyscope_pymem_api *api, int check_chain)
{
    int hooked = 0;

    for (int d = 0; d < NDOMAINS; d++) {
        PyMemAllocatorEx cur;

        api->get_allocator((PyMemAllocatorDomain)d, &cur);
        if (used[d] == GENERATIONS || is_ours(&cur, d)) {
            continue;
        }
        if (check_chain && chain_runs_hook(&cur, d) != 0) {
            continue;
        }
        int g = used[d]++;
        prev[g][d] = cur;
        PyMemAllocatorEx mine = hooks[g][d];
        mine.ctx = cur.ctx;
        /* prev[g][d] is complete before any thread can call the hook. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        api->set_allocator((PyMemAllocatorDomain)d, &mine);
        hooked++;
    }
    return hooked;
}
