/*
 * pymem_hooks.h - the sampler's hooks on CPython's three allocator domains
 * (PYMEM_DOMAIN_RAW, _MEM and _OBJ), installed with PyMem_SetAllocator()
 * on top of whatever each domain had: every call goes on to the previous
 * allocator, so blocks allocated before the hooks went in are freed by the
 * allocator that made them, and nothing changes for the program.
 *
 * Compiled into the extension and into the preload library.  The preload
 * does not link against libpython, hence PyMem_GetAllocator and
 * PyMem_SetAllocator are passed in (the preload finds them with dlsym).
 *
 * This API is the same in every CPython the extension supports: PEP 445
 * added it in 3.4 (as PyMemAllocator, without calloc); since 3.5 it is
 * PyMemAllocatorEx {ctx, malloc, calloc, realloc, free}, domains RAW 0,
 * MEM 1, OBJ 2, and the two functions' prototypes, unchanged through 3.13
 * (checked against the cpython/pymem.h of 3.8.18 to 3.13.0).  So one
 * preload, built against any of those headers, hooks any of them.
 */
#ifndef PYSCOPE_PYMEM_HOOKS_H
#define PYSCOPE_PYMEM_HOOKS_H

#include <Python.h>

#include "sampler.h"

struct pyscope_pymem_api {
    void (*get_allocator)(PyMemAllocatorDomain, PyMemAllocatorEx *);
    void (*set_allocator)(PyMemAllocatorDomain, PyMemAllocatorEx *);
};

/* Hook every Python domain whose allocator chain does not run this copy's
   hooks already, and return how many were hooked now.
   check_chain != 0: find out by one allocation and free of 1 byte through
   each domain (the GIL must be held: this calls PyMem_Malloc and
   PyObject_Malloc).  check_chain == 0: only look at whether the domain's
   allocator is ours, for a process where Python has not started (the
   preload's constructor, before main()). */
PYSCOPE_HIDDEN int pyscope_pymem_hook(const struct pyscope_pymem_api *api,
                                      int check_chain);

#endif /* PYSCOPE_PYMEM_HOOKS_H */
