/*
 * preload.c - libpyscope-alloc.so: the allocation sampler for any process,
 * by LD_PRELOAD.
 *
 *   LD_PRELOAD=build/libpyscope-alloc.so [PYSCOPE_ALLOC_SAMPLE=BYTES]
 *       [PYSCOPE_PRELOAD_PRIVATE=1] CMD
 *
 * Interposes the C library's malloc family (domain 3, "libc") and hands
 * every call to the next definition (dlsym(RTLD_NEXT)), counting it with
 * the sampler of runtime/sampler/sampler.h.  In a Python interpreter the
 * constructor also hooks the three Python domains (pymem_hooks.c): only
 * the outermost wrapper counts (the per-thread depth in sampler.h), so a
 * PyObject_Malloc() that ends in malloc() is one event, of domain 2.
 *
 * CPython 3.11 (Debian's python3.11) keeps hooks installed this early:
 * its allocators are static data, and the start-up steps that swap the
 * raw allocator for the default one (_PyRuntimeState_Init,
 * _PyPreConfig_Read, path configuration) put back what they found.  Only
 * _PyPreConfig_Write replaces all three domains, and only when
 * PYTHONMALLOC is set or in development mode (-X dev, PYTHONDEVMODE);
 * then Python's blocks are seen at the libc level only (the small ones
 * not at all) until `import pyscope`, which hooks the domains again.
 * There is no earlier safe point: Python calls nothing through the PLT
 * between that write and its first PyMem_Malloc that a preload could
 * take as a signal, and re-hooking from inside an allocation would race
 * with other threads.
 *
 * The extension (pyscope._pyscope) finds this library's sampler through
 * the exported pyscope_alloc_preload_api and uses it instead of its own:
 * one sampler, one set of counters, no allocation counted twice.
 */
#include "pymem_hooks.h"     /* Python.h first: it sets feature macros */

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sampler.h"

#define EXPORT __attribute__((visibility("default")))

/* The definitions after ours: normally the C library's. */
static struct {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
} next;
static int resolved;        /* every pointer in `next` is set */
static int resolving;

/* Loaded, but not by LD_PRELOAD (our malloc is not the process's): no
   sampling, and the extension samples on its own. */
static int passive;
static uint64_t mean;

/* dlsym() may allocate (its error buffer) before it has told us where
   malloc is.  Those few blocks come from here, are never freed, and are
   recognized by their address.  Each has its size in the 16 bytes before
   it, for realloc. */
#define BOOT_SIZE (64 * 1024)
static unsigned char boot[BOOT_SIZE] __attribute__((aligned(4096)));
static size_t boot_used;

static int
is_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot < BOOT_SIZE;
}

static void *
boot_alloc(size_t n, size_t align)
{
    size_t used = __atomic_load_n(&boot_used, __ATOMIC_RELAXED);
    size_t start, end;

    if (align < 16) {
        align = 16;
    }
    do {
        start = (used + 16 + align - 1) & ~(align - 1);
        if (n > BOOT_SIZE || start + n > BOOT_SIZE) {
            errno = ENOMEM;
            return NULL;
        }
        end = (start + n + 15) & ~(size_t)15;
    } while (!__atomic_compare_exchange_n(&boot_used, &used, end, 0,
                                          __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    memcpy(boot + start - 16, &n, sizeof n);
    return boot + start;    /* zero: the buffer is never reused */
}

static size_t
boot_size(const void *p)
{
    size_t n;

    memcpy(&n, (const unsigned char *)p - 16, sizeof n);
    return n;
}

static void *
must_find(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (f == NULL) {
        static const char msg[] = "libpyscope-alloc: no malloc to wrap\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        abort();
    }
    return f;
}

/* Find the next definitions.  0 while that is under way (an allocation
   made by dlsym itself, or by another thread meanwhile): the caller then
   uses the boot buffer. */
static int
resolve(void)
{
    if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQ_REL)) {
        return __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);
    }
    next.malloc = must_find("malloc");
    next.calloc = must_find("calloc");
    next.realloc = must_find("realloc");
    next.free = must_find("free");
    next.posix_memalign = must_find("posix_memalign");
    next.aligned_alloc = must_find("aligned_alloc");
    next.memalign = must_find("memalign");
    next.valloc = must_find("valloc");
    next.pvalloc = must_find("pvalloc");
    __atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
    return 1;
}

static inline int
ready(void)
{
    return __builtin_expect(__atomic_load_n(&resolved, __ATOMIC_ACQUIRE), 1)
           || resolve();
}

EXPORT void *
malloc(size_t n)
{
    if (!ready()) {
        return boot_alloc(n, 16);
    }
    struct pyscope_thread *t = pyscope_thread();
    if (t->depth != 0) {
        return next.malloc(n);
    }
    t->depth = 1;
    void *p = next.malloc(n);
    t->depth = 0;
    pyscope_allocated(t, p, n, PYSCOPE_DOMAIN_LIBC);
    return p;
}

EXPORT void *
calloc(size_t nelem, size_t elsize)
{
    size_t n = pyscope_calloc_size(nelem, elsize);

    if (!ready()) {
        return boot_alloc(n, 16);
    }
    struct pyscope_thread *t = pyscope_thread();
    if (t->depth != 0) {
        return next.calloc(nelem, elsize);
    }
    t->depth = 1;
    void *p = next.calloc(nelem, elsize);
    t->depth = 0;
    pyscope_allocated(t, p, n, PYSCOPE_DOMAIN_LIBC);
    return p;
}

EXPORT void
free(void *p)
{
    if (is_boot(p) || !ready()) {
        return;     /* a boot block (or NULL before anything else ran) */
    }
    pyscope_freeing(p);
    next.free(p);
}

EXPORT void *
realloc(void *p, size_t n)
{
    if (is_boot(p)) {
        /* A boot block moves to the heap, and stays where it was. */
        void *q = malloc(n);
        if (q != NULL) {
            size_t old = boot_size(p);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    if (!ready()) {
        return boot_alloc(n, 16);   /* p is NULL: nothing was given out */
    }
    struct pyscope_thread *t = pyscope_thread();
    struct pyscope_taken taken;
    int was_sampled = pyscope_reallocating(p, &taken);
    if (t->depth != 0) {
        /* Nested: p is gone if it was sampled, and q not ours to count. */
        void *q = next.realloc(p, n);
        if (q == NULL && was_sampled && n != 0) {
            pyscope_untake(&taken);
        }
        return q;
    }
    t->depth = 1;
    void *q = next.realloc(p, n);
    t->depth = 0;
    pyscope_reallocated(t, was_sampled, &taken, q, n, PYSCOPE_DOMAIN_LIBC);
    return q;
}

EXPORT void *
reallocarray(void *p, size_t nelem, size_t elsize)
{
    size_t n = pyscope_calloc_size(nelem, elsize);

    if (n == SIZE_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}

/* The aligned ones.  None is needed by dlsym, but each gets the boot
   buffer all the same, so that none depends on what dlsym does. */

EXPORT int
posix_memalign(void **out, size_t align, size_t n)
{
    if (!ready()) {
        if (align == 0 || (align & (align - 1)) != 0
            || align % sizeof(void *) != 0)
        {
            return EINVAL;
        }
        *out = boot_alloc(n, align);
        return *out != NULL ? 0 : ENOMEM;
    }
    struct pyscope_thread *t = pyscope_thread();
    if (t->depth != 0) {
        return next.posix_memalign(out, align, n);
    }
    t->depth = 1;
    int err = next.posix_memalign(out, align, n);
    t->depth = 0;
    if (err == 0) {
        pyscope_allocated(t, *out, n, PYSCOPE_DOMAIN_LIBC);
    }
    return err;
}

/* aligned_alloc, memalign, valloc and pvalloc: one shape. */
#define ALIGNED(CALL, ALIGN, N)                                             \
    do {                                                                    \
        if (!ready()) {                                                     \
            return boot_alloc((N), (ALIGN));                                \
        }                                                                   \
        struct pyscope_thread *t = pyscope_thread();                        \
        if (t->depth != 0) {                                                \
            return (CALL);                                                  \
        }                                                                   \
        t->depth = 1;                                                       \
        void *p = (CALL);                                                   \
        t->depth = 0;                                                       \
        pyscope_allocated(t, p, (N), PYSCOPE_DOMAIN_LIBC);                  \
        return p;                                                           \
    } while (0)

EXPORT void *
aligned_alloc(size_t align, size_t n)
{
    ALIGNED(next.aligned_alloc(align, n), align, n);
}

EXPORT void *
memalign(size_t align, size_t n)
{
    ALIGNED(next.memalign(align, n), align, n);
}

EXPORT void *
valloc(size_t n)
{
    ALIGNED(next.valloc(n), 4096, n);
}

EXPORT void *
pvalloc(size_t n)
{
    ALIGNED(next.pvalloc(n), 4096, n);
}

/* ------------------------------------------------------------ Python */

/* Hook the Python domains (when called by the extension: again, where
   they lost the hooks).  See pyscope_preload_api in sampler.h. */
static int
wrap_python(const struct pyscope_pymem_api *api)
{
    if (passive) {
        return -1;
    }
    return mean != 0 ? pyscope_pymem_hook(api, 1) : 0;
}

EXPORT const struct pyscope_preload_api pyscope_alloc_preload_api = {
    .version = PYSCOPE_PRELOAD_API_VERSION,
    .size = sizeof(struct pyscope_preload_api),
    .stats = pyscope_sampler_stats,
    .wrap_python = wrap_python,
};

/* Is our malloc the one the process calls?  Not if this library was
   dlopen()ed, or preloaded after another malloc.  Asked by calling the
   process's malloc and seeing whether our wrapper counted the call (the
   address dlsym gives cannot be compared with ours: in a non-PIE
   executable such as Debian's python3.11 it is the executable's PLT
   entry). */
static int
malloc_is_ours(void)
{
    void *(*process_malloc)(size_t) =
        (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
    void (*process_free)(void *) =
        (void (*)(void *))dlsym(RTLD_DEFAULT, "free");

    if (process_malloc == NULL || process_free == NULL) {
        return 0;
    }
    struct pyscope_thread *t = pyscope_thread();
    size_t saved = pyscope_probe_begin(t);
    void *p = process_malloc(1);
    unsigned int seen = pyscope_probe_end(t, saved);
    process_free(p);
    return (seen >> PYSCOPE_DOMAIN_LIBC) & 1;
}

/* Is the LD_PRELOAD entry from s, n bytes long, this library? */
static int
is_us(const char *s, size_t n)
{
    static const char name[] = "libpyscope-alloc.so";
    size_t len = sizeof(name) - 1;

    return n >= len && memcmp(s + n - len, name, len) == 0
           && (n == len || s[n - len - 1] == '/');
}

/* PYSCOPE_PRELOAD_PRIVATE=1 (leak-watch -c sets it): the preload is for
   the first Python interpreter it is loaded in; a program before it that
   is not Python (env, a shell) passes it on.  In the interpreter, before
   main(), this library's LD_PRELOAD entries are cut out of the value in
   place and its variables unset (neither allocates), so the program sees
   the environment it was given and what it starts runs unhooked.  (A
   child Python that inherited the preload has pymalloc replaced: its
   sys._debugmallocstats() prints no pymalloc statistics, as under
   tracemalloc; CPython's test_sys checks that.) */
static void
forget_preload_env(void)
{
    const char *private = getenv(PYSCOPE_PRELOAD_PRIVATE_ENV);

    if (private == NULL || strcmp(private, "1") != 0) {
        return;
    }
    unsetenv(PYSCOPE_PRELOAD_PRIVATE_ENV);
    unsetenv(PYSCOPE_ALLOC_SAMPLE_ENV);
    char *v = getenv("LD_PRELOAD");
    if (v == NULL) {
        return;
    }
    /* entries are separated by spaces or colons */
    char *out = v;
    const char *in = v;
    while (*in != '\0') {
        size_t sep = strspn(in, " :");
        size_t n = strcspn(in + sep, " :");
        if (n > 0 && !is_us(in + sep, n)) {
            if (out != v) {
                *out++ = ' ';
            }
            memmove(out, in + sep, n);
            out += n;
        }
        in += sep + n;
    }
    *out = '\0';
    if (out == v) {
        unsetenv("LD_PRELOAD");
    }
}

__attribute__((constructor)) static void
preload_init(void)
{
    if (!ready() || !malloc_is_ours()) {
        passive = 1;
        pyscope_sampler_configure(0);
    }
    else {
        mean = pyscope_sampler_mean_from_env(getenv(PYSCOPE_ALLOC_SAMPLE_ENV));
        pyscope_sampler_configure(mean);
    }
    /* A Python interpreter (or a program that embeds libpython and was
       linked against it)? */
    struct pyscope_pymem_api api = {
        (void (*)(PyMemAllocatorDomain, PyMemAllocatorEx *))
            dlsym(RTLD_DEFAULT, "PyMem_GetAllocator"),
        (void (*)(PyMemAllocatorDomain, PyMemAllocatorEx *))
            dlsym(RTLD_DEFAULT, "PyMem_SetAllocator"),
    };
    if (api.get_allocator == NULL || api.set_allocator == NULL) {
        return;
    }
    /* Hook its domains before main() runs.  Python has not started, so
       nothing may be allocated through them to test the chain; the
       domains hold Python's defaults. */
    if (!passive && mean != 0) {
        pyscope_pymem_hook(&api, 0);
    }
    /* the interpreter is the process the preload was meant for (a
       wrapper before it, env, a shell, pyenv's shim, passes it on) */
    forget_preload_env();
}
