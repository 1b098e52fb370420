/*
 * sampling.c - the extension's side of the allocation sampler: start it at
 * import, and sampler_stats().
 *
 * One sampler per process.  If libpyscope-alloc.so is preloaded, it has
 * sampled since before main() (libc and, if it found them, the Python
 * domains); the extension then only makes sure the Python domains are
 * still hooked (a PYTHONMALLOC or -X dev start-up replaces them) and
 * reports the preload's counters.  Otherwise the extension configures its
 * own copy of the sampler and hooks the Python domains itself.
 */
#include <Python.h>
#include <dlfcn.h>
#include <stdlib.h>

#include "pymem_hooks.h"
#include "sampler.h"
#include "sampling.h"

static const struct pyscope_preload_api *preload;

/* Python domains the preload had to hook again at import. */
static int rehooked;

static const struct pyscope_preload_api *
find_preload(void)
{
    const struct pyscope_preload_api *api =
        dlsym(RTLD_DEFAULT, PYSCOPE_PRELOAD_API_SYMBOL);

    if (api == NULL || api->version != PYSCOPE_PRELOAD_API_VERSION
        || api->size < sizeof *api)
    {
        return NULL;
    }
    return api;
}

void
pyscope_sampling_init(void)
{
    static const struct pyscope_pymem_api pymem = {
        PyMem_GetAllocator, PyMem_SetAllocator,
    };
    static int done;

    if (done) {
        return;
    }
    done = 1;
    preload = find_preload();
    if (preload != NULL) {
        int n = preload->wrap_python(&pymem);
        if (n >= 0) {
            rehooked = n;
            return;
        }
        preload = NULL;     /* loaded, but not preloaded: not sampling */
    }
    uint64_t mean = pyscope_sampler_mean_from_env(
        getenv(PYSCOPE_ALLOC_SAMPLE_ENV));
    pyscope_sampler_configure(mean);
    if (mean != 0) {
        pyscope_pymem_hook(&pymem, 1);
    }
}

PyObject *
pyscope_sampling_stats(PyObject *Py_UNUSED(module),
                       PyObject *Py_UNUSED(ignored))
{
    struct pyscope_sampler_stats s;

    if (preload != NULL) {
        preload->stats(&s);
    }
    else {
        pyscope_sampler_stats(&s);
    }
    const uint64_t *d = s.sampled_by_domain;
    return Py_BuildValue(
        "{s:O,s:K,s:s,s:K,s:K,s:K,s:K,s:K,s:K,s:i,"
        "s:{s:K,s:K,s:K,s:K}}",
        "enabled", s.mean != 0 ? Py_True : Py_False,
        "mean", (unsigned long long)s.mean,
        "source", preload != NULL ? "preload" : "extension",
        "sampled", (unsigned long long)s.sampled,
        "freed", (unsigned long long)s.freed,
        "dropped", (unsigned long long)s.dropped,
        "replaced", (unsigned long long)s.replaced,
        "live_samples", (unsigned long long)s.live_samples,
        "live_estimate_bytes", (unsigned long long)s.live_estimate_bytes,
        "rehooked", rehooked,
        "sampled_by_domain",
        "raw", (unsigned long long)d[PYSCOPE_DOMAIN_RAW],
        "mem", (unsigned long long)d[PYSCOPE_DOMAIN_MEM],
        "obj", (unsigned long long)d[PYSCOPE_DOMAIN_OBJ],
        "libc", (unsigned long long)d[PYSCOPE_DOMAIN_LIBC]);
}
