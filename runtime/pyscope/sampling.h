/*
 * sampling.h - the extension's side of the allocation sampler (sampler.h):
 * started when pyscope is imported, counters for pyscope.sampler_stats().
 */
#ifndef PYSCOPE_SAMPLING_H
#define PYSCOPE_SAMPLING_H

#include <Python.h>

/* Called by PyInit__pyscope (once; the GIL is held).  Uses the preloaded
   libpyscope-alloc.so's sampler if there is one, else starts the
   extension's own, as PYSCOPE_ALLOC_SAMPLE says.  Never fails: without a
   sampler the program runs as it would without pyscope. */
void pyscope_sampling_init(void);

/* sampler_stats(): a dict (see pyscope/__init__.py). */
PyObject *pyscope_sampling_stats(PyObject *module, PyObject *ignored);

#endif /* PYSCOPE_SAMPLING_H */
