/*
 * sampler.c - the byte sampler's slow paths, configuration, counters and
 * USDT probes (see sampler.h).
 *
 * Everything here runs inside malloc's (or PyMem's) wrappers: no
 * allocation, errno as the allocator left it, and the only lock is the
 * live set's, never held across a call into an allocator (so fork(),
 * which takes malloc's own locks after ours, cannot deadlock on it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>
#include <unistd.h>

#include "sampler.h"

__thread struct pyscope_thread pyscope_tls;

/* Written once by pyscope_sampler_configure(), before `configured`. */
static uint64_t mean_bytes;
static int configured;

/* Mixed into each thread's seed; changed in a fork child, so that parent
   and child do not sample the same allocations. */
static uint64_t process_seed;
static uint64_t threads_seeded;

/* PYSCOPE_ALLOC_SEED=N (decimal): the draws depend on N alone, so a run
   samples the same allocations each time it does the same work, and a
   statistical test that fails can be run again as it was. */
#define PYSCOPE_ALLOC_SEED_ENV "PYSCOPE_ALLOC_SEED"
static int seed_fixed;

/* Updated with relaxed atomic operations; `mean` is unused here. */
static struct pyscope_sampler_stats counters;

#define ADD(field, n) __atomic_fetch_add(&counters.field, (n), __ATOMIC_RELAXED)
#define SUB(field, n) __atomic_fetch_sub(&counters.field, (n), __ATOMIC_RELAXED)

uint64_t
pyscope_sampler_mean_from_env(const char *value)
{
    uint64_t mean = 0;

    if (value == NULL || *value == '\0') {
        return PYSCOPE_DEFAULT_MEAN;
    }
    /* By hand: strtoull() accepts signs and spaces we would rather refuse,
       and this runs in a preload constructor where less is better. */
    for (const char *c = value; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return PYSCOPE_DEFAULT_MEAN;
        }
        if (mean <= PYSCOPE_MAX_MEAN) {
            mean = mean * 10 + (uint64_t)(*c - '0');
        }
    }
    return mean > PYSCOPE_MAX_MEAN ? PYSCOPE_MAX_MEAN : mean;
}

/* splitmix64's output function: turns related seeds into unrelated ones. */
static uint64_t
mix(uint64_t z)
{
    z += UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The seed PYSCOPE_ALLOC_SEED gives, if it is a decimal number. */
static int
seed_from_env(uint64_t *seed)
{
    const char *value = getenv(PYSCOPE_ALLOC_SEED_ENV);
    uint64_t n = 0;

    if (value == NULL || *value == '\0') {
        return 0;
    }
    for (const char *c = value; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') {
            return 0;
        }
        n = n * 10 + (uint64_t)(*c - '0');     /* wraps: still a seed */
    }
    *seed = n;
    return 1;
}

static void
seed_process(void)
{
    struct timespec ts;
    uint64_t fixed;

    if (seed_fixed) {
        /* a fork child: the next seed of the sequence, not the parent's */
        process_seed = mix(process_seed);
        return;
    }
    if (seed_from_env(&fixed)) {
        seed_fixed = 1;
        process_seed = mix(fixed);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    process_seed = mix(process_seed ^ ((uint64_t)getpid() << 32)
                       ^ (uint64_t)ts.tv_sec * 1000000000u
                       ^ (uint64_t)ts.tv_nsec);
}

static void
seed_thread(struct pyscope_thread *t)
{
    uint64_t n = __atomic_fetch_add(&threads_seeded, 1, __ATOMIC_RELAXED);
    /* (the thread's address varies from run to run: not with a fixed seed) */
    uint64_t s = mix(process_seed ^ mix(n)
                     ^ (seed_fixed ? 0 : (uint64_t)(uintptr_t)t));

    t->rng = s != 0 ? s : 1;    /* xorshift's one bad state */
}

/* xorshift64*: a few cycles, good enough to draw sample intervals. */
static uint64_t
next_random(struct pyscope_thread *t)
{
    uint64_t x = t->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* Bytes until the next sample: ceil of an exponential draw of mean
   `mean`, so that an allocation of s bytes (s >= remaining) is sampled
   with probability exactly 1 - exp(-s/mean).  At least 1, so malloc(0)
   is never sampled. */
static size_t
draw(struct pyscope_thread *t, uint64_t mean)
{
    double u = (double)((next_random(t) >> 11) + 1) * 0x1.0p-53; /* (0,1] */
    double d = ceil(-log(u) * (double)mean);

    return d < 1.0 ? 1 : (size_t)d;     /* at most 37 * 2**40 */
}

uint64_t
pyscope_weight(uint64_t n, uint64_t mean)
{
    if (mean == 0 || n == 0) {
        return n;
    }
    double x = (double)n / (double)mean;
    if (x > 40.0) {
        return n;       /* sampled for sure: 1 - exp(-40) is 1 */
    }
    /* expm1: 1 - exp(-x) without cancellation when s is much below M. */
    double w = round((double)n / -expm1(-x));
    uint64_t weight = w >= 0x1.0p64 ? UINT64_MAX : (uint64_t)w;
    return weight < n ? n : weight;
}

static void
fork_prepare(void)
{
    pyscope_liveset_lock();
}

static void
fork_parent(void)
{
    pyscope_liveset_unlock();
}

static void
fork_child(void)
{
    struct pyscope_thread *t = pyscope_thread();

    pyscope_liveset_unlock();
    seed_process();
    /* The forking thread is the child's only one: draw again. */
    t->rng = 0;
    t->remaining = 0;
}

void
pyscope_sampler_configure(uint64_t mean)
{
    if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) {
        return;
    }
    if (mean > PYSCOPE_MAX_MEAN) {
        mean = PYSCOPE_MAX_MEAN;
    }
    seed_process();
    mean_bytes = mean;
    if (mean != 0) {
        (void)pthread_atfork(fork_prepare, fork_parent, fork_child);
    }
    __atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
}

void
pyscope_sampler_stats(struct pyscope_sampler_stats *out)
{
    out->mean = __atomic_load_n(&configured, __ATOMIC_ACQUIRE)
                ? mean_bytes : 0;
#define LOAD(field) \
    out->field = __atomic_load_n(&counters.field, __ATOMIC_RELAXED)
    LOAD(sampled);
    LOAD(freed);
    LOAD(dropped);
    LOAD(replaced);
    LOAD(live_samples);
    LOAD(live_estimate_bytes);
    for (int d = 0; d < PYSCOPE_NDOMAINS; d++) {
        LOAD(sampled_by_domain[d]);
    }
#undef LOAD
}

/* Put a sampled block into the live set and announce it.  Inlined, so
   that the probe fires one frame nearer the allocation: SystemTap unwinds
   every frame of a sample's stack, and this one is the same in all. */
static inline __attribute__((always_inline)) void
record(void *p, size_t n, int domain, uint64_t mean)
{
    struct pyscope_block b = {(uintptr_t)p, n, domain};
    struct pyscope_block old;
    uint64_t w = pyscope_weight(n, mean);

    switch (pyscope_liveset_insert(&b, &old)) {
    case 0:
        ADD(dropped, 1);
        STAP_PROBE4(pyscope, sample_dropped, p, n, w, domain);
        return;
    case 2: {
        /* p was live already: its free went where no wrapper saw it (a
           free during a Python start-up phase that swaps the allocators
           out).  That block is gone; say so first. */
        uint64_t old_w = pyscope_weight(old.size, mean);
        ADD(replaced, 1);
        SUB(live_samples, 1);
        SUB(live_estimate_bytes, old_w);
        STAP_PROBE4(pyscope, free, p, old.size, old_w, old.domain);
        break;
    }
    default:
        break;
    }
    ADD(sampled, 1);
    ADD(sampled_by_domain[domain], 1);
    ADD(live_samples, 1);
    ADD(live_estimate_bytes, w);
    STAP_PROBE5(pyscope, alloc, p, n, w, domain, mean);
}

void
pyscope_sample(struct pyscope_thread *t, void *p, size_t n, int domain)
{
    if (t->probing) {
        /* pymem_hooks.c asks which wrappers count allocations. */
        t->probe_seen |= 1u << domain;
        return;
    }
    int saved_errno = errno;
    uint64_t mean = mean_bytes;
    if (!__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) {
        /* Before the preload's constructor ran: nothing is sampled, and
           the count stays at 0 so that we come back here. */
        t->remaining = 0;
    }
    else if (mean == 0) {
        t->remaining = SIZE_MAX;    /* off: never here again */
    }
    else if (t->rng == 0) {
        /* This thread's first allocation: it gets its first count, which
           decides like any other whether this allocation is sampled. */
        seed_thread(t);
        t->remaining = draw(t, mean);
        if (n < t->remaining) {
            t->remaining -= n;
        }
        else {
            t->remaining = draw(t, mean);
            record(p, n, domain, mean);
        }
    }
    else {
        t->remaining = draw(t, mean);
        record(p, n, domain, mean);
    }
    errno = saved_errno;
}

int
pyscope_take(void *p, struct pyscope_taken *taken)
{
    struct pyscope_block b;

    if (!pyscope_liveset_remove((uintptr_t)p, &b)) {
        return 0;
    }
    int saved_errno = errno;
    uint64_t w = pyscope_weight(b.size, mean_bytes);
    ADD(freed, 1);
    SUB(live_samples, 1);
    SUB(live_estimate_bytes, w);
    STAP_PROBE4(pyscope, free, p, b.size, w, b.domain);
    taken->addr = b.addr;
    taken->size = b.size;
    taken->domain = b.domain;
    errno = saved_errno;
    return 1;
}

void
pyscope_sampled_free(void *p)
{
    struct pyscope_taken taken;

    (void)pyscope_take(p, &taken);
}

void
pyscope_untake(const struct pyscope_taken *taken)
{
    struct pyscope_block b = {taken->addr, taken->size, taken->domain};
    struct pyscope_block old;
    int saved_errno = errno;
    uint64_t w = pyscope_weight(b.size, mean_bytes);
    void *p = (void *)taken->addr;

    /* The realloc failed: p lives on, as the same sample. */
    if (pyscope_liveset_insert(&b, &old) == 0) {
        ADD(dropped, 1);
        STAP_PROBE4(pyscope, sample_dropped, p, b.size, w, b.domain);
    }
    else {
        SUB(freed, 1);
        ADD(live_samples, 1);
        ADD(live_estimate_bytes, w);
        STAP_PROBE5(pyscope, alloc, p, b.size, w, b.domain, mean_bytes);
    }
    errno = saved_errno;
}
